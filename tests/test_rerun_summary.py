"""The summary of an unchanged rerun comes from outlines kept in the state store
(no stored result is parsed), and says the same as a full load of every result."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipelines.combined import corrected, stored_outlines, stored_results
from pipelines.config import PipelineConfig
from pipelines.corrections import CorrectionIndex, CorrectionStore, PageEdit, parse_edit
from pipelines.outputs import DocResult, load_result
from pipelines.report import ReportData
from pipelines.state import open_state
from tests.review_support import make_outdir

NAMES = ("born_digital_report.pdf", "memo.docx", "notice.html")


def _summary(results: list[DocResult]) -> tuple[list[tuple[object, ...]], ReportData]:
    data = ReportData()
    rows = []
    for r in results:
        data.add(r)
        doc = r.document
        rows.append(
            (
                r.source,
                r.seconds,
                doc.status,
                doc.kind,
                len(doc.pages),
                r.chunk_count,
                doc.quality.model_dump_json(),
                [e.model_dump_json() for e in doc.errors],
            )
        )
    return rows, data


def test_rerun_summary_from_outlines_equals_a_full_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = make_outdir(tmp_path, NAMES)
    cfg = PipelineConfig()
    sources = sorted(NAMES)
    index = CorrectionIndex.load(out)
    with open_state(out) as store:
        full = list(
            corrected(out, stored_results(out, store, sources), index, cfg.chunk, cfg.quality)
        )
        assert all(r.document.chunks for r in full)  # loaded whole

        def no_parse(outdir: Path, source: str) -> None:
            raise AssertionError(f"{source}: a stored result was parsed")

        monkeypatch.setattr("pipelines.combined.load_result", no_parse)
        fast = list(
            corrected(out, stored_outlines(out, store, sources), index, cfg.chunk, cfg.quality)
        )
    assert all(r.is_outline and not r.document.chunks for r in fast)
    (full_rows, full_data), (fast_rows, fast_data) = _summary(full), _summary(fast)
    assert fast_rows == full_rows
    assert fast_data == full_data


def test_store_written_without_outlines_is_read_whole(tmp_path: Path) -> None:
    """An OUTDIR of an older doorstep (no outline column) still gives a full summary."""
    out = make_outdir(tmp_path, ("memo.docx",))
    db = out / ".doorstep" / "state.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE documents DROP COLUMN outline_json")
    with open_state(out) as store:  # adds the column back, empty
        [result] = list(stored_outlines(out, store, ["memo.docx"]))
    assert not result.is_outline
    assert result.document == load_result(out, "memo.docx")


def test_corrections_apply_on_the_fast_path(tmp_path: Path) -> None:
    """A document with corrections is loaded whole to apply them: the fast path gives
    the corrected document, as a full load does."""
    out = make_outdir(tmp_path, ("memo.docx",))
    cfg = PipelineConfig()
    doc = load_result(out, "memo.docx")
    CorrectionStore(out).save_page(doc, 1, parse_edit(PageEdit, b'{"status": "approved"}'))
    index = CorrectionIndex.load(out)
    with open_state(out) as store:
        fast = list(
            corrected(
                out, stored_outlines(out, store, ["memo.docx"]), index, cfg.chunk, cfg.quality
            )
        )
        full = list(
            corrected(out, stored_results(out, store, ["memo.docx"]), index, cfg.chunk, cfg.quality)
        )
    assert not fast[0].is_outline
    assert fast[0].document == full[0].document
    assert fast[0].document.pages[0].review is not None


def test_unchanged_rerun_starts_no_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_batch on an up-to-date OUTDIR answers from the state store, with every source
    reused and each result passed to the progress hook; a change needs the flow again."""
    import pipelines.flows as flows
    from pipelines.config import BatchConfig

    out = make_outdir(tmp_path, NAMES)
    src = tmp_path / "src"

    def no_flow(*args: object, **kwargs: object) -> None:
        raise AssertionError("a flow was started")

    monkeypatch.setattr(flows.batch_flow, "with_options", no_flow)
    seen: list[str] = []
    batch = BatchConfig(report=False)
    summary = flows.run_batch(
        src, out, PipelineConfig(), batch=batch, progress=lambda r: seen.append(r.source)
    )
    assert summary.converted == [] and summary.removed == []
    assert summary.reused == sorted(NAMES) == seen == [r.source for r in summary.results]
    assert all(r.is_outline for r in summary.results)
    (src / "new.txt").write_text("NEW\n\nA new file.\n")
    with pytest.raises(AssertionError, match="a flow was started"):
        flows.run_batch(src, out, PipelineConfig(), batch=batch)
