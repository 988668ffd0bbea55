"""The Prefect orchestration layer: the incremental batch flow and its task.

Prefect is imported here and in :mod:`pipelines.deploy` only. The flow

1. locks OUTDIR and plans against the state store (:mod:`pipelines.state`):
   unchanged files are not submitted at all, so they cost no task overhead;
2. converts the changed and new files in parallel, one task per file, each in
   an isolated worker process with a timeout and a memory cap
   (:mod:`pipelines.isolation`), on a thread task runner (local) or a Dask
   cluster (``dask_address``);
3. has each result written (``docs/``, ``documents/<source>.json``) atomically
   — locally by the worker that converted it, so the writes run in parallel and
   only the document's outline and rows come back; on Dask by this process — then
   records it in the store as it arrives, so a run killed at any point loses at
   most the documents in flight;
4. forgets removed files, rebuilds the combined outputs from the stored
   results with human corrections applied (:mod:`pipelines.combined`), and
   writes ``report.html`` plus Prefect artifacts.

:func:`run_batch` is what ``doorstep run`` calls; :func:`ingest_flow` is the
deployable entry point (JSON parameters only) that ``doorstep serve`` and
``doorstep deploy`` schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.offline import ensure_offline_env

ensure_offline_env()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture, as_completed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipelines.combined import (  # noqa: E402
    combined_key,
    corrected,
    rebuild,
    remember_input_folder,
    stored_outlines,
    up_to_date,
)
from pipelines.config import BatchConfig, ExtractConfig, OcrMode, PipelineConfig  # noqa: E402
from pipelines.corrections import CorrectionIndex  # noqa: E402
from pipelines.errors import DoorstepError, OutputError, to_record  # noqa: E402
from pipelines.isolation import Limits, convert_isolated, prewarm  # noqa: E402
from pipelines.model import Document, Status, stable_id  # noqa: E402
from pipelines.outputs import (  # noqa: E402
    DocResult,
    remove_document_files,
    write_document_files,
)
from pipelines.report import ReportData, RunInfo, markdown_summary, table_rows  # noqa: E402
from pipelines.report import write_report as write_html_report  # noqa: E402
from pipelines.schedule import by_expected_work  # noqa: E402
from pipelines.state import (  # noqa: E402
    InputFile,
    StateStore,
    list_inputs,
    open_state,
    plan_batch,
    remove_stale_temp_files,
    result_checker,
)

logger = logging.getLogger(__name__)

__all__ = ["BatchSummary", "batch_flow", "ingest_flow", "list_inputs", "run_batch"]

ProgressHook = Callable[[DocResult], None]


class BatchSummary:
    """What one run did. ``results`` holds every current document (converted or reused).

    A plain class, not a dataclass: Prefect walks a flow's dataclass and pydantic
    return values looking for futures, which over thousands of documents' blocks
    and words cost more than the conversions of born-digital files.
    """

    __slots__ = ("converted", "peak_rss_mb", "removed", "results", "reused", "seconds")

    def __init__(
        self,
        results: list[DocResult],
        seconds: float,
        converted: list[str] | None = None,
        reused: list[str] | None = None,
        removed: list[str] | None = None,
        peak_rss_mb: float = 0.0,
    ) -> None:
        self.results = results
        self.seconds = seconds
        self.converted = converted or []
        self.reused = reused or []
        self.removed = removed or []
        self.peak_rss_mb = peak_rss_mb

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.document.status is status)


class Converted:
    """A task's return: the result and the worker's peak RSS in MB (opaque to Prefect,
    for the reason given on :class:`BatchSummary`)."""

    __slots__ = ("peak_rss_mb", "result")

    def __init__(self, result: DocResult, peak_rss_mb: float) -> None:
        self.result = result
        self.peak_rss_mb = peak_rss_mb


@task(name="convert-document", cache_policy=NO_CACHE, task_run_name="convert {source}")
def convert_task(
    path: Path,
    source: str,
    sha256: str,
    cfg: PipelineConfig,
    limits: Limits,
    outdir: Path | None = None,
) -> Converted:
    """Convert one file in an isolated worker (which stores it in ``outdir``); never raises."""
    outcome = convert_isolated(path, source, cfg, limits, sha256=sha256, outdir=outdir)
    result = DocResult(source, outcome.document, outcome.seconds, outcome.rows)
    return Converted(result, outcome.peak_rss_mb)


class _FreshResults:
    """This run's stored results, kept in memory up to a budget for the combined rebuild."""

    BUDGET_CHARS = 200_000_000  # text of the kept results; beyond it they are re-read

    def __init__(self) -> None:
        self.results: dict[str, DocResult] = {}
        self.chars = 0

    def keep(self, result: DocResult) -> None:
        if result.rows is not None:
            rows = [*result.rows.chunks, *result.rows.pages]
            size = sum(len(r["text"]) + 200 for r in rows)
        else:
            blocks = result.document.blocks()
            size = sum(len(b.text) + 40 * (len(b.words) + len(b.lines)) for b in blocks)
        if self.chars + size <= self.BUDGET_CHARS:
            self.results[result.source] = result
            self.chars += size


