"""The ``doorstep`` command line: ``convert`` one file, ``run`` a folder, ``serve``/``deploy``,
``review`` an output folder.

Outcomes map to exit codes in one place (:class:`ExitCode`, :func:`exit_code_for`),
documented in the README. ``convert`` never imports Prefect; ``run`` does,
lazily, and only when something changed since the last run (an unchanged
rerun is answered from the state store alone). User errors are one line on
stderr; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines import __version__
from pipelines.config import BatchConfig, ExtractConfig, OcrMode, PipelineConfig
from pipelines.errors import ConfigError, DoorstepError
from pipelines.model import Document, Status
from pipelines.offline import ensure_offline_env

if TYPE_CHECKING:
    from pipelines.outputs import DocResult

logger = logging.getLogger(__name__)


class ExitCode(IntEnum):
    """Exit codes of every doorstep command (README: "Exit codes")."""

    OK = 0
    """Every document converted completely."""
    INTERNAL = 1
    """An unexpected internal error stopped the command."""
    USAGE = 2
    """Bad command line: unknown option, missing file argument, invalid value."""
    PARTIAL = 3
    """Some documents are partial (pages failed); none failed outright."""
    FAILED = 4
    """Some documents failed; the others were still written."""


def exit_code_for(statuses: Iterable[Status]) -> ExitCode:
    seen = set(statuses)  # skipped files (unsupported types) do not fail a batch
    if Status.FAILED in seen:
        return ExitCode.FAILED
    if Status.PARTIAL in seen:
        return ExitCode.PARTIAL
    return ExitCode.OK


FORMATS = ("jsonl", "json", "md", "text", "unstructured", "langchain")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "json", ".md": "md", ".txt": "text"}

app = typer.Typer(
    name="doorstep",
    help="Turn messy, scanned, legacy documents into clean, structured, scored chunks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
"""Messages on stderr: never wrapped, so a long path stays on one line for logs and grep."""

OcrOption = Annotated[
    OcrMode, typer.Option("--ocr", help="auto: text layer where real, OCR elsewhere.")
]
LangOption = Annotated[
    str, typer.Option("--lang", help="Tesseract languages, e.g. 'eng' or 'eng+deu'.")
]
PasswordOption = Annotated[
    str | None, typer.Option("--password", help="Password for encrypted PDFs.")
]
PasswordsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passwords-file",
        help="File of passwords to try on encrypted PDFs, one per line.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


_DEFAULT_MAX_PIXELS = ExtractConfig.model_fields["max_image_pixels"].default
MaxPixelsOption = Annotated[
    int,
    typer.Option(
        "--max-image-pixels",
        min=1,
        help="Refuse images with more pixels than this (decompression-bomb guard).",
    ),
]


def _read_passwords(path: Path | None) -> list[str]:
    if path is None:
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.rstrip("\r") for line in lines if line.strip()]


DebugOption = Annotated[bool, typer.Option("--debug", help="Verbose logs and tracebacks.")]


def _setup_logging(debug: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_time=debug, show_path=debug)],
        force=True,
    )


def _config(
    ocr: OcrMode,
    lang: str,
    password: str | None,
    page_workers: int = 1,
    passwords_file: Path | None = None,
    max_image_pixels: int = _DEFAULT_MAX_PIXELS,
) -> PipelineConfig:
    try:
        extract = ExtractConfig(
            ocr=ocr,
            languages=lang,
            password=password,
            passwords=_read_passwords(passwords_file),
            page_workers=page_workers,
            max_image_pixels=max_image_pixels,
        )
        return PipelineConfig(extract=extract)
    except ValueError as exc:
        raise ConfigError(f"invalid option: {exc}") from exc


def _check_languages(cfg: PipelineConfig) -> None:
    """Fail fast, before any file, when a requested OCR language is missing."""
    if cfg.extract.ocr is OcrMode.NEVER or cfg.extract.languages == "eng":
        return
    from extractors.ocr import check_languages

    check_languages(cfg.extract.languages)


def _report_failure(doc: Document) -> None:
    for e in doc.errors:
        where = f" (page {e.page})" if e.page else ""
        hint = f" — {e.hint}" if e.hint else ""
        err.print(
            f"[red]doorstep:[/] {doc.source}{where}: {e.code}: {e.message}{hint}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def _usage_error(exc: DoorstepError) -> typer.Exit:
    hint = f" — {exc.hint}" if exc.hint else ""
    err.print(f"doorstep: {exc.code}: {exc.message}{hint}", highlight=False, soft_wrap=True)
    return typer.Exit(ExitCode.USAGE)


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="The document to convert.")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Output file; stdout when omitted.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="jsonl (chunks), json (document), md, text, unstructured (elements JSON) "
            "or langchain (JSONL of page_content + metadata).",
        ),
    ] = None,
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
    password: PasswordOption = None,
    passwords_file: PasswordsFileOption = None,
    max_image_pixels: MaxPixelsOption = _DEFAULT_MAX_PIXELS,
    debug: DebugOption = False,
) -> None:
    """Convert one file. `text` is the cleaned body text, pages separated by form feeds."""
    _setup_logging(debug)
    ensure_offline_env()
    chosen = fmt or (_SUFFIX_FORMATS.get(out.suffix.lower()) if out else None) or "jsonl"
    if chosen not in FORMATS:
        err.print(f"doorstep: unknown format {chosen!r}; choose one of {', '.join(FORMATS)}")
        raise typer.Exit(ExitCode.USAGE)
    try:
        # One document: OCR its pages on every core (a batch parallelises documents).
        cfg = _config(
            ocr,
            lang,
            password,
            page_workers=max(1, os.cpu_count() or 1),
            passwords_file=passwords_file,
            max_image_pixels=max_image_pixels,
        )
        _check_languages(cfg)
    except DoorstepError as exc:
        raise _usage_error(exc) from None

    from pipelines.convert import convert as convert_file
    from pipelines.outputs import RENDERERS, write_atomic

    doc = convert_file(file, cfg, source_name=str(file))
    if doc.status in (Status.FAILED, Status.SKIPPED):  # the one file asked for: a failure
        _report_failure(doc)
        raise typer.Exit(ExitCode.FAILED)
    if doc.status is Status.PARTIAL:
        _report_failure(doc)
    rendered = RENDERERS[chosen](doc)
    if out is None:
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        write_atomic(out, rendered)
    raise typer.Exit(exit_code_for([doc.status]))


@dataclass(frozen=True)
class _DocStat:
    status: Status
    pages: int
    chunks: int
    quality: float | None


def _summary_table(
    stats: list[_DocStat], seconds: float, *, converted: int, reused: int, removed: int
) -> Table:
    pages = sum(d.pages for d in stats)
    scores = [d.quality for d in stats if d.quality is not None and not math.isnan(d.quality)]
    table = Table(title="doorstep run summary", show_header=True)
    columns = (
        "docs",
        "new",
        "same",
        "gone",
        "ok",
        "part",
        "fail",
        "skip",
        "pages",
        "chunks",
        "qual",
    )
    for col in (*columns, "secs", "pg/s"):
        table.add_column(col, justify="right")
    count = {s: sum(1 for d in stats if d.status is s) for s in Status}
    table.add_row(
        str(len(stats)),
        str(converted),
        str(reused),
        str(removed),
        str(count[Status.OK]),
        str(count[Status.PARTIAL]),
        str(count[Status.FAILED]),
        str(count[Status.SKIPPED]),
        str(pages),
        str(sum(d.chunks for d in stats)),
        f"{sum(scores) / len(scores):.3f}" if scores else "-",
        f"{seconds:.1f}",
        f"{pages / seconds:.2f}" if seconds > 0 and converted else "-",
    )
    return table


def _stats(results: list[DocResult]) -> list[_DocStat]:
    return [
        _DocStat(r.document.status, len(r.document.pages), r.chunk_count, q)
        for r in results
        for q in [r.document.quality.score]
    ]


def _up_to_date(
    folder: Path, outdir: Path, cfg: PipelineConfig, need_report: bool, routing: str = ""
) -> list[_DocStat] | None:
    """Without Prefect: the stored stats if nothing changed since the last run, else None."""
    from pipelines.combined import up_to_date

    found = up_to_date(folder, outdir, cfg, routing=routing, need_report=need_report)
    return None if found is None else _stats(found[1])


def _out() -> Console:
    """Standard output, wide enough for the summary table even when piped."""
    console = Console()
    return console if console.width >= 120 else Console(width=120)


def _print_routing(outdir: Path, min_quality: float | None) -> None:
    """Where the quality gate (and reviewers' rejections) sent the chunks (none is dropped)."""
    from pipelines.outputs import count_lines

    kept, review = count_lines(outdir / "chunks.jsonl"), count_lines(outdir / "review.jsonl")
    if min_quality is None:
        if review:
            _out().print(f"{review} chunks rejected by a reviewer are in review.jsonl")
        return
    _out().print(
        f"quality gate {min_quality:g}: {kept} chunks in chunks.jsonl, "
        f"{review} in review.jsonl (quality below {min_quality:g}, unknown, or rejected)"
    )


def _print_corrections(outdir: Path) -> None:
    """Human corrections applied, and stale ones (made on an older version of the file)."""
    from pipelines.corrections import correction_summary
    from pipelines.state import StateStore

    if not (outdir / "corrections").is_dir():
        return
    store = StateStore(outdir)
    try:
        applied, stale = correction_summary(outdir, store.current_sha256())
    finally:
        store.close()
    if applied or stale:
        _out().print(
            f"corrections: {len(applied)} documents corrected, {len(stale)} stale "
            "(see manifest.csv column 'corrections')"
        )
    for source in stale:
        err.print(
            f"doorstep: {source}: STALE_CORRECTIONS: the file changed since it was "
            "corrected; the corrections are kept but not applied — review it again with "
            "doorstep review",
            highlight=False,
            soft_wrap=True,
        )


def _batch_config(**values: Any) -> BatchConfig:
    try:
        return BatchConfig(**values)
    except ValueError as exc:
        raise ConfigError(f"invalid option: {exc}") from exc


WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers", "-w", min=0, help="Documents converted in parallel (0 = one per CPU core)."
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds allowed per document.")
]
MemoryOption = Annotated[
    int, typer.Option("--memory-mb", min=64, help="Memory cap (RSS, MB) of each worker process.")
]
DaskOption = Annotated[
    str | None,
    typer.Option("--dask-address", help="Run on an existing Dask cluster, e.g. tcp://host:8786."),
]


