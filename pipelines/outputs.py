"""Rendering documents (JSONL, JSON, Markdown, text) and writing batch outputs.

All files are written atomically (temporary file in the same folder, then
rename), and every output path is checked to stay inside the output folder,
whatever the input file names are.

The per-document result ``documents/<source>.json`` is the unit of work of a
batch: the combined outputs (``chunks.jsonl``, ``chunks.parquet``,
``pages.parquet``, ``manifest.csv``) are always rebuilt from those results,
in source order, so they depend only on the results and never on how, in
what order or in how many attempts the batch ran.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import OutputError
from pipelines.interop import to_langchain, to_unstructured
from pipelines.model import (
    Block,
    Chunk,
    CorrectionState,
    Document,
    ElementType,
    Layer,
    Page,
    ReviewStatus,
)

MANIFEST_COLUMNS = [
    "source",
    "sha256",
    "status",
    "kind",
    "pages",
    "chunks",
    "quality",
    "seconds",
    "error_type",
    "error_message",
    "error_hint",
    "corrections",
]


@dataclass(frozen=True)
class DocRows:
    """One document's rows of the combined outputs (``chunks.*``, ``pages.parquet``)."""

    chunks: list[dict[str, Any]]
    pages: list[dict[str, Any]]


def doc_rows(doc: Document) -> DocRows:
    return DocRows([chunk_row(doc, c) for c in doc.chunks], [page_row(doc, p) for p in doc.pages])


@dataclass(frozen=True)
class DocResult:
    """One converted input of a batch.

    ``rows`` is set for a result a worker process stored itself
    (:func:`store_document`): ``document`` is then its :func:`outline` — the
    parent never has to unpickle the blocks and chunks — and the rows are what
    the combined outputs need of it. The whole document is in its stored result.
    """

    source: str
    document: Document
    seconds: float
    rows: DocRows | None = None
    chunks: int | None = None
    """Set for an outline read back from the state store (no rows: an unchanged
    rerun does not rebuild the combined outputs): the document's chunk count."""

    @property
    def is_outline(self) -> bool:
        """``document`` is an :func:`outline`; the whole document is in its stored result."""
        return self.rows is not None or self.chunks is not None

    @property
    def chunk_count(self) -> int:
        if self.rows is not None:
            return len(self.rows.chunks)
        return self.chunks if self.chunks is not None else len(self.document.chunks)

    def combined_rows(self) -> DocRows:
        return self.rows if self.rows is not None else doc_rows(self.document)


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


# --------------------------------------------------------------------------- rows


def chunk_row(doc: Document, c: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": c.id,
        "doc_id": doc.id,
        "source": doc.source,
        "sha256": doc.sha256,
        "index": c.index,
        "text": c.text,
        "page_start": c.page_start,
        "page_end": c.page_end,
        "headings": list(c.headings),
        "element_types": [str(t) for t in c.element_types],
        "block_ids": [r.block_id for r in c.blocks],
        "boxes": [
            [float(r.page), r.bbox.x0, r.bbox.y0, r.bbox.x1, r.bbox.y1]
            for r in c.blocks
            if r.bbox is not None
        ],
        "char_start": c.char_start,
        "char_end": c.char_end,
        "overlap_chars": c.overlap_chars,
        "tokens": c.tokens,
        "quality": _num(c.quality.score),
        "grade": str(c.quality.grade),
        "quality_reasons": [str(r) for r in c.quality.reasons],
        "ocr_confidence": _num(c.quality.ocr_confidence),
        "word_validity": _num(c.quality.word_validity),
        "extractors": list(c.extractors),
        "pipeline_version": doc.pipeline_version,
        "config_hash": doc.config_hash,
        "review": str(c.review.status) if c.review else None,
    }


def page_row(doc: Document, p: Page) -> dict[str, Any]:
    q = p.quality
    return {
        "doc_id": doc.id,
        "source": doc.source,
        "page": p.number,
        "method": str(p.method),
        "method_reason": p.method_reason,
        "quality": _num(q.score),
        "grade": str(q.grade),
        "quality_reasons": [str(r) for r in q.reasons],
        "ocr_confidence": _num(q.ocr_confidence),
        "ocr_confidence_p10": _num(q.ocr_confidence_p10),
        "word_validity": _num(q.word_validity),
        "garbage_ratio": _num(q.garbage_ratio),
        "rotation": p.image.rotation_applied if p.image else 0,
        "skew_degrees": _num(p.image.skew_degrees) if p.image else None,
        "text": p.body_text(),
        "error_type": p.error.code if p.error else "",
        "error_message": p.error.message if p.error else "",
        "review": str(p.review.status) if p.review else None,
    }