def _crashed(item: InputFile, exc: BaseException) -> DocResult:
    doc = Document(
        id=stable_id("crashed", item.source),
        source=item.source,
        sha256=item.sha256,
        status=Status.FAILED,
        errors=[to_record(exc)],
    )
    return DocResult(source=item.source, document=doc, seconds=0.0)


def _store_result(
    outdir: Path, store: StateStore, result: DocResult, input_sha256: str
) -> DocResult:
    """Write a fresh result's files (unless its worker did), then record it (in that
    order: see module doc)."""
    if result.rows is None:
        try:
            write_document_files(outdir, result)
        except (OutputError, OSError) as exc:  # an unwritable name must not lose the document
            logger.warning("cannot write outputs for %s: %s", result.source, exc)
            err = exc if isinstance(exc, DoorstepError) else OutputError(str(exc))
            doc = result.document
            failed = doc.model_copy(
                update={"status": Status.FAILED, "errors": [*doc.errors, to_record(err)]}
            )
            store.record(failed, result.seconds, input_sha256=input_sha256, inline=True)
            return DocResult(result.source, failed, result.seconds)
    store.record(
        result.document, result.seconds, input_sha256=input_sha256, chunks=result.chunk_count
    )
    return result


def _artifacts(data: ReportData, info: RunInfo) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    try:
        create_markdown_artifact(
            markdown=markdown_summary(data, info),
            key="doorstep-run-report",
            description="doorstep batch summary",
        )
        create_table_artifact(
            table=table_rows(data), key="doorstep-documents", description="slowest documents"
        )
    except Exception as exc:  # the report is advisory; never fail a batch for it
        logger.warning("cannot create Prefect artifacts: %s", exc)


