"""Ruled table grids on synthetic page images (extractors.table_scan), no OCR."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from extractors.table_scan import Grid, cells_from_grid, find_grid, find_grids, page_grids

XS = [100, 420, 560, 760, 1000]
YS = [200, 260, 320, 380, 440]


def ruled_page(
    xs: list[int] = XS,
    ys: list[int] = YS,
    *,
    size: tuple[int, int] = (1400, 1100),
    thickness: int = 3,
    gaps: bool = False,
) -> np.ndarray:
    """A white greyscale page with a ruled grid and a few 'words' in its cells."""
    page = np.full(size, 255, np.uint8)
    for y in ys:
        cv2.line(page, (xs[0], y), (xs[-1], y), 0, thickness)
    for x in xs:
        cv2.line(page, (x, ys[0]), (x, ys[-1]), 0, thickness)
    for r in range(len(ys) - 1):
        for c in range(len(xs) - 1):
            cv2.putText(page, "Ab12", (xs[c] + 12, ys[r + 1] - 18), 0, 0.9, 0, 2)
    if gaps:  # a poor scan: every rule broken every 90 px
        for y in ys:
            for x in range(xs[0] + 45, xs[-1], 90):
                page[y - 3 : y + 4, x : x + 5] = 255
        for x in xs:
            for y in range(ys[0] + 45, ys[-1], 90):
                page[y : y + 5, x - 3 : x + 4] = 255
    return page


def binary(gray: np.ndarray) -> np.ndarray:
    return (gray < 128).astype(np.uint8) * 255


def close(found: tuple[float, ...], expected: list[int], tol: float) -> bool:
    return len(found) == len(expected) and all(
        abs(a - b) <= tol for a, b in zip(found, expected, strict=True)
    )


def test_find_grid_recovers_rows_and_columns() -> None:
    grid = find_grid(binary(ruled_page()))
    assert grid is not None
    assert (grid.n_rows, grid.n_cols) == (4, 4)
    assert close(grid.xs, XS, 1.5) and close(grid.ys, YS, 1.5)
    assert 2.0 <= grid.thickness <= 5.0


def test_broken_rules_still_make_the_grid() -> None:
    grid = find_grid(binary(ruled_page(gaps=True)))
    assert grid is not None
    assert close(grid.xs, XS, 2) and close(grid.ys, YS, 2)


@pytest.mark.parametrize("angle", [-0.8, 0.6])
def test_small_skew_is_tolerated(angle: float) -> None:
    page = ruled_page()
    h, w = page.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turned = cv2.warpAffine(page, m, (w, h), borderValue=255)
    grid = find_grid(binary(turned))
    assert grid is not None
    assert (grid.n_rows, grid.n_cols) == (4, 4)
    # each rule is found where the middle of the drawn rule went
    mid_x, mid_y = (XS[0] + XS[-1]) / 2, (YS[0] + YS[-1]) / 2
    rows = [float((m @ np.array([mid_x, y, 1.0]))[1]) for y in YS]
    cols = [float((m @ np.array([x, mid_y, 1.0]))[0]) for x in XS]
    assert all(abs(a - b) <= 2.5 for a, b in zip(grid.ys, rows, strict=True))
    assert all(abs(a - b) <= 2.5 for a, b in zip(grid.xs, cols, strict=True))


def test_page_without_a_grid() -> None:
    page = np.full((1400, 1100), 255, np.uint8)
    cv2.line(page, (80, 100), (1020, 100), 0, 3)  # a header rule
    for row in range(10):
        cv2.putText(page, "Some words of text here", (100, 200 + 60 * row), 0, 1.2, 0, 2)
    assert find_grid(binary(page)) is None


def test_filled_bars_are_not_a_table() -> None:
    """A framed bar chart: its frame is one cell, its bars are fills, not rules."""
    page = np.full((1400, 1100), 255, np.uint8)
    cv2.rectangle(page, (100, 300), (1000, 800), 0, 3)
    for i, top in enumerate([400, 520, 350, 600, 450]):
        x = 150 + 160 * i
        cv2.rectangle(page, (x, top), (x + 110, 780), 0, -1)
    assert find_grids(binary(page)) == []


def test_one_column_box_is_not_a_table() -> None:
    page = np.full((1400, 1100), 255, np.uint8)
    for y in (200, 300, 400, 500):
        cv2.line(page, (100, y), (900, y), 0, 3)
    for x in (100, 900):
        cv2.line(page, (x, 200), (x, 500), 0, 3)
    assert find_grid(binary(page)) is None


def test_two_tables_are_found_top_to_bottom() -> None:
    page = ruled_page(size=(2000, 1100))
    lower = ruled_page([150, 500, 900], [1300, 1380, 1460, 1540], size=(2000, 1100))
    both = np.minimum(page, lower)
    grids = find_grids(binary(both))
    assert [(g.n_rows, g.n_cols) for g in grids] == [(4, 4), (3, 2)]


def test_cells_stay_inside_their_rules() -> None:
    page = ruled_page()
    grid = find_grid(binary(page))
    assert grid is not None
    cells = cells_from_grid(grid)
    assert [(c.row, c.col) for c in cells] == [(r, c) for r in range(4) for c in range(4)]
    empty = np.full_like(page, 255)
    for y in YS:
        cv2.line(empty, (XS[0], y), (XS[-1], y), 0, 3)
    for x in XS:
        cv2.line(empty, (x, YS[0]), (x, YS[-1]), 0, 3)
    for c in cells:
        assert XS[c.col] < c.x0 < c.x1 < XS[c.col + 1]
        assert YS[c.row] < c.y0 < c.y1 < YS[c.row + 1]
        assert int(empty[c.y0 : c.y1, c.x0 : c.x1].min()) == 255  # no rule in the cut-out


def test_cells_inset_is_bounded_for_tiny_cells() -> None:
    grid = Grid(xs=(0.0, 10.0, 20.0), ys=(0.0, 10.0, 20.0), thickness=9.0)
    for c in cells_from_grid(grid):
        assert c.x1 > c.x0 and c.y1 > c.y0


def test_page_grids_works_on_a_reduced_copy_in_full_page_pixels() -> None:
    """A 300-dpi letter page: found on a reduced copy, reported in the page's own pixels."""
    xs, ys = [250, 1290, 1540, 1915, 2300], [1083, 1166, 1250, 1333, 1416, 1500]
    page = ruled_page(xs, ys, size=(3300, 2550))
    grids = page_grids(page)
    assert len(grids) == 1
    assert close(grids[0].xs, xs, 2.5) and close(grids[0].ys, ys, 2.5)


def test_graph_paper_is_not_a_table() -> None:
    step = 30
    xs, ys = list(range(60, 1060, step)), list(range(60, 1360, step))
    assert (len(xs) - 1) * (len(ys) - 1) > 500
    assert find_grids(binary(ruled_page(xs, ys, thickness=1))) == []
