"""The Prefect orchestration layer: the batch flow and its one task.

This is the only module that imports Prefect. It wraps the Prefect-free
:func:`pipelines.convert.convert` thinly: one task per input file, run in
parallel by a task runner, then the combined outputs are rebuilt from the
per-document results. Every input file yields exactly one result, whatever
happens to it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.offline import ensure_offline_env

ensure_offline_env()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import as_completed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipelines.config import PipelineConfig  # noqa: E402
from pipelines.convert import convert  # noqa: E402
from pipelines.errors import to_record  # noqa: E402
from pipelines.model import Document, Status, stable_id  # noqa: E402
from pipelines.outputs import DocResult, write_combined, write_document_files  # noqa: E402

logger = logging.getLogger(__name__)

ProgressHook = Callable[[DocResult], None]


@dataclass(frozen=True)
class BatchSummary:
    results: list[DocResult]
    seconds: float

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.document.status is status)


def list_inputs(folder: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """Every file under ``folder`` (sorted; symlinked folders not followed), with
    its path relative to ``folder``. ``exclude`` (the output folder) is skipped."""
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, str]] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if excluded is None or (root_path / d).resolve() != excluded
        )
        for name in sorted(files):
            path = root_path / name
            found.append((path, path.relative_to(folder).as_posix()))
    return found


def convert_one(path: Path, source: str, cfg: PipelineConfig, outdir: Path) -> DocResult:
    """Convert one file and write its per-document outputs; never raises."""
    start = time.perf_counter()
    doc = convert(path, cfg, source_name=source)
    result = DocResult(source=source, document=doc, seconds=time.perf_counter() - start)
    try:
        write_document_files(outdir, result)
    except Exception as exc:  # an unwritable name must not lose the document
        logger.warning("cannot write outputs for %s: %s", source, exc)
        failed = doc.model_copy(
            update={"status": Status.FAILED, "errors": [*doc.errors, to_record(exc)]}
        )
        result = DocResult(source=source, document=failed, seconds=result.seconds)
    return result


@task(name="convert-document", cache_policy=NO_CACHE, task_run_name="convert {source}")
def convert_task(path: Path, source: str, cfg: PipelineConfig, outdir: Path) -> DocResult:
    return convert_one(path, source, cfg, outdir)


@flow(name="doorstep-batch", log_prints=False, validate_parameters=False)
def batch_flow(
    folder: Path,
    outdir: Path,
    cfg: PipelineConfig,
    progress: ProgressHook | None = None,
) -> BatchSummary:
    """Convert every file under ``folder`` into ``outdir``."""
    start = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    inputs = list_inputs(folder, exclude=outdir)
    futures = [convert_task.submit(path, source, cfg, outdir) for path, source in inputs]
    by_future = {id(f): src for f, (_p, src) in zip(futures, inputs, strict=True)}
    results: list[DocResult] = []
    for fut in as_completed(futures):
        try:
            result = fut.result()
        except Exception as exc:  # the task itself crashed: still account for the file
            source = by_future[id(fut)]
            doc = Document(
                id=stable_id("crashed", source),
                source=source,
                sha256="",
                status=Status.FAILED,
                errors=[to_record(exc)],
            )
            result = DocResult(source=source, document=doc, seconds=0.0)
        results.append(result)
        if progress is not None:
            progress(result)
    write_combined(outdir, results)
    return BatchSummary(results=results, seconds=time.perf_counter() - start)


def run_batch(
    folder: Path,
    outdir: Path,
    cfg: PipelineConfig,
    *,
    workers: int,
    progress: ProgressHook | None = None,
) -> BatchSummary:
    """Run the batch flow with ``workers`` parallel tasks."""
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=max(1, workers))
    configured = batch_flow.with_options(task_runner=runner)  # type: ignore[arg-type]
    summary: BatchSummary = configured(folder, outdir, cfg, progress)
    return summary