@app.command()
def run(
    folder: Annotated[Path, typer.Argument(help="Folder of documents (searched recursively).")],
    outdir: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    workers: WorkersOption = 0,
    timeout: TimeoutOption = 900.0,
    memory_mb: MemoryOption = 1536,
    retries: Annotated[
        int, typer.Option("--retries", min=0, max=5, help="Retries after transient failures.")
    ] = 1,
    dask_address: DaskOption = None,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write report.html and artifacts.")
    ] = True,
    min_quality: Annotated[
        float | None,
        typer.Option(
            "--min-quality",
            min=0.0,
            max=1.0,
            help="Quality gate: chunks below it go to OUTDIR/review.jsonl, not chunks.jsonl.",
        ),
    ] = None,
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
    password: PasswordOption = None,
    passwords_file: PasswordsFileOption = None,
    max_image_pixels: MaxPixelsOption = _DEFAULT_MAX_PIXELS,
    debug: DebugOption = False,
) -> None:
    """Convert new and changed files under FOLDER into OUTDIR (incremental; see README)."""
    _setup_logging(debug)
    ensure_offline_env()
    if not folder.is_dir():
        err.print(f"doorstep: not a folder: {folder}")
        raise typer.Exit(ExitCode.USAGE)
    try:
        cfg = _config(
            ocr,
            lang,
            password,
            passwords_file=passwords_file,
            max_image_pixels=max_image_pixels,
        )
        _check_languages(cfg)
        batch = _batch_config(
            workers=workers,
            timeout_s=timeout,
            memory_mb=memory_mb,
            retries=retries,
            dask_address=dask_address,
            report=report,
            min_quality=min_quality,
        )
    except DoorstepError as exc:
        raise _usage_error(exc) from None
    if not debug:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from pipelines.combined import combined_key

    started = time.perf_counter()
    try:
        stored = _up_to_date(
            folder, outdir, cfg, need_report=report, routing=combined_key(outdir, min_quality)
        )
    except DoorstepError as exc:
        err.print(f"doorstep: {exc.code}: {exc.message} — {exc.hint}", highlight=False)
        raise typer.Exit(ExitCode.INTERNAL) from None
    if stored is not None:  # fast path: nothing changed, no Prefect needed
        err.print(f"doorstep: {outdir} is up to date ({len(stored)} documents unchanged)")
        _out().print(
            _summary_table(
                stored,
                time.perf_counter() - started,
                converted=0,
                reused=len(stored),
                removed=0,
            )
        )
        _print_routing(outdir, min_quality)
        _print_corrections(outdir)
        raise typer.Exit(exit_code_for(d.status for d in stored))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pipelines.flows import run_batch
    from pipelines.state import list_inputs

    total = len(list_inputs(folder, exclude=outdir))
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task_id = bar.add_task("converting", total=total)

        def on_result(result: DocResult) -> None:
            bar.advance(task_id)
            if result.document.status is not Status.OK:
                _report_failure(result.document)

        try:
            summary = run_batch(folder, outdir, cfg, progress=on_result, batch=batch)
        except DoorstepError as exc:
            err.print(f"doorstep: {exc.code}: {exc.message} — {exc.hint}", highlight=False)
            raise typer.Exit(ExitCode.INTERNAL) from None
    for source in summary.removed:
        err.print(f"doorstep: removed since last run: {source}", highlight=False)
    _out().print(
        _summary_table(
            _stats(summary.results),
            summary.seconds,
            converted=len(summary.converted),
            reused=len(summary.reused),
            removed=len(summary.removed),
        )
    )
    _print_routing(outdir, min_quality)
    _print_corrections(outdir)
    raise typer.Exit(exit_code_for(r.document.status for r in summary.results))