def manifest_row(result: DocResult) -> dict[str, Any]:
    doc = result.document
    first = doc.errors[0] if doc.errors else None
    return {
        "source": result.source,
        "sha256": doc.sha256,
        "status": str(doc.status),
        "kind": doc.kind,
        "pages": len(doc.pages),
        "chunks": result.chunk_count,
        "quality": "" if math.isnan(doc.quality.score) else f"{doc.quality.score:.4f}",
        "seconds": f"{result.seconds:.3f}",
        "error_type": first.code if first else "",
        "error_message": first.message if first else "",
        "error_hint": first.hint if first else "",
        "corrections": "" if doc.corrections is CorrectionState.NONE else str(doc.corrections),
    }


# --------------------------------------------------------------------------- renderers


def _markdown_table(text: str) -> str:
    rows = [line.split("\t") for line in text.split("\n") if line.strip()]
    if not rows or max(len(r) for r in rows) < 2:
        return text
    width = max(len(r) for r in rows)
    rows = [[c.strip().replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _block_markdown(b: Block) -> str:
    if b.type is ElementType.TITLE:
        return f"# {b.text}"
    if b.type is ElementType.HEADING:
        return "#" * min(6, (b.level or 1) + 1) + " " + b.text
    if b.type is ElementType.LIST_ITEM:
        return f"- {b.text}"
    if b.type is ElementType.TABLE:
        return _markdown_table(b.text)
    if b.type is ElementType.CAPTION:
        return f"*{b.text}*"
    return b.text


def to_markdown(doc: Document) -> str:
    parts: list[str] = []
    for p in doc.pages:
        if len(doc.pages) > 1:
            parts.append(f"<!-- page {p.number} -->")
        parts.extend(_block_markdown(b) for b in p.blocks if b.layer is Layer.BODY and b.text)
    return "\n\n".join(parts) + "\n"


def to_text(doc: Document) -> str:
    """Cleaned body text in reading order; pages separated by a form feed."""
    return doc.text() + "\n"


def to_jsonl(doc: Document) -> str:
    return "".join(json.dumps(chunk_row(doc, c), ensure_ascii=False) + "\n" for c in doc.chunks)


def to_json(doc: Document) -> str:
    return doc.model_dump_json(indent=2) + "\n"


RENDERERS = {
    "jsonl": to_jsonl,
    "json": to_json,
    "md": to_markdown,
    "text": to_text,
    "unstructured": to_unstructured,
    "langchain": to_langchain,
}


# --------------------------------------------------------------------------- files


def safe_join(root: Path, relative: str, suffix: str = "") -> Path:
    """``root/relative+suffix``, refusing anything that would land outside ``root``."""
    parts = [p for p in Path(relative.replace("\\", "/")).parts if p not in ("", ".", "/")]
    if not parts or any(p == ".." for p in parts):
        raise OutputError(f"refusing output name outside the output folder: {relative!r}")
    clean = [p.replace("\n", " ").replace("\r", " ").replace("\x00", "") for p in parts]
    target = root.joinpath(*clean[:-1], clean[-1] + suffix)
    root_abs = root.resolve()
    if root_abs not in target.resolve().parents:
        raise OutputError(f"refusing output path outside the output folder: {relative!r}")
    return target


def write_atomic(
    path: Path, data: bytes | str, tmp_prefix: str = ".tmp-", *, sync_folder: bool = True
) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    Temporary files start with ``tmp_prefix``: a run removes stale ``.tmp-*`` files
    at its start, so writers outside the run's lock use another prefix. A caller
    that writes several files into one folder passes ``sync_folder=False`` and calls
    :func:`sync_dir` once when they are all in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_folder:
        sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable: without an fsync of the directory, a
    power cut after the state store recorded a document could lose its file's rename."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not a directory this platform can open; the file itself is synced
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory
    finally:
        os.close(fd)


def _parquet_bytes(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


_CHUNK_COLUMNS = list(
    chunk_row(
        Document(id="", source="", sha256=""),
        Chunk(
            id="",
            doc_id="",
            index=0,
            text="",
            page_start=1,
            page_end=1,
            char_start=0,
            char_end=0,
        ),
    ).keys()
)
_PAGE_COLUMNS = list(page_row(Document(id="", source="", sha256=""), Page(number=1)).keys())


def write_document_files(outdir: Path, result: DocResult) -> None:
    """Per-document outputs: ``docs/<source>.md``, ``.txt`` and ``documents/<source>.json``."""
    doc = result.document
    files = {
        safe_join(outdir / "docs", result.source, ".md"): to_markdown(doc),
        safe_join(outdir / "docs", result.source, ".txt"): to_text(doc),
        safe_join(outdir / "documents", result.source, ".json"): to_json(doc),
    }
    for path, text in files.items():
        write_atomic(path, text, sync_folder=False)
    for folder in dict.fromkeys(path.parent for path in files):
        sync_dir(folder)  # once per folder, before the caller records the document


def outline(doc: Document) -> Document:
    """``doc`` without its blocks and chunks: what a batch reports of it (status, errors,
    quality, and every page's number, method, quality and error)."""
    pages = [p.model_copy(update={"blocks": []}) for p in doc.pages]
    return doc.model_copy(update={"pages": pages, "chunks": []})


def store_document(outdir: Path, result: DocResult) -> DocResult:
    """Write a result's per-document files (as :func:`write_document_files`) and return
    it light: its outline with the rows of the combined outputs."""
    write_document_files(outdir, result)
    doc = result.document
    return DocResult(result.source, outline(doc), result.seconds, doc_rows(doc))


def result_path(outdir: Path, source: str) -> Path:
    """Where the stored per-document result of ``source`` lives."""
    return safe_join(outdir / "documents", source, ".json")


def load_result(outdir: Path, source: str) -> Document:
    """The stored per-document result of ``source``."""
    return Document.model_validate_json(result_path(outdir, source).read_bytes())


def remove_document_files(outdir: Path, source: str) -> None:
    """Delete the per-document outputs of a source that disappeared."""
    for folder, suffix in (("docs", ".md"), ("docs", ".txt"), ("documents", ".json")):
        try:
            safe_join(outdir / folder, source, suffix).unlink(missing_ok=True)
        except (OutputError, OSError) as exc:
            raise OutputError(f"cannot remove outputs of {source!r}: {exc}") from exc


def write_combined(
    outdir: Path,
    results: Iterable[DocResult],
    observe: Callable[[DocResult], None] | None = None,
    min_quality: float | None = None,
) -> None:
    """The combined outputs, rebuilt from all per-document results (sorted by source)."""
    write_combined_sorted(
        outdir, sorted(results, key=lambda r: r.source), observe, min_quality=min_quality
    )


def routing_key(min_quality: float | None) -> str:
    """How the quality gate is set, for the combined-outputs fingerprint."""
    return "" if min_quality is None else f"min_quality={min_quality!r}"


def needs_review(row: dict[str, Any], min_quality: float | None) -> bool:
    """Whether a chunk row goes to review.jsonl: rejected by a person, or below the
    quality gate (unscored ones too)."""
    if row.get("review") == ReviewStatus.REJECTED:
        return True
    if min_quality is None:
        return False
    quality = row.get("quality")
    return quality is None or float(quality) < min_quality


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_combined_sorted(
    outdir: Path,
    ordered: Iterable[DocResult],
    observe: Callable[[DocResult], None] | None = None,
    min_quality: float | None = None,
) -> None:
    """As :func:`write_combined` for results already in source order, consumed lazily
    (one document in memory at a time); ``observe`` sees each result.

    With ``min_quality``, chunks below it go to ``review.jsonl`` (same columns)
    instead of ``chunks.jsonl``/``chunks.parquet``; so do chunks a person rejected.
    Without either, no review file is kept.
    """
    chunk_rows: list[dict[str, Any]] = []
    review_rows: list[dict[str, Any]] = []
    page_rows: list[dict[str, Any]] = []
    manifest: list[dict[str, Any]] = []
    for r in ordered:
        rows = r.combined_rows()
        for row in rows.chunks:
            (review_rows if needs_review(row, min_quality) else chunk_rows).append(row)
        page_rows.extend(rows.pages)
        manifest.append(manifest_row(r))
        if observe is not None:
            observe(r)
    write_atomic(outdir / "chunks.jsonl", _jsonl(chunk_rows), sync_folder=False)
    if min_quality is None and not review_rows:
        (outdir / "review.jsonl").unlink(missing_ok=True)
    else:
        write_atomic(outdir / "review.jsonl", _jsonl(review_rows), sync_folder=False)
    chunks_parquet = _parquet_bytes(chunk_rows, _CHUNK_COLUMNS)
    write_atomic(outdir / "chunks.parquet", chunks_parquet, sync_folder=False)
    pages_parquet = _parquet_bytes(page_rows, _PAGE_COLUMNS)
    write_atomic(outdir / "pages.parquet", pages_parquet, sync_folder=False)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in manifest:
        writer.writerow(row)
    write_atomic(outdir / "manifest.csv", buf.getvalue(), sync_folder=False)
    sync_dir(outdir)  # the combined files' renames, once


def count_lines(path: Path) -> int:
    """Lines of a file (0 when it does not exist)."""
    if not path.is_file():
        return 0
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
