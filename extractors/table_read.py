"""Ruled tables of an OCRed page: read every cell, and make one TABLE block per table.

This module owns the reading of scanned ruled tables. :func:`scan_tables`
looks for grids (:mod:`extractors.table_scan`) on the repaired page as it was
before its rules were painted out, maps them onto the page that was read, and
reads the cells through the :class:`~extractors.ocr.OcrEngine` seam: every
cell is cut out on its own, inside its rules, trimmed to its ink and put on
its own band of a white sheet (:func:`montage`), and the sheet is read in one
Tesseract call in uniform-block mode (``--psm 6``), so a table costs one OCR
pass instead of one process per cell. Each word is given back to the cell of
its band (:func:`split_words`). A cell the sheet reading left empty keeps the
words the page reading found inside it.

:func:`table_block` turns a read table into one TABLE block with its cells
(row, column, text, box in page units, confidence); the page's ordinary words
inside a table are left out of its text blocks by the caller, so no text is
read twice.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from extractors.base import Source, make_block
from extractors.table_scan import CellBox, Grid, cells_from_grid, page_grids
from pipelines.model import Block, ElementType, TableCell, Word

if TYPE_CHECKING:
    from extractors.ocr import OcrEngine, OcrWord
    from extractors.repair import RepairResult

logger = logging.getLogger(__name__)

CELL_PSM = 6
INK_LEVEL = 128
"""Grey level below which a pixel of the repaired page is ink."""
MIN_INK_PX = 12
"""A cut-out with fewer dark pixels than this is an empty cell (dust, not text)."""
MARGIN_PX = 6
"""White kept around the ink of a cut-out."""


@dataclass(frozen=True)
class Band:
    """Where a cell's cut-out was put on the sheet: its top and the shift back to the page."""

    index: int
    """Position of the cell in the table's cell list."""
    top: int
    bottom: int
    dx: int
    """Add to a sheet abscissa to get the page abscissa."""
    dy: int
    """Add to a sheet ordinate to get the page ordinate."""


@dataclass
class CellReading:
    cell: CellBox
    words: list[OcrWord]
    """Words in the pixels of the page that was read."""

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        chars = sum(len(w.text) for w in self.words)
        if not chars:
            return math.nan
        return sum(len(w.text) * w.confidence for w in self.words) / chars


@dataclass
class ScannedTable:
    grid: Grid
    """In the pixels of the page that was read."""
    cells: list[CellReading]

    def holds(self, w: OcrWord) -> bool:
        """Whether a word of the page reading lies inside the table."""
        return _in_grid(self.grid, w)


def _in_grid(grid: Grid, w: OcrWord) -> bool:
    x0, y0, x1, y1 = grid.bbox
    cx, cy = w.left + w.width / 2, w.top + w.height / 2
    return x0 <= cx <= x1 and y0 <= cy <= y1


