"""Plain-text files: decoding, pages at form feeds, and block structure by layout.

This module owns the reading of ``.txt``-like files and the plain-text block
splitter :func:`text_items`, which the e-mail extractor reuses for text bodies.

* Encoding: BOM (UTF-8/16/32), else strict UTF-8, else detection with cp1252 as
  the Western fallback (see :func:`extractors._native.decode_text`).
* Pages: a form feed (``\\f``) starts a new page; a trailing form feed at the
  end of the file does not add an empty page.
* Blocks: separated by blank lines. Lines starting with a bullet (``-``, ``*``,
  ``•``, ``▪``, ``‣``, ``◦``, or a number followed by ``.`` or ``)``) are list
  items, one block per item with the marker removed (indented or unmarked
  follow-on lines belong to the item). A single short line in ALL CAPS (level 1)
  or Title Case (level 2) without final punctuation is a HEADING when a
  paragraph or list follows it on the same page. Everything else is a
  PARAGRAPH whose lines are joined with ``\\n`` (cleaning happens later).
"""

from __future__ import annotations

import logging
import re

from extractors._native import Item, build_pages, decode_text, normalize_newlines, read_source
from extractors.base import Source
from pipelines.config import ExtractConfig
from pipelines.model import ElementType, Page

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "text"

_BULLET = re.compile(r"^\s*(?:[-*•▪‣◦]|\d{1,3}[.)])\s+(?=\S)")
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_HEADING_MAX_CHARS = 80
_HEADING_MAX_WORDS = 12
_HEADING_RUN = 2
"""At most this many heading-like lines in a row before body text are headings."""
_END_PUNCTUATION = ".,;:!?"
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "but", "by", "de", "for", "from", "in", "into"}
    | {"nor", "of", "on", "or", "per", "the", "to", "vs", "via", "with"}
)


def text_items(text: str, *, split_pages: bool = True, detect_headings: bool = True) -> list[Item]:
    """The blocks of decoded plain text, in order.

    With ``split_pages`` every form feed starts a new page; otherwise form
    feeds are treated as blank lines and everything is on page 1. With
    ``detect_headings=False`` no HEADING is guessed (e.g. for e-mail bodies,
    where "Hi Anna" would look like one).
    """
    text = normalize_newlines(text)
    if split_pages:
        segments = text.split("\f")
        if len(segments) > 1 and not segments[-1].strip():
            segments.pop()  # a form feed that ends the file closes the last page
    else:
        segments = [text.replace("\f", "\n\n")]
    items: list[Item] = []
    for number, segment in enumerate(segments, start=1):
        items.extend(_page_items(segment, number, detect_headings))
    return items


def count_pages(text: str) -> int:
    """How many pages :func:`text_items` makes of ``text`` (at least 1)."""
    segments = normalize_newlines(text).split("\f")
    if len(segments) > 1 and not segments[-1].strip():
        segments.pop()
    return max(1, len(segments))


def _page_items(segment: str, page: int, detect_headings: bool) -> list[Item]:
    blocks = [
        [line.rstrip() for line in raw.split("\n")]
        for raw in _BLANK_LINE.split(segment)
        if raw.strip()
    ]
    blocks = [[line for line in block if line.strip()] for block in blocks]
    candidates = [detect_headings and _heading_level(block) is not None for block in blocks]
    # A heading-like line is a heading only if body text follows soon on the page.
    is_heading = [False] * len(blocks)
    run = 0
    body_follows = False
    for i in range(len(blocks) - 1, -1, -1):
        if candidates[i]:
            run += 1
            is_heading[i] = body_follows and run <= _HEADING_RUN
        else:
            run = 0
            body_follows = True
    items: list[Item] = []
    for block, heading in zip(blocks, is_heading, strict=True):
        if heading:
            level = _heading_level(block)
            items.append(Item(ElementType.HEADING, block[0].strip(), level=level, page=page))
        else:
            items.extend(_body_items(block, page))
    return items


def _body_items(lines: list[str], page: int) -> list[Item]:
    """A paragraph, list items, or a paragraph followed by list items."""
    items: list[Item] = []
    lead: list[str] = []
    current: list[str] | None = None
    for line in lines:
        match = _BULLET.match(line)
        if match is not None:
            if current is not None:
                items.append(Item(ElementType.LIST_ITEM, "\n".join(current), page=page))
            current = [line[match.end() :].strip()]
        elif current is not None:
            current.append(line.strip())
        else:
            lead.append(line)
    if current is not None:
        items.append(Item(ElementType.LIST_ITEM, "\n".join(current), page=page))
    if lead:
        items.insert(0, Item(ElementType.PARAGRAPH, "\n".join(lead).strip("\n"), page=page))
    return items


def _heading_level(block: list[str]) -> int | None:
    """1 for an ALL CAPS line, 2 for a Title Case line, ``None`` if not heading-like."""
    if len(block) != 1:
        return None
    line = block[0].strip()
    if not line or len(line) > _HEADING_MAX_CHARS or line[-1] in _END_PUNCTUATION:
        return None
    if _BULLET.match(line):
        return None
    words = _WORD.findall(line)
    if not words or len(words) > _HEADING_MAX_WORDS:
        return None
    cased = [c for c in line if c.lower() != c.upper()]
    if len(cased) >= 2 and all(c.isupper() for c in cased):
        return 1
    if not words[0][0].isupper():
        return None
    if all(w[0].isupper() or w.lower() in _SMALL_WORDS for w in words):
        return 2
    return None


class TextExtractor:
    """Plain text → pages (split at form feeds) of headings, paragraphs and list items."""

    name = "text"

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        text = decode_text(read_source(source))
        return build_pages(
            source,
            text_items(text),
            extractor=EXTRACTOR_NAME,
            page_count=count_pages(text),
            method_reason="plain text",
        )
