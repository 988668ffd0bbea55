"""Task-runner comparison: ``python -m benchmarks.runners`` (scanned subset, 2 workers).

Converts the same scanned subset as :mod:`benchmarks.throughput` three ways and
prints pages per minute: doorstep's design (thread task runner handing documents
to isolated worker processes), ``convert()`` inline on Prefect's
``ThreadPoolTaskRunner`` (GIL-bound Python parts), and ``convert()`` inline on
Prefect's ``ProcessPoolTaskRunner`` (no timeout kill, no memory cap).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from benchmarks.throughput import WORK, _fresh, scanned_subset
from pipelines.config import BatchConfig, PipelineConfig


@task(cache_policy=NO_CACHE)
def inline_convert(path: Path) -> int:
    from pipelines.convert import convert

    return len(convert(path, PipelineConfig(), source_name=path.name).pages)


@flow(validate_parameters=False)
def inline_flow(paths: list[Path]) -> int:
    return sum(f.result() for f in [inline_convert.submit(p) for p in paths])


def main() -> int:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from pipelines.flows import run_batch

    folder, pages = scanned_subset(20)
    paths = sorted(folder.iterdir())
    rows: list[tuple[str, float]] = []
    inline_flow.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(paths[:1])  # warm-up
    t0 = time.perf_counter()
    run_batch(folder, _fresh(WORK / "runners"), PipelineConfig(), batch=BatchConfig(workers=2))
    rows.append(("threads + isolated worker processes (doorstep)", time.perf_counter() - t0))
    runners: list[tuple[str, Any]] = [
        ("ThreadPoolTaskRunner, convert() inline", ThreadPoolTaskRunner(max_workers=2)),
        ("ProcessPoolTaskRunner, convert() inline", ProcessPoolTaskRunner(max_workers=2)),
    ]
    for name, runner in runners:
        t0 = time.perf_counter()
        inline_flow.with_options(task_runner=runner)(paths)
        rows.append((name, time.perf_counter() - t0))
    print(f"{'runner (2 workers, ' + str(pages) + ' scanned pages)':<50}  pages/min")
    for name, secs in rows:
        print(f"{name:<50}  {pages / secs * 60:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
