"""Convert one file into a scored Document: identify → extract → stages.

This is the whole single-file pipeline, with no Prefect: ``doorstep convert``
calls it directly, and the batch flow wraps it in a task. Every failure ends
as a Document with status ``failed`` and an error record; nothing escapes as a
raw exception, so a batch always gets one result per input file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from extractors.base import Extractor
from extractors.detect import identify
from extractors.registry import extractor_for
from pipelines import __version__
from pipelines.config import PipelineConfig
from pipelines.errors import DoorstepError, SourceChanged, UnsupportedFormat, to_record
from pipelines.model import Document, Page, Status, stable_id
from pipelines.stages import (
    chunk,
    classify_elements,
    clean,
    join_continuations,
    join_rows,
    mark_furniture,
    reading_order,
    score,
    split_paragraphs,
)

logger = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Size, modification time and inode: what changes when a file is rewritten."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def run_stages(doc: Document, cfg: PipelineConfig) -> Document:
    """The pure part of the pipeline, in order."""
    doc = split_paragraphs(doc, cfg.layout)
    doc = join_rows(doc, cfg.layout)
    doc = reading_order(doc, cfg.layout)
    doc = mark_furniture(doc, cfg.structure)
    doc = classify_elements(doc, cfg.layout)
    doc = join_continuations(doc, cfg.layout)
    doc = clean(doc, cfg.clean)
    doc = chunk(doc, cfg.chunk)
    return score(doc, cfg.quality)


def _status(pages: list[Page]) -> Status:
    if pages and all(p.error is not None for p in pages):
        return Status.FAILED
    return Status.PARTIAL if any(p.error is not None for p in pages) else Status.OK


def convert(
    path: Path,
    cfg: PipelineConfig,
    *,
    source_name: str | None = None,
    extractor: Extractor | None = None,
) -> Document:
    """Convert ``path``; ``source_name`` is how the document names its source.

    ``extractor`` overrides the registry's choice (tests inject failing OCR
    engines this way).
    """
    name = source_name if source_name is not None else str(path)
    base = {"source": name, "pipeline_version": __version__, "config_hash": cfg.config_hash()}
    before = _stamp(path)
    try:
        src = identify(path)
    except DoorstepError as exc:
        logger.debug("cannot identify %s", path, exc_info=True)
        return Document(
            id=stable_id("unidentified", name),
            sha256="",
            status=Status.SKIPPED if isinstance(exc, UnsupportedFormat) else Status.FAILED,
            errors=[to_record(exc)],
            **base,
        )
    doc = Document(id=src.doc_id, sha256=src.sha256, kind=src.kind, **base)
    try:
        pages = (extractor or extractor_for(src.kind)).extract(src, cfg.extract)
        if _stamp(path) != before:
            raise SourceChanged(f"{path.name} changed while it was being read")
        doc = run_stages(doc.model_copy(update={"pages": pages}), cfg)
    except DoorstepError as exc:
        logger.debug("conversion of %s failed", path, exc_info=True)
        status = Status.SKIPPED if isinstance(exc, UnsupportedFormat) else Status.FAILED
        return doc.model_copy(update={"status": status, "errors": [to_record(exc)]})
    except Exception as exc:  # a bug or an unforeseen library error: record, never lose
        logger.exception("unexpected error converting %s", path)
        return doc.model_copy(update={"status": Status.FAILED, "errors": [to_record(exc)]})
    page_errors = [p.error for p in doc.pages if p.error is not None]
    return doc.model_copy(update={"status": _status(doc.pages), "errors": page_errors})
