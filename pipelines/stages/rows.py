"""Rows of OCR pages that Tesseract read as columns: labels and values put back on one line.

This module owns one repair of OCR layout. On a receipt, an invoice's totals
or a form, Tesseract's page segmentation often cuts a row of short cells
("SUB-TOTAL ... 536.79") into separate column blocks: every label, then every
value. The text is right, its order is not, and a chunk then pairs no label
with its value. Blocks whose lines sit on the same baselines as the lines of
blocks beside them, row after row, are joined into one block read row by row.

Columns of running text are left alone: their side-by-side lines are both
long (a row whose cells are two long lines is a column row, not a table row),
and a lone pair of lines at one height (two headings) is not a row layout.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from dataclasses import dataclass

from pipelines.config import LayoutConfig
from pipelines.model import (
    BBox,
    Block,
    Document,
    ElementType,
    ExtractionMethod,
    Layer,
    Page,
    TextLine,
    Word,
)
from pipelines.stages.layout import Frame, page_frame

logger = logging.getLogger(__name__)

LONG_LINE = 0.4
"""A line this share of the page's text width or wider is running text (a column's line);
a block of two lines or more holding one is a paragraph, never a row of cells."""
MIN_ROWS = 2
"""Side-by-side rows a group of blocks needs before it is read row by row."""
BOUND_SHARE = 0.6
"""Share of a block's lines that must sit in side-by-side rows for the block to join."""


@dataclass
class _Line:
    block: int
    index: int
    box: BBox  # upright, points

    @property
    def middle(self) -> float:
        return (self.box.y0 + self.box.y1) / 2


def _rows(lines: list[_Line]) -> list[list[_Line]]:
    """Lines grouped by height: a line joins a row when its middle lies in the row's first line."""
    rows: list[list[_Line]] = []
    for ln in sorted(lines, key=lambda item: item.middle):
        if rows and rows[-1][0].box.y0 <= ln.middle <= rows[-1][0].box.y1:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return rows


def _side_by_side(row: list[_Line], width: float) -> bool:
    """Whether ``row`` holds lines of two blocks or more, apart, not two long column lines."""
    if len({ln.block for ln in row}) < 2:
        return False
    ordered = sorted(row, key=lambda ln: ln.box.x0)
    if any(b.box.x0 < a.box.x1 for a, b in itertools.pairwise(ordered)):
        return False  # overlapping lines: not cells of one row
    return sum(ln.box.x1 - ln.box.x0 >= LONG_LINE * width for ln in row) < 2


def _groups(blocks: list[Block], frame: Frame) -> list[list[int]]:
    """Indices of blocks to be read together row by row, each group in page order."""
    lines: list[_Line] = []
    for i, b in enumerate(blocks):
        if b.layer is not Layer.BODY or b.type is ElementType.TABLE or not b.lines:
            continue
        if any(ln.bbox is None for ln in b.lines):
            continue
        lines.extend(_Line(i, k, frame.box(ln.bbox)) for k, ln in enumerate(b.lines) if ln.bbox)
    if len(lines) < 2 * MIN_ROWS:
        return []
    width = max(ln.box.x1 for ln in lines) - min(ln.box.x0 for ln in lines)
    longest: dict[int, float] = {}
    for ln in lines:
        longest[ln.block] = max(longest.get(ln.block, 0.0), ln.box.x1 - ln.box.x0)
    prose = {i for i, w in longest.items() if len(blocks[i].lines) > 1 and w >= LONG_LINE * width}
    runs: list[list[list[_Line]]] = [[]]  # runs of consecutive side-by-side rows
    for row in _rows(lines):
        if _side_by_side(row, width):
            runs[-1].append(row)
        elif runs[-1]:
            runs.append([])
    rows = [row for run in runs for row in run]
    in_rows: dict[int, int] = {}
    for row in rows:
        for ln in row:
            in_rows[ln.block] = in_rows.get(ln.block, 0) + 1
    bound = {
        i for i, n in in_rows.items() if n >= BOUND_SHARE * len(blocks[i].lines) and i not in prose
    }
    parent = {i: i for i in bound}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shared: dict[int, int] = {}
    for run in runs:  # the cells of a run of rows are read together, labels with values
        members = sorted({ln.block for row in run for ln in row} & bound)
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    for row in rows:  # rows where two cells of one group stand side by side
        roots = [find(b) for b in {ln.block for ln in row} & bound]
        for root in set(roots):
            if roots.count(root) >= 2:
                shared[root] = shared.get(root, 0) + 1
    groups: dict[int, list[int]] = {}
    for i in sorted(bound):
        groups.setdefault(find(i), []).append(i)
    return [g for root, g in groups.items() if len(g) >= 2 and shared.get(root, 0) >= MIN_ROWS]


