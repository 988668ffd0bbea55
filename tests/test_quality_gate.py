"""The quality gate: chunks below --min-quality go to review.jsonl; nothing is dropped."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import PipelineConfig
from pipelines.convert import run_stages
from pipelines.model import Document
from pipelines.outputs import DocResult, needs_review, write_combined
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"


def _results() -> list[DocResult]:
    out = []
    for name in ("born_digital_report.pdf", "scanned_report.pdf", "memo.docx"):
        doc = Document.model_validate_json((DATA / f"{name}.extracted.json").read_text())
        out.append(DocResult(source=name, document=run_stages(doc, PipelineConfig()), seconds=1.0))
    return out


def _rows(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_gate_routes_low_quality_chunks_to_review(tmp_path: Path) -> None:
    results = _results()
    all_ids = {c.id for r in results for c in r.document.chunks}
    scores = sorted(c.quality.score for r in results for c in r.document.chunks)
    threshold = scores[len(scores) // 2]  # half the chunks on each side
    write_combined(tmp_path, results, min_quality=threshold)
    kept, review = _rows(tmp_path / "chunks.jsonl"), _rows(tmp_path / "review.jsonl")
    assert kept and review
    assert all(r["quality"] >= threshold for r in kept)
    assert all(r["quality"] is None or r["quality"] < threshold for r in review)
    assert {r["chunk_id"] for r in kept} | {r["chunk_id"] for r in review} == all_ids
    assert not {r["chunk_id"] for r in kept} & {r["chunk_id"] for r in review}


def test_without_a_gate_there_is_no_review_file(tmp_path: Path) -> None:
    results = _results()
    write_combined(tmp_path, results, min_quality=0.99)
    assert (tmp_path / "review.jsonl").is_file()
    write_combined(tmp_path, results)  # gate removed: no stale review file
    assert not (tmp_path / "review.jsonl").exists()
    assert len(_rows(tmp_path / "chunks.jsonl")) == sum(len(r.document.chunks) for r in results)


def test_unscored_chunks_need_review() -> None:
    assert needs_review({"quality": None}, 0.5)
    assert not needs_review({"quality": None}, None)
    assert needs_review({"quality": 0.4}, 0.5) and not needs_review({"quality": 0.5}, 0.5)
