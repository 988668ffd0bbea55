"""HTML files: structure-aware text extraction with lxml, fully offline.

This module owns the HTML parsing that both :class:`HtmlExtractor` and the
e-mail extractor (for HTML-only messages) use: :func:`html_items` turns markup
into format-neutral :class:`~extractors._native.Item` objects in document order.

Mapping: the first ``h1`` is the TITLE, later ones HEADING level 1, ``h2``-``h6``
HEADING level 2-6; ``p``/``div`` and loose text are PARAGRAPHs; ``li`` is a
LIST_ITEM (nested lists follow their parent item); ``pre`` is a PARAGRAPH with
its whitespace kept; a data ``table`` is one TABLE block (cells separated by
tabs, one row per line); ``caption``/``figcaption`` are CAPTIONs. ``nav`` and
page-level ``header``/``footer`` (not inside ``article``/``section``/...) become
one FURNITURE block each (type HEADER or FOOTER). ``<title>`` is used as the
TITLE only when the body has no ``h1``. Layout tables (``role=presentation``,
single column, or with nested tables or headings in cells) are read as ordinary
content, not as TABLE blocks.

Scripts, styles, ``noscript``, ``template``, ``head``, SVG, embedded frames and
elements marked ``hidden`` never contribute text. Whitespace is collapsed as a
browser would; ``<br>`` is a newline. The encoding comes from a BOM, else a
``<meta>`` charset, else detection (see :func:`extractors._native.decode_text`).
Nothing is ever fetched: the parser runs with ``no_network=True`` (libxml2's
HTML parser does not load DTDs or external entities).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from extractors._native import (
    Item,
    bom_encoding,
    build_pages,
    guess_encoding,
    known_codec,
    read_source,
    strip_bom,
)
from extractors.base import Source
from pipelines.config import ExtractConfig
from pipelines.errors import CorruptDocument
from pipelines.model import ElementType, Layer, Page

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "lxml"

_Element = Any
"""An ``lxml.html.HtmlElement`` (lxml ships no type information)."""

_DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "base",
        "svg",
        "canvas",
        "iframe",
        "frame",
        "object",
        "embed",
        "select",
        "datalist",
    }
)
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = frozenset({"ul", "ol", "menu", "dir"})
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_LAYOUT_MARKERS = frozenset({"table", "h1", "h2", "h3", "h4", "h5", "h6"})

_BOUNDARY = "\x1e"
"""Marks the edge of a block element while text is being collected."""
_WS = re.compile(r"[ \t\n\r\f]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DOCTYPE_SUBSET = re.compile(r"^\s*<!DOCTYPE\s[^\[>]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
"""A DOCTYPE with an internal subset: the HTML parser would show its tail as text."""
# WHATWG: these labels mean windows-1252; a BOM-less UTF-16 label means UTF-8.
_META_ALIASES = {"latin_1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252"}


def html_items(markup: str | bytes, *, use_title_tag: bool = True) -> list[Item]:
    """The blocks of an HTML document or fragment, in document order (all on page 1).

    ``markup`` may be text or undecoded bytes (encoding from BOM, ``<meta>`` or
    detection). With ``use_title_tag=False`` the ``<title>`` element is never
    used (the e-mail extractor has the Subject for that). Markup without any
    element or text gives an empty list. Raises :class:`CorruptDocument` if
    lxml cannot build a tree at all.
    """
    import lxml.etree  # type: ignore[import-untyped]
    import lxml.html  # type: ignore[import-untyped]

    text = decode_html(markup) if isinstance(markup, bytes) else markup
    text = _XML_DECL.sub("", text, count=1)
    text = _DOCTYPE_SUBSET.sub("", text, count=1)
    if not text.strip():
        return []
    parser = lxml.html.HTMLParser(
        encoding="utf-8",
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        default_doctype=False,
        collect_ids=False,
    )
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", errors="replace"), parser=parser)
    except lxml.etree.ParserError as exc:  # "Document is empty": nothing but comments etc.
        logger.debug("no HTML content: %s", exc)
        return []
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise CorruptDocument(f"cannot parse HTML: {exc}") from exc
    if any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log):
        # libxml2 stops nesting at depth 256; deeper content is lost.
        logger.warning("HTML nested deeper than the parser allows; deep content is skipped")
    body = root.find("body")
    walker = _Walker(body if body is not None else root)
    try:
        walker.walk(walker.root)
    except RecursionError as exc:
        raise CorruptDocument("HTML is nested too deeply to read") from exc
    items = walker.items
    if use_title_tag and not any(item.type is ElementType.TITLE for item in items):
        title = root.find(".//title")
        title_text = _finish([_ws(title.text_content())]) if title is not None else ""
        if title_text:
            items.insert(0, Item(ElementType.TITLE, title_text))
    return items


def decode_html(data: bytes) -> str:
    """Decode HTML bytes: BOM, then ``<meta charset>``, then detection."""
    encoding = bom_encoding(data)
    if encoding is not None:
        return strip_bom(data).decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:4096])
    if match is not None:
        declared = known_codec(match.group(1).decode("ascii", errors="replace"))
        if declared is not None:
            if declared.startswith(("utf-16", "utf-32")):
                declared = "utf-8"
            encoding = _META_ALIASES.get(declared.replace("-", "_"), declared)
            logger.debug("HTML declares charset %s", encoding)
            return data.decode(encoding, errors="replace")
    return data.decode(guess_encoding(data), errors="replace")


class _Walker:
    """Walks an lxml tree once and collects items in document order."""

    def __init__(self, root: _Element) -> None:
        self.root = root
        self.items: list[Item] = []
        self._seen_h1 = False
        # Elements that contain a block element somewhere below them: these are
        # walked as containers, the others are read as one run of inline text.
        self._has_block: set[_Element] = set()
        for el in root.iter():
            if _tag(el) in _BLOCK:
                for ancestor in el.iterancestors():
                    if ancestor in self._has_block:
                        break
                    self._has_block.add(ancestor)

    # -- emitting -------------------------------------------------------

    def _emit(
        self,
        type_: ElementType,
        text: str,
        *,
        level: int | None = None,
        layer: Layer = Layer.BODY,
    ) -> None:
        if text.strip():
            self.items.append(Item(type_, text, level=level, layer=layer))

    def _flush(self, parts: list[str]) -> None:
        self._emit(ElementType.PARAGRAPH, _finish(parts))
        parts.clear()

    # -- walking --------------------------------------------------------

    def walk(self, el: _Element) -> None:
        if _dropped(el):
            return
        tag = _tag(el)
        furniture = _furniture_type(el)
        if furniture is not None:
            self._emit(furniture, self.flat_text(el), layer=Layer.FURNITURE)
        elif tag in _HEADINGS:
            self._heading(el, _HEADINGS[tag])
        elif tag == "table":
            self._table(el)
        elif tag in ("caption", "figcaption"):
            self._emit(ElementType.CAPTION, self.flat_text(el))
        elif tag == "li":
            self._emit(ElementType.LIST_ITEM, self.flat_text(el, skip=_LISTS))
            self._walk_nested_lists(el)
        elif tag == "pre":
            self._emit(ElementType.PARAGRAPH, _pre_text(el))
        elif el not in self._has_block:
            self._emit(ElementType.PARAGRAPH, self.flat_text(el))
        else:
            self._container(el)

    def _container(self, el: _Element) -> None:
        parts: list[str] = []
        if el.text:
            parts.append(_ws(el.text))
        for child in el:
            if _dropped(child):
                pass
            elif _tag(child) in _BLOCK or child in self._has_block:
                self._flush(parts)
                self.walk(child)
            else:
                self._collect(child, parts, frozenset())
            if child.tail:
                parts.append(_ws(child.tail))
        self._flush(parts)

    def _heading(self, el: _Element, level: int) -> None:
        text = self.flat_text(el)
        if not text:
            return
        if level == 1 and not self._seen_h1:
            self._seen_h1 = True
            self._emit(ElementType.TITLE, text)
        else:
            self._emit(ElementType.HEADING, text, level=level)

    def _walk_nested_lists(self, el: _Element) -> None:
        for child in el:
            if _dropped(child):
                continue
            if _tag(child) in _LISTS:
                self.walk(child)
            else:
                self._walk_nested_lists(child)

    def _table(self, table: _Element) -> None:
        rows = [
            [cell for cell in tr if _tag(cell) in ("td", "th") and not _dropped(cell)]
            for tr in table.iter("tr")
            if _owning_table(tr) is table and not _dropped(tr)
        ]
        if _is_layout_table(table, rows):
            for child in table:
                if _tag(child) == "caption":
                    self.walk(child)
            for row in rows:
                for cell in row:
                    self.walk(cell)
            return
        for child in table:
            if _tag(child) == "caption":
                self._emit(ElementType.CAPTION, self.flat_text(child))
        lines = []
        for row in rows:
            cells = [_WS.sub(" ", self.flat_text(cell)).strip() for cell in row]
            if any(cells):
                lines.append("\t".join(cells))
        self._emit(ElementType.TABLE, "\n".join(lines))

    # -- text -----------------------------------------------------------

    def flat_text(self, el: _Element, skip: frozenset[str] = frozenset()) -> str:
        """All visible text below ``el``: block edges and ``<br>`` are newlines."""
        parts: list[str] = []
        self._collect(el, parts, skip, top=True)
        return _finish(parts)

    def _collect(
        self, el: _Element, parts: list[str], skip: frozenset[str], *, top: bool = False
    ) -> None:
        tag = _tag(el)
        if _dropped(el) or (tag in skip and not top):
            return
        if tag == "br":
            parts.append("\n")
            return
        block = tag in _BLOCK
        if block:
            parts.append(_BOUNDARY)
        if el.text:
            parts.append(_ws(el.text))
        for child in el:
            self._collect(child, parts, skip)
            if child.tail:
                parts.append(_ws(child.tail))
        if block:
            parts.append(_BOUNDARY)


def _tag(el: _Element) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def _dropped(el: _Element) -> bool:
    if not isinstance(el.tag, str):  # comments / processing instructions
        return True
    if _tag(el) in _DROP or el.get("hidden") is not None:
        return True
    style = el.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _furniture_type(el: _Element) -> ElementType | None:
    tag = _tag(el)
    role = (el.get("role") or "").strip().lower()
    if tag == "nav" or role in ("navigation", "banner"):
        return ElementType.HEADER
    if role == "contentinfo":
        return ElementType.FOOTER
    if tag in ("header", "footer"):
        # Only page-level headers/footers are furniture; an article's header
        # (often holding its h1) is content.
        if any(_tag(a) in _SECTIONING for a in el.iterancestors()):
            return None
        return ElementType.HEADER if tag == "header" else ElementType.FOOTER
    return None


def _owning_table(el: _Element) -> _Element | None:
    for ancestor in el.iterancestors():
        if _tag(ancestor) == "table":
            return ancestor
    return None


def _is_layout_table(table: _Element, rows: list[list[_Element]]) -> bool:
    role = (table.get("role") or "").strip().lower()
    if role in ("presentation", "none"):
        return True
    if rows and all(len(row) <= 1 for row in rows):
        return True
    return any(_tag(d) in _LAYOUT_MARKERS for row in rows for cell in row for d in cell.iter())


def _pre_text(el: _Element) -> str:
    """Text of a ``pre`` element with its whitespace kept (one leading newline dropped)."""
    text = "".join(_visible_text(el))
    if text.startswith("\n"):
        text = text[1:]
    return text.rstrip()


def _visible_text(el: _Element) -> list[str]:
    out: list[str] = []
    if _tag(el) == "br":
        out.append("\n")
    elif el.text:
        out.append(el.text)
    for child in el:
        if not _dropped(child):
            out.extend(_visible_text(child))
        if child.tail:
            out.append(child.tail)
    return out


def _ws(text: str) -> str:
    return _WS.sub(" ", text)


def _finish(parts: list[str]) -> str:
    text = "".join(parts)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(rf"[ \n]*{_BOUNDARY}[{_BOUNDARY} \n]*", "\n", text)
    return text.strip(" \n")


class HtmlExtractor:
    """HTML → one page of blocks (see the module docstring for the mapping)."""

    name = "html"

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        data = read_source(source)
        try:
            items = html_items(data)
        except CorruptDocument as exc:
            raise CorruptDocument(f"{source.path.name}: {exc.message}") from exc
        return build_pages(
            source, items, extractor=EXTRACTOR_NAME, method_reason="parsed HTML with lxml"
        )