def ink_box(gray: np.ndarray, box: CellBox) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the ink inside ``box`` plus a margin, or None for an empty cell."""
    h, w = gray.shape[:2]
    x0, y0 = max(0, box.x0), max(0, box.y0)
    x1, y1 = min(w, box.x1), min(h, box.y1)
    if x1 <= x0 or y1 <= y0:
        return None
    dark = gray[y0:y1, x0:x1] < INK_LEVEL
    if int(np.count_nonzero(dark)) < MIN_INK_PX:
        return None
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    return (
        max(x0, x0 + int(cols[0]) - MARGIN_PX),
        max(y0, y0 + int(rows[0]) - MARGIN_PX),
        min(x1, x0 + int(cols[-1]) + 1 + MARGIN_PX),
        min(y1, y0 + int(rows[-1]) + 1 + MARGIN_PX),
    )


def montage(
    gray: np.ndarray, cells: list[CellBox], gap: int
) -> tuple[np.ndarray | None, list[Band]]:
    """The ink of every non-empty cell, one under the other on white, ``gap`` pixels apart."""
    cuts: list[tuple[int, tuple[int, int, int, int]]] = []
    for i, cell in enumerate(cells):
        box = ink_box(gray, cell)
        if box is not None:
            cuts.append((i, box))
    if not cuts:
        return None, []
    width = max(x1 - x0 for _, (x0, _y0, x1, _y1) in cuts) + 2 * gap
    height = sum(y1 - y0 for _, (_x0, y0, _x1, y1) in cuts) + gap * (len(cuts) + 1)
    sheet = np.full((height, width), 255, dtype=np.uint8)
    bands: list[Band] = []
    top = gap
    for i, (x0, y0, x1, y1) in cuts:
        sheet[top : top + y1 - y0, gap : gap + x1 - x0] = gray[y0:y1, x0:x1]
        bands.append(Band(i, top, top + y1 - y0, x0 - gap, y0 - top))
        top += y1 - y0 + gap
    return sheet, bands


def split_words(words: list[OcrWord], bands: list[Band]) -> dict[int, list[OcrWord]]:
    """Words of the sheet per cell, moved back to page pixels (words between bands dropped)."""
    out: dict[int, list[OcrWord]] = {}
    for w in words:
        cy = w.top + w.height / 2
        for band in bands:
            if band.top - 1 <= cy <= band.bottom + 1:
                moved = dataclasses.replace(w, left=w.left + band.dx, top=w.top + band.dy)
                out.setdefault(band.index, []).append(moved)
                break
    return out


def _inside(w: OcrWord, cell: CellBox) -> bool:
    cx, cy = w.left + w.width / 2, w.top + w.height / 2
    return cell.x0 <= cx <= cell.x1 and cell.y0 <= cy <= cell.y1


def _mapped(grid: Grid, m: np.ndarray) -> Grid | None:
    """``grid`` through an affine map that only scales and shifts (None otherwise)."""
    if abs(m[0, 1]) > 1e-9 or abs(m[1, 0]) > 1e-9 or m[0, 0] <= 0 or m[1, 1] <= 0:
        return None
    return Grid(
        tuple(float(m[0, 0] * x + m[0, 2]) for x in grid.xs),
        tuple(float(m[1, 1] * y + m[1, 2]) for y in grid.ys),
        grid.thickness * float(m[0, 0]),
    )


def find_page_tables(repair: RepairResult) -> list[Grid]:
    """Grids of a repaired page, in the pixels of ``repair.image`` (the page that was read)."""
    from extractors.repair import to_gray

    ruled, ruled_matrix = repair.with_rules()
    grids = page_grids(to_gray(ruled))
    if not grids:
        return []
    to_read = repair.matrix @ np.linalg.inv(ruled_matrix)
    mapped = [_mapped(g, to_read) for g in grids]
    return [g for g in mapped if g is not None]


def read_table(
    gray: np.ndarray,
    grid: Grid,
    page_words: list[OcrWord],
    engine: OcrEngine,
    languages: str,
    timeout_s: float,
) -> ScannedTable:
    """Read every cell of ``grid`` on ``gray`` (the page that was read) in one OCR pass."""
    from extractors.adaptive import PsmSwitchable

    cells = cells_from_grid(grid)
    heights = [c.y1 - c.y0 for c in cells]
    gap = max(10, int(np.median(heights)) // 2) if heights else 10
    sheet, bands = montage(gray, cells, gap)
    found: dict[int, list[OcrWord]] = {}
    if sheet is not None:
        reader = engine.with_psm(CELL_PSM) if isinstance(engine, PsmSwitchable) else engine
        found = split_words(reader.recognize(sheet, languages, timeout_s), bands)
    readings = []
    for i, cell in enumerate(cells):
        words = found.get(i) or [w for w in page_words if _inside(w, cell)]
        readings.append(CellReading(cell, words))
    return ScannedTable(grid, readings)


def scan_tables(
    repair: RepairResult,
    page_words: list[OcrWord],
    engine: OcrEngine,
    languages: str,
    timeout_s: float,
) -> list[ScannedTable]:
    """The ruled tables of a page that was read, each with its cells read."""
    from extractors.repair import to_gray

    grids = find_page_tables(repair)
    if not grids:
        return []
    gray = to_gray(repair.image)
    tables = []
    for grid in grids:
        inside = [w for w in page_words if _in_grid(grid, w)]
        tables.append(read_table(gray, grid, inside, engine, languages, timeout_s))
    logger.debug("read %d ruled table(s)", len(tables))
    return tables


def table_block(
    table: ScannedTable,
    source: Source,
    page: int,
    index: int,
    repair: RepairResult,
    scale: float,
    extractor: str,
) -> Block:
    """One TABLE block: cells with text, box and confidence; rows of tab-separated text."""
    cells: list[TableCell] = []
    words: list[Word] = []
    for reading in table.cells:
        c = reading.cell
        cell_words = [
            Word(
                text=w.text,
                bbox=repair.page_box(w.left, w.top, w.left + w.width, w.top + w.height, scale),
                confidence=w.confidence,
            )
            for w in reading.words
        ]
        words.extend(cell_words)
        cells.append(
            TableCell(
                row=c.row,
                col=c.col,
                text=reading.text,
                bbox=repair.page_box(c.x0, c.y0, c.x1, c.y1, scale),
                header=c.row == 0,
                confidence=reading.confidence,
            )
        )
    grid = [[""] * table.grid.n_cols for _ in range(table.grid.n_rows)]
    for cell in cells:
        grid[cell.row][cell.col] = cell.text
    text = "\n".join("\t".join(row) for row in grid if any(row))
    block = make_block(
        source,
        page,
        index,
        text,
        extractor=extractor,
        bbox=repair.page_box(*table.grid.bbox, scale),
        type=ElementType.TABLE,
    )
    block.cells = cells
    block.words = words
    if words:
        block.confidence = sum(w.confidence for w in words) / len(words)
    return block