def _schedule_options(
    workers: int, dask_address: str | None, ocr: OcrMode, lang: str, timeout: float, memory: int
) -> dict[str, Any]:
    _config(ocr, lang, None)  # validate early
    _batch_config(workers=workers, dask_address=dask_address, timeout_s=timeout, memory_mb=memory)
    return {
        "workers": workers,
        "dask_address": dask_address,
        "ocr": str(ocr),
        "lang": lang,
        "timeout_s": timeout,
        "memory_mb": memory,
    }


CronOption = Annotated[
    str | None, typer.Option("--cron", help="Cron schedule, e.g. '0 2 * * *' (02:00 daily).")
]
IntervalOption = Annotated[
    float | None, typer.Option("--interval", help="Run every this many seconds.")
]
NameOption = Annotated[str, typer.Option("--name", help="Deployment name.")]


@app.command()
def serve(
    inbox: Annotated[Path, typer.Argument(help="Folder to ingest (searched recursively).")],
    outdir: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    cron: CronOption = None,
    interval: IntervalOption = None,
    name: NameOption = "doorstep-ingest",
    workers: WorkersOption = 0,
    timeout: TimeoutOption = 900.0,
    memory_mb: MemoryOption = 1536,
    dask_address: DaskOption = None,
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
    debug: DebugOption = False,
) -> None:
    """Serve a Prefect deployment that ingests new and changed files of INBOX on a schedule.

    Needs a Prefect server (PREFECT_API_URL); runs until interrupted.
    """
    _setup_logging(debug)
    ensure_offline_env()
    if not inbox.is_dir():
        err.print(f"doorstep: not a folder: {inbox}")
        raise typer.Exit(ExitCode.USAGE)
    try:
        options = _schedule_options(workers, dask_address, ocr, lang, timeout, memory_mb)
        from pipelines.deploy import check_schedule

        check_schedule(cron, interval)
    except DoorstepError as exc:
        raise _usage_error(exc) from None
    from pipelines.deploy import serve_ingest

    outdir.mkdir(parents=True, exist_ok=True)
    serve_ingest(inbox, outdir, cron=cron, interval=interval, name=name, **options)


