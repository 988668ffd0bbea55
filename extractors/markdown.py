"""Markdown files: block structure from the markdown-it-py token stream.

This module owns the Markdown mapping (CommonMark plus GFM tables): the first
``h1`` is the TITLE, other headings are HEADINGs with their level; paragraphs
(also inside block quotes) are PARAGRAPHs; each list item is one LIST_ITEM
(a nested list's items follow their parent item); fenced and indented code is
a PARAGRAPH with its text kept exactly; a table is one TABLE block (cells
separated by tabs, one row per line). Inline markup is reduced to its text:
links keep their text, images their alt text, inline code its content, inline
HTML tags are dropped. Raw HTML blocks are read with the HTML extractor's
parser. A YAML front-matter block at the very top is skipped. All blocks are
on page 1.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from extractors._native import Item, build_pages, decode_text, normalize_newlines, read_source
from extractors.base import Source
from pipelines.config import ExtractConfig
from pipelines.model import ElementType, Page

if TYPE_CHECKING:
    from markdown_it.token import Token

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "markdown-it"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?:.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_BR_TAG = re.compile(r"^<br\s*/?>$", re.IGNORECASE)


def markdown_items(text: str) -> list[Item]:
    """The blocks of a Markdown document, in order (all on page 1)."""
    from markdown_it import MarkdownIt

    text = _FRONT_MATTER.sub("", normalize_newlines(text), count=1)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return _TokenWalker().run(tokens)


class _TokenWalker:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self._seen_h1 = False
        self._list_buffers: list[list[str]] = []
        """Text of each open list item (innermost last)."""
        self._rows: list[list[str]] | None = None

    def run(self, tokens: list[Token]) -> list[Item]:
        heading_tag: str | None = None
        for token in tokens:
            kind = token.type
            if kind == "heading_open":
                heading_tag = token.tag
            elif kind == "heading_close":
                heading_tag = None
            elif kind == "list_item_open":
                self._flush_list_item()
                self._list_buffers.append([])
            elif kind == "list_item_close":
                buffer = self._list_buffers.pop()
                self._add_list_text(ElementType.LIST_ITEM, buffer)
            elif kind == "table_open":
                self._rows = []
            elif kind == "tr_open" and self._rows is not None:
                self._rows.append([])
            elif kind == "table_close" and self._rows is not None:
                lines = ["\t".join(row) for row in self._rows if any(row)]
                self._emit(Item(ElementType.TABLE, "\n".join(lines)))
                self._rows = None
            elif kind == "inline":
                self._inline(token, heading_tag)
            elif kind in ("fence", "code_block"):
                self._body_text(token.content.rstrip("\n"))
            elif kind == "html_block":
                self._html_block(token.content)
        return self.items

    # -- handlers -------------------------------------------------------

    def _inline(self, token: Token, heading_tag: str | None) -> None:
        text = inline_text(token)
        if self._rows is not None:  # a table cell
            if self._rows:
                self._rows[-1].append(" ".join(text.split()))
        elif heading_tag is not None:
            level = int(heading_tag[1:]) if heading_tag[1:].isdigit() else 1
            self._heading(text.strip(), level)
        else:
            self._body_text(text)

    def _heading(self, text: str, level: int) -> None:
        if not text:
            return
        if level == 1 and not self._seen_h1:
            self._seen_h1 = True
            self._emit(Item(ElementType.TITLE, text))
        else:
            self._emit(Item(ElementType.HEADING, text, level=level))

    def _body_text(self, text: str) -> None:
        """A paragraph or code block: part of the open list item, else a PARAGRAPH."""
        if self._list_buffers:
            self._list_buffers[-1].append(text)
        else:
            self._emit(Item(ElementType.PARAGRAPH, text))

    def _html_block(self, markup: str) -> None:
        from extractors.html import html_items

        for item in html_items(markup, use_title_tag=False):
            if item.type is ElementType.TITLE:
                self._heading(item.text, 1)
            else:
                self._emit(item)

    # -- output ---------------------------------------------------------

    def _emit(self, item: Item) -> None:
        self._flush_list_item()  # keep document order inside list items
        if item.text.strip():
            self.items.append(item)

    def _flush_list_item(self) -> None:
        if self._list_buffers and self._list_buffers[-1]:
            self._add_list_text(ElementType.LIST_ITEM, self._list_buffers[-1])
            self._list_buffers[-1] = []

    def _add_list_text(self, type_: ElementType, parts: list[str]) -> None:
        text = "\n".join(part for part in parts if part.strip())
        if text.strip():
            self.items.append(Item(type_, text))


def inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, link text and image alt kept."""
    if not token.children:
        return token.content
    parts: list[str] = []
    for child in token.children:
        kind = child.type
        if kind in ("text", "text_special", "code_inline", "image"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak") or (
            kind == "html_inline" and _BR_TAG.match(child.content.strip())
        ):
            parts.append("\n")
    return "".join(parts)


class MarkdownExtractor:
    """Markdown → one page of blocks (see the module docstring for the mapping)."""

    name = "markdown"

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        text = decode_text(read_source(source))
        return build_pages(
            source,
            markdown_items(text),
            extractor=EXTRACTOR_NAME,
            method_reason="parsed Markdown with markdown-it-py",
        )