def _words_of(block: Block, line: TextLine) -> list[Word]:
    """The words of ``block`` whose middles lie in ``line``'s box, left to right."""
    box = line.bbox
    if box is None:
        return []
    inside = [
        w
        for w in block.words
        if box.x0 <= (w.bbox.x0 + w.bbox.x1) / 2 <= box.x1
        and box.y0 <= (w.bbox.y0 + w.bbox.y1) / 2 <= box.y1
    ]
    return sorted(inside, key=lambda w: w.bbox.x0)


def _joined(blocks: list[Block], group: list[int], frame: Frame) -> Block:
    """One block reading the lines of ``group`` row by row, left to right in each row."""
    lines = [
        _Line(i, k, frame.box(ln.bbox))
        for i in group
        for k, ln in enumerate(blocks[i].lines)
        if ln.bbox is not None
    ]
    out_lines: list[TextLine] = []
    words: list[Word] = []
    for row in _rows(lines):
        cells = sorted(row, key=lambda ln: ln.box.x0)
        parts = [blocks[c.block].lines[c.index] for c in cells]
        for c, part in zip(cells, parts, strict=True):
            words.extend(_words_of(blocks[c.block], part))
        out_lines.append(
            TextLine(
                text=" ".join(p.text for p in parts),
                bbox=functools.reduce(BBox.union, [p.bbox for p in parts if p.bbox is not None]),
                font_size=parts[0].font_size,
                em=parts[0].em,
            )
        )
    first = blocks[group[0]]
    confs = [w.confidence for w in words if not math.isnan(w.confidence)]
    return first.model_copy(
        update={
            "bbox": functools.reduce(
                BBox.union, [b for i in group if (b := blocks[i].bbox) is not None]
            ),
            "text": "\n".join(ln.text for ln in out_lines),
            "type": ElementType.PARAGRAPH,
            "level": None,
            "words": words,
            "lines": out_lines,
            "confidence": sum(confs) / len(confs) if confs else first.confidence,
            "bold": False,
        }
    )


def join_rows_page(page: Page) -> Page:
    """A copy of an OCR ``page`` with its label/value columns read row by row."""
    if page.method is not ExtractionMethod.OCR or len(page.blocks) < 2:
        return page
    frame = page_frame(page)
    if frame.rotation:
        return page  # the line boxes of a page read turned are not reliable enough
    groups = _groups(page.blocks, frame)
    if not groups:
        return page
    blocks = list(page.blocks)
    for group in groups:
        joined = _joined(page.blocks, group, frame)
        members = {id(page.blocks[i]) for i in group}
        blocks = [b for b in blocks if id(b) not in members]
        blocks.insert(_place(blocks, joined, frame), joined)
        logger.debug("page %d: %d blocks read row by row", page.number, len(group))
    return page.model_copy(update={"blocks": blocks})


def _place(blocks: list[Block], joined: Block, frame: Frame) -> int:
    """Where ``joined`` goes in Tesseract's order: before the first block under its top
    that shares its width (the next thing in its column), else last."""
    if joined.bbox is None:
        return len(blocks)
    box = frame.box(joined.bbox)
    for k, b in enumerate(blocks):
        if b.bbox is None:
            continue
        other = frame.box(b.bbox)
        if other.y0 >= box.y0 and other.x0 < box.x1 and box.x0 < other.x1:
            return k
    return len(blocks)


def join_rows(doc: Document, cfg: LayoutConfig) -> Document:
    """A copy of ``doc`` whose OCR pages read label/value columns row by row."""
    if not cfg.join_rows:
        return doc
    return doc.model_copy(update={"pages": [join_rows_page(p) for p in doc.pages]})
