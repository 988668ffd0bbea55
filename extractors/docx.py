"""DOCX files: paragraphs, tables, headers and footers via python-docx, in body order.

This module owns the reading of Word ``.docx`` files. The body is walked in
document order (paragraphs and tables interleaved, content controls opened).
Mapping by paragraph style (following ``based on`` styles): "Title" → TITLE,
"Heading N" → HEADING level N, "Caption" → CAPTION, "List …" styles or
paragraphs with numbering → LIST_ITEM, anything else → PARAGRAPH; empty
paragraphs are skipped. A table is one TABLE block: cells separated by tabs
(a cell spanning N columns is followed by N-1 empty cells), one row per line;
a paragraph break inside a cell becomes a space. Inserted (tracked) text is
kept, deleted text is not; text boxes are not read.

Section headers and footers become FURNITURE blocks of type HEADER/FOOTER,
once per distinct text (not per page): headers first, then the body, then the
footers. DOCX has no fixed pages, so everything is on page 1.

A file that is not a valid DOCX package raises :class:`CorruptDocument`; a
password-protected one (an OLE container holding ``EncryptedPackage``) raises
:class:`EncryptedDocument`.
"""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING, Any

from extractors._native import Item, build_pages, read_source
from extractors.base import Source
from pipelines.config import ExtractConfig
from pipelines.errors import CorruptDocument, EncryptedDocument
from pipelines.model import ElementType, Layer, Page

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.styles.style import BaseStyle

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "python-docx"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_STYLE_DEPTH = 8
"""How far to follow a style's ``based on`` chain."""
_RUNS_XPATH = (
    ".//w:r[not(ancestor::w:del) and not(ancestor::w:moveFrom) and not(ancestor::w:txbxContent)]"
)


def docx_items(document: DocxDocument) -> list[Item]:
    """The blocks of an open python-docx document, in order (all on page 1)."""
    from docx.oxml.ns import qn

    headers, footers = _furniture(document)
    body: list[Item] = []
    _walk(document, document.element.body, body, qn)
    return headers + body + footers


def _walk(document: DocxDocument, container: Any, out: list[Item], qn: Any) -> None:
    """Append the items of the block-level children of ``container`` to ``out``."""
    p_tag, tbl_tag, sdt_tag = qn("w:p"), qn("w:tbl"), qn("w:sdt")
    for child in container.iterchildren():
        if child.tag == p_tag:
            item = _paragraph_item(document, child)
            if item is not None:
                out.append(item)
        elif child.tag == tbl_tag:
            text = _table_text(child, qn)
            if text.strip():
                out.append(Item(ElementType.TABLE, text))
        elif child.tag == sdt_tag:  # content control: its content is ordinary body
            for content in child.iterchildren(qn("w:sdtContent")):
                _walk(document, content, out, qn)


def _paragraph_item(document: DocxDocument, p: Any) -> Item | None:
    from docx.text.paragraph import Paragraph

    text = _paragraph_text(p)
    if not text.strip():
        return None
    paragraph = Paragraph(p, document)
    type_, level = _classify(paragraph.style, _has_numbering(p))
    return Item(type_, text.strip(), level=level)


def _paragraph_text(p: Any) -> str:
    """Visible text of a ``w:p``: runs, hyperlinks, fields and tracked insertions."""
    from docx.oxml.text.run import CT_R

    return "".join(r.text for r in p.xpath(_RUNS_XPATH) if isinstance(r, CT_R))


def _has_numbering(p: Any) -> bool:
    num_pr = p.pPr.numPr if p.pPr is not None else None
    if num_pr is None:
        return False
    num_id = num_pr.numId
    return num_id is None or num_id.val != 0  # numId 0 switches numbering off


def _classify(style: BaseStyle | None, numbered: bool) -> tuple[ElementType, int | None]:
    """Type and heading level of a paragraph from its style chain and numbering."""
    seen = 0
    current = style
    while current is not None and seen < _STYLE_DEPTH:
        name = (current.name or "").strip()
        lowered = name.lower()
        match = _HEADING_STYLE.match(name)
        if lowered == "title":
            return ElementType.TITLE, None
        if match is not None:
            return ElementType.HEADING, int(match.group(1))
        if lowered == "caption":
            return ElementType.CAPTION, None
        if lowered.startswith("list") and not lowered.startswith("list continue"):
            return ElementType.LIST_ITEM, None
        if _style_numbered(current):
            numbered = True
        current = getattr(current, "base_style", None)
        seen += 1
    return (ElementType.LIST_ITEM, None) if numbered else (ElementType.PARAGRAPH, None)


