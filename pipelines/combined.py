"""Rebuilding the combined outputs from stored results, with corrections applied (no Prefect).

This module owns the step both ``doorstep run`` (:mod:`pipelines.flows`) and the
review page (:mod:`pipelines.review`) take to turn the stored per-document
results into ``chunks.jsonl``/``.parquet``, ``pages.parquet``, ``manifest.csv``
and ``review.jsonl``: every stored result, in source order, through
:func:`pipelines.corrections.apply_corrections`. It records in the state store
what it was built from (sources, quality gate, chunk and quality configuration,
input folder), so the review page can rebuild the same way after a save, and the
combined fingerprint includes the corrections, so a rerun notices them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from pipelines.config import ChunkConfig, PipelineConfig, QualityConfig
from pipelines.corrections import CorrectionIndex, CorrectionStore
from pipelines.model import CorrectionState, Document
from pipelines.outputs import DocResult, load_result, routing_key, write_combined_sorted
from pipelines.stages.review import apply_corrections
from pipelines.state import (
    STATE_DIR,
    Plan,
    StateStore,
    open_state,
    plan_batch,
    remove_stale_temp_files,
    result_checker,
)

logger = logging.getLogger(__name__)

_META_SOURCES = "combined_sources"
_META_GATE = "min_quality"
_META_STAGES = "stage_config"
_META_FOLDER = "input_folder"


def combined_key(outdir: Path, min_quality: float | None) -> str:
    """What, besides the stored results, the combined outputs depend on."""
    return f"{routing_key(min_quality)}|corrections={CorrectionStore(outdir).digest()}"


def stored_results(
    outdir: Path,
    store: StateStore,
    sources: list[str],
    fresh: Mapping[str, DocResult] | None = None,
) -> Iterator[DocResult]:
    """Every current document, in source order (uncorrected): from ``fresh`` — results
    this run has just stored, still in memory — or else from its stored result
    (parsing a stored result costs more than converting a born-digital page)."""
    for source in sources:
        kept = fresh.get(source) if fresh is not None else None
        if kept is not None:
            yield DocResult(source, kept.document, store.seconds(source), kept.rows)
            continue
        yield _stored_result(outdir, store, source)


def _stored_result(outdir: Path, store: StateStore, source: str) -> DocResult:
    inline = store.inline_json(source)
    doc = Document.model_validate_json(inline) if inline else load_result(outdir, source)
    return DocResult(source, doc, store.seconds(source))


def stored_outlines(outdir: Path, store: StateStore, sources: list[str]) -> Iterator[DocResult]:
    """Every current document as :func:`stored_results` gives it, but as its outline
    kept in the state store: what a summary and a report need, without parsing every
    stored result (an unchanged rerun). A document stored without an outline (by an
    older doorstep) is read whole."""
    outlines = store.outlines(sources)
    for source in sources:
        found = outlines.get(source)
        if found is None:
            yield _stored_result(outdir, store, source)
            continue
        doc = Document.model_validate_json(found.json)
        yield DocResult(source, doc, found.seconds, chunks=found.chunks)


def up_to_date(
    folder: Path,
    outdir: Path,
    cfg: PipelineConfig,
    *,
    routing: str,
    need_report: bool,
) -> tuple[Plan, list[DocResult]] | None:
    """Without Prefect: when nothing changed since the last run (no file to convert or
    forget, combined outputs current, ``report.html`` there if ``need_report``), the plan
    and every current document's outline with its corrections applied; else None.

    ``routing`` is :func:`combined_key` of the run. An unchanged rerun needs no flow:
    the CLI and :func:`pipelines.flows.run_batch` answer it from here."""
    if not (outdir / STATE_DIR / "state.sqlite").is_file():
        return None
    with open_state(outdir) as store:
        remove_stale_temp_files(outdir)
        plan = plan_batch(store, folder, cfg, result_exists=result_checker(outdir))
        remember_input_folder(store, folder)  # the review page renders pages from it
        if plan.has_work or not store.combined_current(plan.sources, routing):
            return None
        if need_report and not (outdir / "report.html").is_file():
            return None
        index = CorrectionIndex.load(outdir)
        outlines = stored_outlines(outdir, store, plan.sources)
        return plan, list(corrected(outdir, outlines, index, cfg.chunk, cfg.quality))


def corrected(
    outdir: Path,
    results: Iterable[DocResult],
    index: CorrectionIndex,
    chunk_cfg: ChunkConfig,
    quality_cfg: QualityConfig,
) -> Iterator[DocResult]:
    """``results`` with their corrections applied; stale corrections are logged."""
    for r in results:
        found, stale = index.lookup(r.document)
        if found is None:
            yield r
            continue
        if r.is_outline:  # corrections apply to the whole document
            r = DocResult(r.source, load_result(outdir, r.source), r.seconds)
        doc = apply_corrections(
            r.document, found, stale=stale, chunk_cfg=chunk_cfg, quality_cfg=quality_cfg
        )
        if doc.corrections is CorrectionState.STALE and found is not None:
            logger.warning(
                "corrections of %s are stale: they were made on sha256 %s, the file is now "
                "%s; kept in corrections/ but not applied",
                r.source,
                found.sha256[:12],
                r.document.sha256[:12] or "unknown",
            )
        yield DocResult(r.source, doc, r.seconds)


def rebuild(
    outdir: Path,
    store: StateStore,
    sources: list[str],
    *,
    chunk_cfg: ChunkConfig,
    quality_cfg: QualityConfig,
    min_quality: float | None,
    observe: Callable[[DocResult], None] | None = None,
    fresh: Mapping[str, DocResult] | None = None,
) -> None:
    """Write the combined outputs (call with the state lock held) and remember how."""
    index = CorrectionIndex.load(outdir)
    key = combined_key(outdir, min_quality)
    write_combined_sorted(
        outdir,
        corrected(
            outdir, stored_results(outdir, store, sources, fresh), index, chunk_cfg, quality_cfg
        ),
        observe,
        min_quality=min_quality,
    )
    store.set_meta(_META_SOURCES, json.dumps(sources))
    store.set_meta(_META_GATE, json.dumps(min_quality))
    store.set_meta(
        _META_STAGES,
        json.dumps(
            {
                "chunk": chunk_cfg.model_dump(mode="json"),
                "quality": quality_cfg.model_dump(mode="json"),
            }
        ),
    )
    store.set_combined_fingerprint(store.fingerprint(sources, key))


def rebuild_as_last_run(outdir: Path, store: StateStore) -> None:
    """Rebuild the combined outputs as the last ``doorstep run`` did (after a review save)."""
    recorded = store.meta(_META_SOURCES)  # absent when an older doorstep wrote OUTDIR
    sources = json.loads(recorded) if recorded else sorted(store.stored())
    chunk_cfg, quality_cfg = stage_configs(store)
    rebuild(
        outdir,
        store,
        sources,
        chunk_cfg=chunk_cfg,
        quality_cfg=quality_cfg,
        min_quality=json.loads(store.meta(_META_GATE) or "null"),
    )


def stage_configs(store: StateStore) -> tuple[ChunkConfig, QualityConfig]:
    """The chunking and scoring configuration of the last combined rebuild."""
    stages = json.loads(store.meta(_META_STAGES) or "{}")
    return (
        ChunkConfig.model_validate(stages.get("chunk", {})),
        QualityConfig.model_validate(stages.get("quality", {})),
    )


def remember_input_folder(store: StateStore, folder: Path) -> None:
    """Where the sources are, so the review page can render their pages."""
    store.set_meta(_META_FOLDER, str(folder.resolve()))


def input_folder(store: StateStore) -> Path | None:
    value = store.meta(_META_FOLDER)
    return Path(value) if value else None
