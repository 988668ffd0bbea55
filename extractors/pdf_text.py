"""PDF text layer → blocks, with lines, fonts and tables (PyMuPDF).

This module owns reading a born-digital page: every text block keeps its
printed lines (box, font size, bold) so the layout stages can reason about
geometry, and ruled tables found by PyMuPDF's table finder
(``page.find_tables()``) become one TABLE block each, with its cells. Text
blocks inside a table are replaced by the table block. Element types here
are only a first guess from font size; ``pipelines.stages.elements`` decides.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from extractors.base import Source, make_block
from pipelines.model import BBox, Block, ElementType, TableCell, TextLine

if TYPE_CHECKING:
    import pymupdf

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "pymupdf"
_BOLD_FLAG = 16
_MIN_TABLE_CELLS = 4


@dataclass(frozen=True)
class TextLayerLine:
    text: str
    bbox: tuple[float, float, float, float]
    size: float
    bold: bool
    chars: int = 0
    """Non-space characters of the line's spans."""
    hidden: int = 0
    """Of those, characters drawn invisibly (an OCR layer under a scan)."""


@dataclass(frozen=True)
class TextLayerBlock:
    text: str
    bbox: tuple[float, float, float, float]
    size: float
    """Largest font size in the block."""
    bold: bool
    lines: tuple[TextLayerLine, ...] = ()
    cells: tuple[TableCell, ...] = field(default=())
    """Set for a table found by the table finder; ``text`` is then tab/newline separated."""


def _is_bold(span: dict[str, Any]) -> bool:
    return bool(span.get("flags", 0) & _BOLD_FLAG) or "bold" in span.get("font", "").lower()


def _line(line: dict[str, Any]) -> TextLayerLine | None:
    spans = line.get("spans", [])
    if len(spans) == 1:
        return _one_span_line(line, spans[0])
    texts = [str(s.get("text", "")) for s in spans]
    text = "".join(texts).strip()
    if not text:
        return None
    sizes: list[float] = []
    chars = bold = hidden = 0
    for s, span_text in zip(spans, texts, strict=True):
        n = len(span_text.strip())
        if n:
            sizes.append(float(s.get("size", 0.0)))
            chars += n
            bold += n if _is_bold(s) else 0
            hidden += n if s.get("alpha", 255) == 0 else 0
    x0, y0, x1, y1 = line["bbox"]
    return TextLayerLine(
        text=text,
        bbox=(float(x0), float(y0), float(x1), float(y1)),
        size=max(sizes) if sizes else 0.0,
        bold=chars > 0 and bold / chars > 0.6,
        chars=chars,
        hidden=hidden,
    )


def _one_span_line(line: dict[str, Any], span: dict[str, Any]) -> TextLayerLine | None:
    """:func:`_line` of a line of one span (most lines): its size, boldness and
    visibility are the span's. MuPDF's dict gives str, float and float-tuple values
    already, so they are taken as they are."""
    text = span.get("text", "").strip()
    if not text:
        return None
    n = len(text)
    return TextLayerLine(
        text,
        line["bbox"],
        span.get("size", 0.0),
        _is_bold(span),
        n,
        n if span.get("alpha", 255) == 0 else 0,
    )


Box = tuple[float, float, float, float]


def read_text_layer(page: pymupdf.Page) -> list[TextLayerBlock]:
    """Text blocks of a page's text layer, with their lines and dominant font."""
    return _layer(page.get_text("dict", sort=True))


@dataclass(frozen=True)
class PageRead:
    """What one text extraction of a page gives: its text layer, the boxes of its
    images and whether it draws any vector paths (lines, rectangles, curves)."""

    layer: list[TextLayerBlock]
    images: list[Box]
    vectors: bool
    """False: the page has no vector paths, so no ruled table (see :func:`find_tables`)."""


def _images_and_vectors(tp: pymupdf.TextPage) -> tuple[list[Box], bool]:
    """Boxes of the image blocks of ``tp`` (as ``extractIMGINFO``), and whether it holds
    vector blocks; walked on MuPDF's own block list (a fifth of ``extractIMGINFO``'s cost)."""
    import pymupdf

    image, vector = pymupdf.mupdf.FZ_STEXT_BLOCK_IMAGE, pymupdf.mupdf.FZ_STEXT_BLOCK_VECTOR
    boxes: list[Box] = []
    vectors = False
    block = tp.this.m_internal.first_block
    while block is not None:
        if block.type == image:
            r = block.bbox
            boxes.append((float(r.x0), float(r.y0), float(r.x1), float(r.y1)))
        elif block.type == vector:
            vectors = True
        block = block.next
    return boxes, vectors