def _style_numbered(style: BaseStyle) -> bool:
    p_pr = getattr(style.element, "pPr", None)
    return p_pr is not None and p_pr.numPr is not None


def _table_text(tbl: Any, qn: Any) -> str:
    lines = []
    for tr in tbl.iterchildren(qn("w:tr")):
        cells: list[str] = []
        for tc in tr.iterchildren(qn("w:tc")):
            cells.append(_cell_text(tc, qn))
            cells.extend([""] * (max(int(tc.grid_span), 1) - 1))
        if any(cells):
            lines.append("\t".join(cells))
    return "\n".join(lines)


def _cell_text(tc: Any, qn: Any) -> str:
    parts: list[str] = []
    for child in tc.iterchildren():
        if child.tag == qn("w:p"):
            parts.append(_paragraph_text(child))
        elif child.tag == qn("w:tbl"):  # a nested table, flattened
            parts.append(_table_text(child, qn))
    return " ".join(" ".join(parts).split())


def _furniture(document: DocxDocument) -> tuple[list[Item], list[Item]]:
    """Header and footer items of all sections, each distinct text once."""
    headers: list[Item] = []
    footers: list[Item] = []
    seen: set[tuple[ElementType, str]] = set()
    odd_even = bool(document.settings.odd_and_even_pages_header_footer)
    for section in document.sections:
        parts = [
            (ElementType.HEADER, section.header),
            (ElementType.FOOTER, section.footer),
        ]
        if section.different_first_page_header_footer:
            parts += [
                (ElementType.HEADER, section.first_page_header),
                (ElementType.FOOTER, section.first_page_footer),
            ]
        if odd_even:
            parts += [
                (ElementType.HEADER, section.even_page_header),
                (ElementType.FOOTER, section.even_page_footer),
            ]
        for type_, part in parts:
            # A linked header has no definition of its own: it repeats the
            # previous section's (already read), or there is none at all.
            if part.is_linked_to_previous:
                continue
            out = headers if type_ is ElementType.HEADER else footers
            for text in _story_texts(part):
                if (type_, text) not in seen:
                    seen.add((type_, text))
                    out.append(Item(type_, text, layer=Layer.FURNITURE))
    return headers, footers


def _story_texts(part: Any) -> list[str]:
    """Non-empty texts of the paragraphs and tables of a header or footer."""
    from docx.oxml.ns import qn

    items: list[Item] = []
    _walk_story(part._element, items, qn)
    return [item.text for item in items]


def _walk_story(container: Any, out: list[Item], qn: Any) -> None:
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            text = _paragraph_text(child).strip()
            if text:
                out.append(Item(ElementType.PARAGRAPH, text))
        elif child.tag == qn("w:tbl"):
            text = _table_text(child, qn)
            if text.strip():
                out.append(Item(ElementType.TABLE, text))
        elif child.tag == qn("w:sdt"):
            for content in child.iterchildren(qn("w:sdtContent")):
                _walk_story(content, out, qn)


def open_docx(data: bytes, name: str) -> DocxDocument:
    """Open DOCX bytes with python-docx; damaged or protected files raise typed errors."""
    import docx

    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedDocument(
                f"{name} is password-protected",
                hint="Remove the password in Word (File > Info > Protect Document) and retry.",
            )
        raise CorruptDocument(
            f"{name} is an OLE compound file (legacy .doc?), not a DOCX package",
            hint="Save it as .docx (Word 2007 or later) and retry.",
        )
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zip, KeyError, lxml and its own errors
        raise CorruptDocument(
            f"{name} is not a readable DOCX file ({type(exc).__name__}: {exc})"
        ) from exc


class DocxExtractor:
    """DOCX → one page of blocks (see the module docstring for the mapping)."""

    name = "docx"

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        document = open_docx(read_source(source), source.path.name)
        try:
            items = docx_items(document)
        except (KeyError, ValueError, AttributeError) as exc:
            # A package that opens but whose parts are inconsistent.
            raise CorruptDocument(
                f"{source.path.name}: damaged DOCX content ({type(exc).__name__}: {exc})"
            ) from exc
        return build_pages(
            source, items, extractor=EXTRACTOR_NAME, method_reason="parsed DOCX with python-docx"
        )