@flow(name="doorstep-batch", log_prints=False, validate_parameters=False)
def batch_flow(
    folder: Path,
    outdir: Path,
    cfg: PipelineConfig,
    progress: ProgressHook | None = None,
    batch: BatchConfig | None = None,
) -> BatchSummary:
    """Convert every new or changed file under ``folder`` into ``outdir``."""
    batch = batch or BatchConfig()
    limits = Limits.from_batch(batch)
    start = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    with open_state(outdir) as store:
        remove_stale_temp_files(outdir)
        plan = plan_batch(store, folder, cfg, result_exists=result_checker(outdir))
        logger.info(
            "%d files: %d to convert, %d unchanged, %d removed",
            len(plan.sources),
            len(plan.todo),
            len(plan.reused),
            len(plan.removed),
        )
        if plan.todo and batch.dask_address is None:
            prewarm(min(len(plan.todo), batch.effective_workers()))
        # Local workers store their results themselves; a Dask worker may not see OUTDIR.
        store_in = outdir if batch.dask_address is None else None
        # Most expected work first, so that no long conversion starts last: a short tail.
        order = by_expected_work([item.path for item in plan.todo], cfg.extract.dpi)
        futures: dict[PrefectFuture[Converted], InputFile] = {
            convert_task.submit(item.path, item.source, item.sha256, cfg, limits, store_in): item
            for item in (plan.todo[i] for i in order)
        }
        peak = 0.0
        fresh = _FreshResults()
        for fut in as_completed(list(futures)):
            item = futures[fut]
            try:
                done = fut.result()
                outcome = done.result
                peak = max(peak, done.peak_rss_mb)
            except Exception as exc:  # the task itself crashed: still account for the file
                outcome = _crashed(item, exc)
            result = _store_result(outdir, store, outcome, item.sha256)
            fresh.keep(result)
            if progress is not None:
                progress(result)
        for source in plan.removed:
            remove_document_files(outdir, source)
            store.forget(source)
        data = ReportData()
        results: list[DocResult] = []

        def observe(result: DocResult) -> None:
            data.add(result)
            results.append(result)

        remember_input_folder(store, folder)
        routing = combined_key(outdir, batch.min_quality)
        if store.combined_current(plan.sources, routing) and not plan.has_work:
            index = CorrectionIndex.load(outdir)
            # Nothing to rebuild: the summary needs only each document's outline.
            stored = stored_outlines(outdir, store, plan.sources)
            for r in corrected(outdir, stored, index, cfg.chunk, cfg.quality):
                observe(r)
        else:
            rebuild(
                outdir,
                store,
                plan.sources,
                chunk_cfg=cfg.chunk,
                quality_cfg=cfg.quality,
                min_quality=batch.min_quality,
                observe=observe,
                fresh=fresh.results,
            )
        if progress is not None:
            converted = {i.source for i in plan.todo}
            for r in results:
                if r.source not in converted:
                    progress(r)
        info = RunInfo(
            folder=str(folder),
            converted=len(plan.todo),
            reused=len(plan.reused),
            removed=plan.removed,
            seconds=time.perf_counter() - start,
        )
        if batch.report:
            if plan.has_work or not (outdir / "report.html").is_file():
                write_html_report(outdir, folder, data, info, thumbnails=batch.thumbnails)
            _artifacts(data, info)
    return BatchSummary(
        results=results,
        seconds=time.perf_counter() - start,
        converted=[i.source for i in plan.todo],
        reused=plan.reused,
        removed=plan.removed,
        peak_rss_mb=peak,
    )


def make_task_runner(batch: BatchConfig) -> Any:
    """Threads locally (the CPU work runs in worker processes), or a Dask cluster."""
    if batch.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=batch.dask_address)
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=batch.effective_workers())
    return runner


def run_batch(
    folder: Path,
    outdir: Path,
    cfg: PipelineConfig,
    *,
    workers: int = 0,
    progress: ProgressHook | None = None,
    batch: BatchConfig | None = None,
) -> BatchSummary:
    """Run the batch flow; ``workers`` (when given) overrides ``batch.workers``."""
    batch = batch or BatchConfig()
    if workers:
        batch = batch.model_copy(update={"workers": workers})
    start = time.perf_counter()
    routing = combined_key(outdir, batch.min_quality)
    found = up_to_date(folder, outdir, cfg, routing=routing, need_report=batch.report)
    if found is not None:  # nothing changed: no flow run (its start-up waits on the server)
        plan, results = found
        for r in results:
            if progress is not None:
                progress(r)
        return BatchSummary(results, time.perf_counter() - start, reused=plan.reused)
    configured = batch_flow.with_options(task_runner=make_task_runner(batch))
    summary: BatchSummary = configured(folder, outdir, cfg, progress, batch)
    return summary


@flow(name="doorstep-ingest", log_prints=False)
def ingest_flow(
    folder: str,
    outdir: str,
    workers: int = 0,
    dask_address: str | None = None,
    ocr: str = "auto",
    lang: str = "eng",
    timeout_s: float = 900.0,
    memory_mb: int = 1536,
) -> dict[str, Any]:
    """Deployable entry point: ingest new and changed files of ``folder`` into ``outdir``."""
    cfg = PipelineConfig(extract=ExtractConfig(ocr=OcrMode(ocr), languages=lang))
    batch = BatchConfig(
        workers=workers, dask_address=dask_address, timeout_s=timeout_s, memory_mb=memory_mb
    )
    summary = run_batch(Path(folder), Path(outdir), cfg, batch=batch)
    return {
        "documents": len(summary.results),
        "converted": summary.converted,
        "removed": summary.removed,
        "failed": summary.count(Status.FAILED),
    }