def read_text_and_images(page: pymupdf.Page) -> PageRead:
    """The text layer (as :func:`read_text_layer`), the boxes of the page's images (as
    ``page.get_image_info()``) and whether it has vector paths, from one text extraction
    of a page without images or vector paths.

    The first extraction also collects the page's vector paths: a page without any
    needs no look at its drawings for ruled tables. Vector paths split the text into
    other blocks, though, so a page with some is extracted again without them for its
    text, as is a page with images: the dict of a text page that keeps images carries
    each image's pixels, re-encoded as PNG unless it is a JPEG (a 300 dpi scan: a
    third of a second or more per page).
    """
    import pymupdf

    tp = page.get_textpage(flags=pymupdf.TEXTFLAGS_DICT | pymupdf.TEXT_COLLECT_VECTORS)
    boxes, vectors = _images_and_vectors(tp)
    if boxes:
        tp = page.get_textpage(flags=pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES)
    elif vectors:
        tp = page.get_textpage(flags=pymupdf.TEXTFLAGS_DICT)
    layer = _layer(tp.extractDICT(sort=True))  # (its cb= only sets the unused page size)
    return PageRead(layer, boxes, vectors)


def _layer(data: dict[str, Any]) -> list[TextLayerBlock]:
    out: list[TextLayerBlock] = []
    for blk in data.get("blocks", []):
        if blk.get("type") != 0:
            continue
        lines = [ln for ln in map(_line, blk.get("lines", [])) if ln is not None]
        if not lines:
            continue
        if len(lines) == 1:  # a block of one line is the line (a line's text is never empty)
            ln = lines[0]
            out.append(TextLayerBlock(ln.text, blk["bbox"], ln.size, ln.bold, (ln,)))
            continue
        x0, y0, x1, y1 = blk["bbox"]
        box = (float(x0), float(y0), float(x1), float(y1))
        chars = sum(len(ln.text) for ln in lines)
        bold_chars = sum(len(ln.text) for ln in lines if ln.bold)
        out.append(
            TextLayerBlock(
                text="\n".join(ln.text for ln in lines),
                bbox=box,
                size=max(ln.size for ln in lines),
                bold=chars > 0 and bold_chars / chars > 0.6,
                lines=tuple(lines),
            )
        )
    return out


def _inside(inner: tuple[float, float, float, float], outer: tuple[float, ...]) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] - 1 <= cx <= outer[2] + 1 and outer[1] - 1 <= cy <= outer[3] + 1


def _table_block(table: Any) -> TextLayerBlock | None:
    """One table of the finder as a block with cells (None when it is not a real table)."""
    rows: list[list[str | None]] = table.extract()
    cells: list[TableCell] = []
    boxes = [row.cells for row in table.rows]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue  # covered by a spanning cell
            box = boxes[r][c] if r < len(boxes) and c < len(boxes[r]) else None
            text = " ".join(str(value).split())
            cells.append(
                TableCell(
                    row=r,
                    col=c,
                    text=text,
                    bbox=BBox(x0=box[0], y0=box[1], x1=box[2], y1=box[3]) if box else None,
                    header=r == 0,
                )
            )
    if len(cells) < _MIN_TABLE_CELLS or table.col_count < 2:
        return None
    text = "\n".join(
        "\t".join(" ".join(str(v or "").split()) for v in row) for row in rows if any(row)
    )
    x0, y0, x1, y1 = table.bbox
    return TextLayerBlock(
        text=text,
        bbox=(float(x0), float(y0), float(x1), float(y1)),
        size=0.0,
        bold=False,
        cells=tuple(cells),
    )


MIN_RULING_ITEMS = 4
"""Vector lines/rectangles a page needs before the table finder is worth running."""


