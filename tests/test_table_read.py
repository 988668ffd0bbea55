"""Reading the cells of a ruled table through the OcrEngine seam (no Tesseract)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import cv2
import numpy as np

from extractors.base import Source
from extractors.ocr import OcrWord
from extractors.repair import RepairResult
from extractors.table_read import (
    ink_box,
    montage,
    read_table,
    scan_tables,
    split_words,
    table_block,
)
from extractors.table_scan import CellBox, Grid, cells_from_grid
from pipelines.model import ElementType, ImageMeasurements
from tests.test_table_scan import XS, YS, ruled_page

SRC = Source(path=Path("t.png"), kind="image", sha256="ab" * 32)


class InkEngine:
    """Finds each run of inked rows of the sheet and calls it word ``w<k>``; records calls."""

    name = "fake"

    def __init__(self) -> None:
        self.sheets: list[np.ndarray] = []

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.sheets.append(image)
        rows = [bool(v) for v in np.any(image < 128, axis=1)]
        words, y, k = [], 0, 0
        while y < len(rows):
            if not rows[y]:
                y += 1
                continue
            top = y
            while y < len(rows) and rows[y]:
                y += 1
            cols = np.flatnonzero(np.any(image[top:y] < 128, axis=0))
            left, right = int(cols[0]), int(cols[-1]) + 1
            words.append(OcrWord(f"w{k}", left, top, right - left, y - top, 0.9, 1, 1, k + 1))
            k += 1
        return words

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def cells_page() -> tuple[np.ndarray, Grid]:
    """A ruled page whose cells hold text except the last row; and its true grid."""
    page = ruled_page()
    for c in range(4):  # empty the last row
        page[YS[3] + 4 : YS[4] - 3, XS[c] + 4 : XS[c + 1] - 3] = 255
    return page, Grid(tuple(map(float, XS)), tuple(map(float, YS)), 3.0)


def test_ink_box_trims_to_the_ink_and_sees_empty_cells() -> None:
    page, grid = cells_page()
    cells = cells_from_grid(grid)
    box = ink_box(page, cells[0])
    assert box is not None
    x0, y0, x1, y1 = box
    assert cells[0].x0 <= x0 < x1 <= cells[0].x1 and cells[0].y0 <= y0 < y1 <= cells[0].y1
    assert x1 - x0 < (XS[1] - XS[0]) / 2  # trimmed to the word
    assert ink_box(page, cells[-1]) is None


def test_montage_puts_each_cell_on_its_own_band() -> None:
    page, grid = cells_page()
    cells = cells_from_grid(grid)
    sheet, bands = montage(page, cells, gap=20)
    assert sheet is not None
    assert [b.index for b in bands] == list(range(12))  # the empty last row is left out
    for a, b in itertools.pairwise(bands):
        assert b.top - a.bottom == 20
        assert int(sheet[a.bottom : b.top].min()) == 255  # white between bands
    for b in bands:  # each band is a copy of its cell's ink
        box = ink_box(page, cells[b.index])
        assert box is not None
        x0, y0, x1, y1 = box
        sx0, sy0 = x0 - b.dx, y0 - b.dy
        assert np.array_equal(sheet[sy0 : sy0 + y1 - y0, sx0 : sx0 + x1 - x0], page[y0:y1, x0:x1])


def test_split_words_gives_words_back_to_their_cells_in_page_pixels() -> None:
    page, grid = cells_page()
    cells = cells_from_grid(grid)
    sheet, bands = montage(page, cells, gap=20)
    assert sheet is not None
    words = InkEngine().recognize(sheet, "eng", 1.0)
    assert len(words) == len(bands)
    found = split_words(words, bands)
    assert sorted(found) == [b.index for b in bands]
    for i, ws in found.items():
        (w,) = ws
        cx, cy = w.left + w.width / 2, w.top + w.height / 2
        assert cells[i].x0 <= cx <= cells[i].x1 and cells[i].y0 <= cy <= cells[i].y1


def test_read_table_reads_all_cells_in_one_pass_and_falls_back_to_page_words() -> None:
    page, grid = cells_page()
    engine = InkEngine()
    # a page word inside an empty cell (the sheet has nothing there) is kept for it
    page_word = OcrWord("late", XS[1] + 30, YS[3] + 20, 40, 20, 0.5, 1, 1, 1)
    table = read_table(page, grid, [page_word], engine, "eng", 5.0)
    assert len(engine.sheets) == 1
    texts = {(r.cell.row, r.cell.col): r.text for r in table.cells}
    assert all(texts[(r, c)].startswith("w") for r in range(3) for c in range(4))
    assert texts[(3, 1)] == "late"
    assert texts[(3, 0)] == "" and math.isnan(table.cells[12].confidence)
    assert table.holds(page_word)


def test_scan_tables_finds_and_reads_the_grid_of_a_repaired_page() -> None:
    page, _ = cells_page()
    repair = RepairResult(
        image=page, measurements=ImageMeasurements(width_px=page.shape[1], height_px=page.shape[0])
    )
    tables = scan_tables(repair, [], InkEngine(), "eng", 5.0)
    assert [(t.grid.n_rows, t.grid.n_cols) for t in tables] == [(4, 4)]
    assert sum(bool(c.words) for c in tables[0].cells) == 12


def test_scan_tables_uses_the_page_before_its_rules_were_removed() -> None:
    """Rules painted out and the page enlarged 2x after: grid found on the ruled copy, mapped."""
    ruled, _ = cells_page()
    no_rules = ruled.copy()
    no_rules[ruled < 128] = 255
    read = cv2.resize(no_rules, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    m = ImageMeasurements(width_px=ruled.shape[1], height_px=ruled.shape[0])
    scale = np.array([[2.0, 0, 0.5], [0, 2.0, 0.5], [0, 0, 1]])
    repair = RepairResult(image=read, measurements=m, matrix=scale)
    assert scan_tables(repair, [], InkEngine(), "eng", 5.0) == []  # no rules left to see
    repair.ruled, repair.ruled_matrix = ruled, np.eye(3)
    (table,) = scan_tables(repair, [], InkEngine(), "eng", 5.0)
    assert all(abs(x - (2 * a + 0.5)) <= 3 for x, a in zip(table.grid.xs, XS, strict=True))


def test_table_block_has_cells_rows_and_page_boxes() -> None:
    page, grid = cells_page()
    table = read_table(page, grid, [], InkEngine(), "eng", 5.0)
    m = ImageMeasurements(width_px=page.shape[1], height_px=page.shape[0])
    repair = RepairResult(image=page, measurements=m)
    block = table_block(table, SRC, 1, 7, repair, 0.5, extractor="tesseract")
    assert block.type is ElementType.TABLE
    assert len(block.cells) == 16
    assert block.text.count("\n") == 2  # the empty row is not a text row
    assert block.text.split("\n")[0].count("\t") == 3
    assert block.bbox is not None and abs(block.bbox.x0 - XS[0] * 0.5) < 1
    first = block.cells[0]
    assert first.header and abs(first.confidence - 0.9) < 1e-9 and first.bbox is not None
    assert first.bbox.x0 > XS[0] * 0.5 and first.bbox.x1 < XS[1] * 0.5
    assert len(block.words) == 12 and abs(block.confidence - 0.9) < 1e-9


def test_cellbox_outside_the_image_is_empty() -> None:
    page, _ = cells_page()
    assert ink_box(page, CellBox(0, 0, 5000, 5000, 5100, 5100)) is None


class PageAndSheetEngine(InkEngine):
    """Reads the page as three fixed paragraphs (one inside the table), sheets by their ink."""

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        if image.shape != (1400, 1100):
            return super().recognize(image, languages, timeout_s)
        return [
            OcrWord("Above", 100, 120, 90, 30, 0.9, 1, 1, 1),
            OcrWord("Ab12", XS[0] + 12, YS[0] + 20, 60, 25, 0.9, 2, 1, 1),
            OcrWord("Below", 100, 600, 90, 30, 0.9, 3, 1, 1),
        ]


def test_ocr_page_puts_one_table_block_in_reading_order_without_its_words_twice() -> None:
    from extractors.ocr import ocr_page
    from pipelines.config import ExtractConfig

    page, _ = cells_page()
    cfg = ExtractConfig(repair_images=False)
    result = ocr_page(page, SRC, 1, cfg, scale=1.0, dpi=300.0, engine=PageAndSheetEngine())
    kinds = [(b.type, b.text.split("\n")[0].split("\t")[0]) for b in result.blocks]
    assert kinds == [
        (ElementType.PARAGRAPH, "Above"),
        (ElementType.TABLE, "w0"),
        (ElementType.PARAGRAPH, "Below"),
    ]
    assert len({b.id for b in result.blocks}) == 3

    off = ocr_page(
        page,
        SRC,
        1,
        ExtractConfig(repair_images=False, scan_tables=False),
        scale=1.0,
        dpi=300.0,
        engine=PageAndSheetEngine(),
    )
    assert [b.type for b in off.blocks] == [ElementType.PARAGRAPH] * 3
