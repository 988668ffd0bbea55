"""The ``doorstep`` command line: ``convert`` one file, ``run`` a folder.

Outcomes map to exit codes in one place (:class:`ExitCode`, :func:`exit_code_for`),
documented in the README. ``convert`` never imports Prefect; ``run`` does,
lazily. User errors are one line on stderr; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines import __version__
from pipelines.config import ExtractConfig, OcrMode, PipelineConfig
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
    seen = set(statuses)
    if Status.FAILED in seen:
        return ExitCode.FAILED
    if Status.PARTIAL in seen:
        return ExitCode.PARTIAL
    return ExitCode.OK


FORMATS = ("jsonl", "json", "md", "text")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "json", ".md": "md", ".txt": "text"}

app = typer.Typer(
    name="doorstep",
    help="Turn messy, scanned, legacy documents into clean, structured, scored chunks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

OcrOption = Annotated[
    OcrMode, typer.Option("--ocr", help="auto: text layer where real, OCR elsewhere.")
]
LangOption = Annotated[
    str, typer.Option("--lang", help="Tesseract languages, e.g. 'eng' or 'eng+deu'.")
]
PasswordOption = Annotated[
    str | None, typer.Option("--password", help="Password for encrypted PDFs.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Verbose logs and tracebacks.")]


def _setup_logging(debug: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_time=debug, show_path=debug)],
        force=True,
    )


def _config(ocr: OcrMode, lang: str, password: str | None) -> PipelineConfig:
    try:
        return PipelineConfig(extract=ExtractConfig(ocr=ocr, languages=lang, password=password))
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
        typer.Option("--format", "-f", help="jsonl (chunks), json (document), md, or text."),
    ] = None,
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
    password: PasswordOption = None,
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
        cfg = _config(ocr, lang, password)
        _check_languages(cfg)
    except DoorstepError as exc:
        raise _usage_error(exc) from None

    from pipelines.convert import convert as convert_file
    from pipelines.outputs import RENDERERS, write_atomic

    doc = convert_file(file, cfg, source_name=str(file))
    if doc.status is Status.FAILED:
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


def _summary_table(results: list[DocResult], seconds: float) -> Table:
    docs = [r.document for r in results]
    pages = sum(len(d.pages) for d in docs)
    chunks = sum(len(d.chunks) for d in docs)
    scores = [d.quality.score for d in docs if not math.isnan(d.quality.score)]
    table = Table(title="doorstep run summary", show_header=True)
    for col in ("docs", "ok", "partial", "failed", "pages", "chunks", "quality", "secs", "pages/s"):
        table.add_column(col, justify="right")
    count = {s: sum(1 for d in docs if d.status is s) for s in Status}
    table.add_row(
        str(len(docs)),
        str(count[Status.OK]),
        str(count[Status.PARTIAL]),
        str(count[Status.FAILED]),
        str(pages),
        str(chunks),
        f"{sum(scores) / len(scores):.3f}" if scores else "-",
        f"{seconds:.1f}",
        f"{pages / seconds:.2f}" if seconds > 0 else "-",
    )
    return table


@app.command()
def run(
    folder: Annotated[Path, typer.Argument(help="Folder of documents (searched recursively).")],
    outdir: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Documents converted in parallel.")
    ] = max(1, os.cpu_count() or 1),
    ocr: OcrOption = OcrMode.AUTO,
    lang: LangOption = "eng",
    password: PasswordOption = None,
    debug: DebugOption = False,
) -> None:
    """Convert every file under FOLDER into OUTDIR (chunks, pages, manifest, docs/)."""
    _setup_logging(debug)
    ensure_offline_env()
    if not folder.is_dir():
        err.print(f"doorstep: not a folder: {folder}")
        raise typer.Exit(ExitCode.USAGE)
    try:
        cfg = _config(ocr, lang, password)
        _check_languages(cfg)
    except DoorstepError as exc:
        raise _usage_error(exc) from None
    if not debug:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pipelines.flows import list_inputs, run_batch

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

        summary = run_batch(folder, outdir, cfg, workers=workers, progress=on_result)
    Console().print(_summary_table(summary.results, summary.seconds))
    raise typer.Exit(exit_code_for(r.document.status for r in summary.results))


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
