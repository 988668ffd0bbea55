"""The batch flow under Prefect's test harness: every file accounted for, outputs complete."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipelines.config import PipelineConfig
from tests.imaging import text_pdf


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "sub dir").mkdir(parents=True)
    text_pdf(str(src / "report.pdf"), pages=2)
    (src / "sub dir" / "notes.txt").write_text("NOTES\n\nFirst paragraph of notes.\n")
    (src / "empty.pdf").write_bytes(b"")
    (src / "garbage.bin").write_bytes(b"\x00\x01\x02" * 100)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    return src


def test_batch_flow_accounts_for_every_file(tmp_path: Path, prefect_harness: None) -> None:
    from pipelines.flows import run_batch

    src = _folder(tmp_path)
    out = tmp_path / "out"
    seen: list[str] = []
    summary = run_batch(
        src, out, PipelineConfig(), workers=2, progress=lambda r: seen.append(r.source)
    )
    sources = sorted(r.source for r in summary.results)
    assert sources == ["broken.pdf", "empty.pdf", "garbage.bin", "report.pdf", "sub dir/notes.txt"]
    assert sorted(seen) == sources

    with (out / "manifest.csv").open() as fh:
        rows = {r["source"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(sources)
    assert rows["report.pdf"]["status"] == "ok" and rows["report.pdf"]["pages"] == "2"
    assert rows["empty.pdf"]["status"] == "failed" and rows["empty.pdf"]["error_type"] == "EMPTY"
    assert rows["garbage.bin"]["error_type"] == "UNSUPPORTED"
    assert rows["broken.pdf"]["error_type"] == "CORRUPT"
    assert rows["sub dir/notes.txt"]["status"] == "ok"

    chunks = [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]
    assert {c["source"] for c in chunks} == {"report.pdf", "sub dir/notes.txt"}
    for key in (
        "chunk_id",
        "doc_id",
        "source",
        "text",
        "page_start",
        "page_end",
        "headings",
        "quality",
        "quality_reasons",
        "extractors",
    ):
        assert all(key in c for c in chunks), key
    frame = pd.read_parquet(out / "chunks.parquet")
    assert list(frame["chunk_id"]) == [c["chunk_id"] for c in chunks]
    pages = pd.read_parquet(out / "pages.parquet")
    assert {
        "doc_id",
        "source",
        "page",
        "method",
        "quality",
        "ocr_confidence",
        "word_validity",
        "text",
    } <= set(pages.columns)
    assert sorted(pages[pages.source == "report.pdf"]["page"]) == [1, 2]
    assert set(pages[pages.source == "report.pdf"]["method"]) == {"text_layer"}
    assert (out / "docs" / "report.pdf.md").is_file()
    assert (out / "docs" / "sub dir" / "notes.txt.txt").read_text().startswith("NOTES")
    # No temporary files are left behind.
    assert not list(out.rglob(".tmp-*"))


def test_rerun_is_byte_identical(tmp_path: Path, prefect_harness: None) -> None:
    from pipelines.flows import run_batch

    src = _folder(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    run_batch(src, a, PipelineConfig(), workers=2)
    run_batch(src, b, PipelineConfig(), workers=1)
    assert (a / "chunks.jsonl").read_bytes() == (b / "chunks.jsonl").read_bytes()
    assert (a / "chunks.parquet").read_bytes() == (b / "chunks.parquet").read_bytes()
