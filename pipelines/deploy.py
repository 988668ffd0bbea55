"""Scheduled ingestion: serve the ingest flow, or write a ``prefect.yaml`` for work pools.

Orchestration layer (imports Prefect). ``doorstep serve`` runs
:func:`serve_ingest`, which serves :func:`pipelines.flows.ingest_flow` as a
Prefect deployment on a cron or interval schedule in this process, one run at
a time (runs are incremental through the state store, so each only converts
new and changed files). ``doorstep deploy`` runs :func:`write_prefect_yaml`
for users who run work pools and ``prefect deploy``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from pipelines import __version__
from pipelines.errors import ConfigError
from pipelines.offline import ensure_offline_env

ensure_offline_env()

logger = logging.getLogger(__name__)

DEFAULT_NAME = "doorstep-ingest"
FLOW_FILE = "pipelines/flows.py"
FLOW_FUNCTION = "ingest_flow"


def check_schedule(cron: str | None, interval: float | None) -> dict[str, Any]:
    if (cron is None) == (interval is None):
        raise ConfigError("give exactly one of --cron and --interval")
    if interval is not None:
        if interval <= 0:
            raise ConfigError("--interval must be a positive number of seconds")
        return {"interval": interval}
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=str(cron))
    except ValueError as exc:
        raise ConfigError(f"invalid cron expression {cron!r}: {exc}") from exc
    return {"cron": cron}


def ingest_parameters(folder: Path, outdir: Path, **options: Any) -> dict[str, Any]:
    """The flow parameters of a deployment (absolute paths: runs start elsewhere)."""
    params: dict[str, Any] = {
        "folder": str(folder.resolve()),
        "outdir": str(outdir.resolve()),
    }
    params.update({k: v for k, v in options.items() if v is not None})
    return params


def serve_ingest(
    folder: Path,
    outdir: Path,
    *,
    cron: str | None = None,
    interval: float | None = None,
    name: str = DEFAULT_NAME,
    **options: Any,
) -> None:
    """Serve the ingest deployment until interrupted (SIGINT/SIGTERM)."""
    schedule = check_schedule(cron, interval)
    from prefect.deployments.runner import EntrypointType

    from pipelines.flows import ingest_flow

    ingest_flow.serve(
        name=name,
        parameters=ingest_parameters(folder, outdir, **options),
        description=f"Ingest new and changed files of {folder} into {outdir}.",
        tags=["doorstep"],
        version=__version__,
        limit=1,
        print_starting_message=False,
        entrypoint_type=EntrypointType.MODULE_PATH,
        **schedule,
    )


def prefect_yaml(
    folder: Path,
    outdir: Path,
    *,
    cron: str | None = None,
    interval: float | None = None,
    work_pool: str = "default",
    name: str = DEFAULT_NAME,
    **options: Any,
) -> dict[str, Any]:
    """A ``prefect.yaml`` project file with one scheduled ingest deployment."""
    import prefect

    schedule = check_schedule(cron, interval)
    code_root = Path(__file__).resolve().parent.parent
    return {
        "name": "doorstep",
        "prefect-version": prefect.__version__,
        "build": None,
        "push": None,
        "pull": [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(code_root)}}
        ],
        "deployments": [
            {
                "name": name,
                "version": __version__,
                "tags": ["doorstep"],
                "description": f"Ingest new and changed files of {folder} into {outdir}.",
                "entrypoint": f"{FLOW_FILE}:{FLOW_FUNCTION}",
                "parameters": ingest_parameters(folder, outdir, **options),
                "work_pool": {"name": work_pool, "work_queue_name": None, "job_variables": {}},
                "concurrency_limit": 1,
                "schedules": [{**schedule, "active": True}],
            }
        ],
    }


def write_prefect_yaml(target: Path, folder: Path, outdir: Path, **kwargs: Any) -> Path:
    from pipelines.outputs import write_atomic

    text = yaml.safe_dump(prefect_yaml(folder, outdir, **kwargs), sort_keys=False)
    header = (
        "# Written by `doorstep deploy`. Register it with `prefect deploy --all`\n"
        "# and start a worker for the pool: `prefect worker start --pool <pool>`.\n"
    )
    write_atomic(target, header + text)
    return target