@app.command()
def deploy(
    inbox: Annotated[Path, typer.Argument(help="Folder to ingest (searched recursively).")],
    outdir: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    cron: CronOption = None,
    interval: IntervalOption = None,
    pool: Annotated[str, typer.Option("--pool", help="Prefect work pool name.")] = "default",
    file: Annotated[Path, typer.Option("--file", help="Where to write the project file.")] = Path(
        "prefect.yaml"
    ),
    name: NameOption = "doorstep-ingest",
    workers: WorkersOption = 0,
    timeout: TimeoutOption = 900.0,
    memory_mb: MemoryOption = 1536,
    dask_address: DaskOption = None,
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
) -> None:
    """Write a prefect.yaml with a scheduled ingest deployment (then: prefect deploy --all)."""
    ensure_offline_env()
    try:
        options = _schedule_options(workers, dask_address, ocr, lang, timeout, memory_mb)
        from pipelines.deploy import write_prefect_yaml

        target = write_prefect_yaml(
            file, inbox, outdir, cron=cron, interval=interval, work_pool=pool, name=name, **options
        )
    except DoorstepError as exc:
        raise _usage_error(exc) from None
    err.print(f"doorstep: wrote {target}; register it with: prefect deploy --all")


@app.command()
def review(
    outdir: Annotated[Path, typer.Argument(help="Output folder of a doorstep run.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port.")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    debug: DebugOption = False,
) -> None:
    """Serve a local page to review low-quality pages and chunks and correct them."""
    _setup_logging(debug)
    ensure_offline_env()
    from pipelines.review import make_server

    try:
        server = make_server(outdir, host, port)
    except DoorstepError as exc:
        raise _usage_error(exc) from None
    except OSError as exc:
        err.print(f"doorstep: cannot listen on {host}:{port}: {exc}")
        raise typer.Exit(ExitCode.USAGE) from None
    bound_host, bound_port = server.server_address[:2]
    err.print(f"doorstep: review page at http://{bound_host!s}:{bound_port}/ (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    raise typer.Exit(ExitCode.OK)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    if version:
        typer.echo(f"doorstep {__version__}")
        raise typer.Exit(ExitCode.OK)


def main() -> None:
    """Console-script entry point; maps anything unexpected to exit code 1."""
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("doorstep: interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        err.print(f"doorstep: internal error: {type(exc).__name__}: {exc} (run with --debug)")
        sys.exit(ExitCode.INTERNAL)