def _may_have_ruled_table(page: pymupdf.Page) -> bool:
    """Cheap pre-check: enough stroked/filled line or rectangle items for a ruled grid."""
    try:
        drawings = page.get_cdrawings()
    except (RuntimeError, ValueError):
        return True  # cannot tell: let the finder decide
    items = 0
    for path in drawings:
        stroked = "s" in str(path.get("type", ""))
        for item in path.get("items", ()):
            if not item or item[0] not in ("l", "re", "qu"):
                continue
            thin = item[0] == "re" and min(item[1][2] - item[1][0], item[1][3] - item[1][1]) < 2
            if stroked or thin:  # filled blocks (bar charts, shading) are not ruling
                items += 1
                if items >= MIN_RULING_ITEMS:
                    return True
    return False


def find_tables(page: pymupdf.Page, vectors: bool = True) -> list[TextLayerBlock]:
    """Ruled tables of a page via PyMuPDF's table finder; [] when there are none
    (``vectors`` False: the page is known to draw no vector paths, hence no ruling)."""
    import pymupdf

    if not vectors or not _may_have_ruled_table(page):
        return []  # the finder's "lines" strategy needs ruling; it costs ~0.3 s a page
    quiet = getattr(pymupdf, "no_recommend_layout", None)
    if quiet is not None:
        quiet()  # else the finder prints an advertisement on stdout
    try:
        found = page.find_tables()
    except (RuntimeError, ValueError, AttributeError):  # damaged drawings: no tables
        logger.debug("table finder failed on page %d", page.number, exc_info=True)
        return []
    out = [t for t in (_table_block(tab) for tab in found.tables) if t is not None]
    return out


def with_tables(layer: list[TextLayerBlock], tables: list[TextLayerBlock]) -> list[TextLayerBlock]:
    """Text blocks with those inside a table replaced by the table, in page order."""
    if not tables:
        return layer
    out: list[TextLayerBlock] = []
    placed: set[int] = set()
    for b in layer:
        hit = next((i for i, t in enumerate(tables) if _inside(b.bbox, t.bbox)), None)
        if hit is None:
            out.append(b)
        elif hit not in placed:
            placed.add(hit)
            out.append(tables[hit])
    for i, t in enumerate(tables):
        if i not in placed:
            out.append(t)
    return out


def _classify(blocks: list[TextLayerBlock]) -> list[tuple[ElementType, int | None]]:
    """First guess at headings from font size relative to the page's body size."""
    sized = [b.size for b in blocks if not b.cells for _ in range(max(1, len(b.text) // 20))]
    body = statistics.median(sized) if sized else 0.0
    out: list[tuple[ElementType, int | None]] = []
    for b in blocks:
        short = len(b.text) < 120 and b.text.count("\n") <= 1
        if b.cells:
            out.append((ElementType.TABLE, None))
        elif body and b.size >= body * 1.6 and short:
            out.append((ElementType.HEADING, 1))
        elif body and b.size >= body * 1.15 and short:
            out.append((ElementType.HEADING, 2))
        elif b.bold and short and not b.text.rstrip().endswith((".", ",", ";")):
            out.append((ElementType.HEADING, 3))
        else:
            out.append((ElementType.PARAGRAPH, None))
    return out


def _box(b: tuple[float, float, float, float]) -> BBox:
    return BBox(x0=b[0], y0=b[1], x1=b[2], y1=b[3])


def text_layer_blocks(source: Source, number: int, layer: list[TextLayerBlock]) -> list[Block]:
    """Model blocks of one page's text layer (lines, font, cells kept)."""
    kinds = _classify(layer)
    blocks: list[Block] = []
    for i, (b, (kind, level)) in enumerate(zip(layer, kinds, strict=True)):
        box = _box(b.bbox)
        blocks.append(
            make_block(
                source,
                number,
                i,
                b.text,
                extractor=EXTRACTOR_NAME,
                bbox=box,
                type=kind,
                level=level,
                lines=[
                    TextLine(
                        text=ln.text,
                        # a block of one line has the line's box: one (unchanging) BBox
                        bbox=box if ln.bbox == b.bbox else _box(ln.bbox),
                        font_size=ln.size,
                        bold=ln.bold,
                    )
                    for ln in b.lines
                ],
                font_size=b.size if b.size else math.nan,
                bold=b.bold,
                cells=list(b.cells),
            )
        )
    return blocks


def read_page(page: pymupdf.Page) -> list[TextLayerBlock]:
    """The text layer of a page with its ruled tables as table blocks."""
    layer = read_text_layer(page)
    if not layer:
        return layer
    return with_tables(layer, find_tables(page))
