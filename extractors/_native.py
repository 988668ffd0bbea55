"""Shared plumbing for the native-format extractors (DOCX, HTML, text, Markdown, e-mail).

This module owns three things the five native extractors have in common:

* :class:`Item`, the format-neutral unit a parser produces (type, text, level,
  layer, page), and :func:`build_pages`, which turns a list of items into
  :class:`~pipelines.model.Page` objects whose blocks have deterministic ids
  (document, page, position on the page) via :func:`extractors.base.make_block`;
* :func:`read_source`, which reads a source's bytes and maps I/O failures to
  typed doorstep errors;
* :func:`decode_text`, the one place that guesses the encoding of a text-like
  file (BOM, then strict UTF-8, then ``charset_normalizer``, then cp1252).

Native formats have no fixed geometry: blocks carry no bounding box, pages are
measured in ``pt`` with width and height 0. A page without any block is
reported with ``ExtractionMethod.NONE`` (nothing to extract), not as an error.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from extractors.base import Source, make_block
from pipelines.errors import SourceNotFound, SourceUnreadable
from pipelines.model import ElementType, ExtractionMethod, Layer, Page

logger = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SHORT_SAMPLE = 64
"""Below this many bytes, statistical detection is not trusted (cp1252 is used)."""


@dataclass(frozen=True)
class Item:
    """One block-to-be, as produced by a format parser."""

    type: ElementType
    text: str
    level: int | None = None
    """Heading level (1 = top) for HEADING items; ``None`` otherwise."""
    layer: Layer = Layer.BODY
    page: int = 1
    """1-based page number."""


def build_pages(
    source: Source,
    items: Iterable[Item],
    *,
    extractor: str,
    page_count: int = 1,
    method_reason: str = "",
) -> list[Page]:
    """Pages 1..N with one block per non-empty item, in the given order.

    ``N`` is the larger of ``page_count`` and the highest page of any item, so
    a document without text still has its pages (with no blocks). Items whose
    text is empty or whitespace are dropped. Block ids depend only on the
    document, the page and the block's position on that page.
    """
    by_page: dict[int, list[Item]] = {}
    for item in items:
        if item.page < 1:
            raise ValueError(f"page numbers are 1-based, got {item.page}")
        if item.text.strip():
            by_page.setdefault(item.page, []).append(item)
    last = max([page_count, *by_page])
    pages: list[Page] = []
    for number in range(1, last + 1):
        page_items = by_page.get(number, [])
        blocks = [
            make_block(
                source,
                number,
                index,
                item.text,
                extractor=extractor,
                type=item.type,
                level=item.level,
                layer=item.layer,
            )
            for index, item in enumerate(page_items)
        ]
        if blocks:
            method, reason = ExtractionMethod.NATIVE, method_reason
        else:
            method, reason = ExtractionMethod.NONE, "no text on this page"
        pages.append(
            Page(number=number, unit="pt", method=method, method_reason=reason, blocks=blocks)
        )
    logger.debug(
        "%s: %d page(s), %d block(s)",
        source.path.name,
        len(pages),
        sum(len(p.blocks) for p in pages),
    )
    return pages


def read_source(source: Source) -> bytes:
    """The bytes of ``source``; missing or unreadable files raise typed errors."""
    try:
        return source.path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"no such file: {source.path}") from exc
    except IsADirectoryError as exc:
        raise SourceNotFound(f"not a regular file: {source.path}") from exc
    except OSError as exc:
        raise SourceUnreadable(f"cannot read {source.path}: {exc.strerror or exc}") from exc


def bom_encoding(data: bytes) -> str | None:
    """The encoding announced by a byte-order mark at the start of ``data``."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def strip_bom(data: bytes) -> bytes:
    for bom, _ in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :]
    return data


def known_codec(name: str) -> str | None:
    """The canonical Python codec name for ``name``, or ``None`` if unknown."""
    try:
        return codecs.lookup(name.strip()).name
    except (LookupError, ValueError):
        return None


def guess_encoding(data: bytes) -> str:
    """Best guess at the encoding of BOM-less ``data``.

    Strict UTF-8 first. Otherwise ``charset_normalizer`` (when installed), but
    cp1252 (the usual legacy Western encoding) wins whenever it is among the
    detector's best-scoring candidates, and on samples too short to judge.
    UTF-16/32 guesses without any NUL byte are ignored.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    detected = _detect(data) if len(data) >= _SHORT_SAMPLE else None
    if detected is not None:
        return detected
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"  # cp1252 leaves five bytes undefined; latin-1 decodes anything
    return "cp1252"


def _detect(data: bytes) -> str | None:
    try:
        import charset_normalizer
    except ImportError:  # optional: the fallback is cp1252
        return None
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    near_best = [m.encoding for m in matches if m.chaos <= best_chaos + 0.01]
    if "cp1252" in near_best:
        return "cp1252"
    for encoding in near_best:
        if encoding.startswith(("utf_16", "utf_32")) and b"\x00" not in data:
            continue
        return encoding
    return None


def decode_text(data: bytes) -> str:
    """Decode the bytes of a text file (BOM, UTF-8, detection, cp1252; see above).

    Never raises: undecodable bytes become U+FFFD.
    """
    encoding = bom_encoding(data)
    if encoding is not None:
        return strip_bom(data).decode(encoding, errors="replace")
    encoding = guess_encoding(data)
    logger.debug("decoding as %s", encoding)
    return data.decode(encoding, errors="replace")


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR to LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
