"""Ruled table grids on page images: find the rules, derive rows, columns and cells.

This module owns the geometry of ruled tables on scanned pages, as pure
functions over NumPy arrays (no OCR, no model objects):

* :func:`ruling_masks` keeps the long thin horizontal and vertical ink runs of
  a binarised page (a morphological opening with long line-shaped kernels,
  after closing small breaks);
* :func:`find_grids` groups them into tables: rules that meet form a
  connected frame; within a frame, rule pieces at the same height (or
  abscissa) are one rule when together they cover most of the frame, so a
  broken or slightly skewed rule still counts; a frame with at least two
  columns and four cells is a table;
* :func:`cells_from_grid` gives each cell's box, shrunk by the ruling
  thickness and a margin so that no rule touches the glyphs cut out for OCR.

Filled areas (bar charts, shaded headers) are not rules: a rule piece must be
thin (ink area over length). Reading the cells is :mod:`extractors.table_read`.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

MIN_RULE_SHARE = 1 / 40
"""Rules are at least this share of the page's shorter side long (about 1.5 cm)."""
MIN_RULE_PX = 20
MAX_THICKNESS_SHARE = 1 / 150
"""A rule is at most this share of the page's shorter side thick (fills are not rules)."""
COVERAGE = 0.5
"""Pieces of one rule must together cover this share of the table's width (or height)."""
MIN_COLS = 2
MIN_CELLS = 4
MAX_CELLS = 500
"""More cells than this is graph paper or a form grid, not a table to read cell by cell."""
MIN_CELL_PX = 8
REDUCED_SIDE = 800
"""Pages are searched for rules on a copy whose shorter side is reduced to about this."""


@dataclass(frozen=True)
class Grid:
    """One ruled table: the positions of its rules in image pixels."""

    xs: tuple[float, ...]
    """Abscissae of the vertical rules, left to right (column boundaries)."""
    ys: tuple[float, ...]
    """Ordinates of the horizontal rules, top to bottom (row boundaries)."""
    thickness: float
    """Median ruling thickness, pixels."""

    @property
    def n_rows(self) -> int:
        return len(self.ys) - 1

    @property
    def n_cols(self) -> int:
        return len(self.xs) - 1

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return self.xs[0], self.ys[0], self.xs[-1], self.ys[-1]


@dataclass(frozen=True)
class CellBox:
    """The inside of one cell (0-based row and column), rules excluded, image pixels."""

    row: int
    col: int
    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class _Piece:
    """One connected piece of a rule: where it lies across, and its extent along."""

    at: float
    start: int
    end: int
    thickness: float


def rule_length(shape: tuple[int, ...]) -> int:
    """Shortest run of ink that counts as a rule on a page of this shape."""
    return max(MIN_RULE_PX, round(min(shape[:2]) * MIN_RULE_SHARE))


def ruling_masks(binary: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) uint8 masks of ink runs at least ``min_length`` long.

    ``binary`` is non-zero where there is ink. Breaks of a few pixels are
    closed first, so a rule broken by a poor scan survives the opening.
    """
    import cv2

    ink = (binary > 0).astype(np.uint8) * 255
    gap = max(3, min_length // 12)
    horiz = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8))
    horiz = cv2.morphologyEx(horiz, cv2.MORPH_OPEN, np.ones((1, min_length), np.uint8))
    vert = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8))
    vert = cv2.morphologyEx(vert, cv2.MORPH_OPEN, np.ones((min_length, 1), np.uint8))
    return horiz, vert


def _boxes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the connected parts of a sparse mask."""
    import cv2

    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [tuple(int(v) for v in cv2.boundingRect(c)) for c in contours]  # type: ignore[misc]


def _pieces(mask: np.ndarray, horizontal: bool, max_thickness: float) -> list[_Piece]:
    """Thin connected pieces of a rule mask (thick blobs, i.e. fills, are dropped)."""
    out: list[_Piece] = []
    for x, y, w, h in _boxes(mask):
        length = w if horizontal else h
        area = int(np.count_nonzero(mask[y : y + h, x : x + w]))
        thickness = area / max(1, length)
        if thickness > max_thickness:
            continue
        at = y + (h - 1) / 2 if horizontal else x + (w - 1) / 2
        start, end = (x, x + w) if horizontal else (y, y + h)
        out.append(_Piece(at, start, end, thickness))
    return out


def _covered(spans: list[tuple[int, int]], lo: int, hi: int) -> int:
    """Pixels of [lo, hi) covered by the union of ``spans``."""
    total, reach = 0, lo
    for a, b in sorted(spans):
        a, b = max(a, reach), min(b, hi)
        if b > a:
            total += b - a
            reach = b
    return total


def _rules(pieces: list[_Piece], lo: int, hi: int, tolerance: float) -> list[tuple[float, float]]:
    """(position, thickness) of the rules crossing [lo, hi): pieces at one position merged."""
    inside = sorted((p for p in pieces if p.end > lo and p.start < hi), key=lambda p: p.at)
    groups: list[list[_Piece]] = []
    for p in inside:
        if groups and p.at - groups[-1][-1].at <= tolerance:
            groups[-1].append(p)
        else:
            groups.append([p])
    out: list[tuple[float, float]] = []
    for g in groups:
        if _covered([(p.start, p.end) for p in g], lo, hi) < COVERAGE * (hi - lo):
            continue
        weight = sum(p.end - p.start for p in g)
        at = sum(p.at * (p.end - p.start) for p in g) / weight
        out.append((at, statistics.median(p.thickness for p in g)))
    return out


def _frames(horiz: np.ndarray, vert: np.ndarray, join: int) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of sets of rules that meet (or come within ``join`` pixels)."""
    import cv2

    k = max(3, join) | 1
    both = cv2.dilate(cv2.bitwise_or(horiz, vert), np.ones((k, k), np.uint8))
    return [(x, y, x + w, y + h) for x, y, w, h in _boxes(both)]


def find_grids(binary: np.ndarray, min_length: int | None = None) -> list[Grid]:
    """Every ruled table of a binarised page (ink non-zero), top to bottom."""
    min_length = min_length or rule_length(binary.shape)
    horiz, vert = ruling_masks(binary, min_length)
    if not horiz.any() or not vert.any():
        return []
    max_thickness = max(4.0, min(binary.shape[:2]) * MAX_THICKNESS_SHARE)
    h_pieces = _pieces(horiz, True, max_thickness)
    v_pieces = _pieces(vert, False, max_thickness)
    grids: list[Grid] = []
    for x0, y0, x1, y1 in _frames(horiz, vert, min_length // 2):
        if x1 - x0 < min_length or y1 - y0 < min_length:
            continue  # a lone rule, or a stroke of large type
        tol = max(3.0, 1.5 * max_thickness)
        band_h = [p for p in h_pieces if y0 <= p.at <= y1]
        band_v = [p for p in v_pieces if x0 <= p.at <= x1]
        rows = _rules(band_h, x0, x1, tol)
        cols = _rules(band_v, y0, y1, tol)
        ys = _distinct([r[0] for r in rows])
        xs = _distinct([c[0] for c in cols])
        n_cells = (len(xs) - 1) * (len(ys) - 1)
        if len(xs) - 1 < MIN_COLS or len(ys) < 2 or not MIN_CELLS <= n_cells <= MAX_CELLS:
            continue  # not a table: a box, a single column, or graph paper
        thick = [t for _, t in rows + cols]
        grids.append(Grid(tuple(xs), tuple(ys), statistics.median(thick)))
    grids.sort(key=lambda g: (g.ys[0], g.xs[0]))
    logger.debug("found %d ruled table grid(s)", len(grids))
    return grids


def _distinct(positions: list[float]) -> list[float]:
    """Sorted positions with those closer than a minimal cell merged."""
    out: list[float] = []
    for p in sorted(positions):
        if out and p - out[-1] < MIN_CELL_PX:
            continue
        out.append(p)
    return out


def find_grid(binary: np.ndarray, min_length: int | None = None) -> Grid | None:
    """The largest ruled table of a binarised page, or None."""
    grids = find_grids(binary, min_length)
    if not grids:
        return None
    return max(grids, key=lambda g: (g.bbox[2] - g.bbox[0]) * (g.bbox[3] - g.bbox[1]))


def scaled(grid: Grid, factor: float) -> Grid:
    """``grid`` found on a copy reduced by ``factor``, in the pixels of the full page."""
    if factor == 1.0:
        return grid
    # cv2.resize maps pixel centres: x + 0.5 = (x_small + 0.5) * factor
    return Grid(
        tuple((x + 0.5) * factor - 0.5 for x in grid.xs),
        tuple((y + 0.5) * factor - 0.5 for y in grid.ys),
        grid.thickness * factor,
    )


def page_grids(gray: np.ndarray) -> list[Grid]:
    """The ruled tables of an 8-bit greyscale page, in its own pixels.

    Rules are looked for on a copy reduced to about 850 pixels across (area
    averaging keeps a thin rule as a darker line), binarised by Otsu's
    threshold: a 300-dpi page costs a few milliseconds.
    """
    import cv2

    h, w = gray.shape[:2]
    factor = max(1, min(h, w) // REDUCED_SIDE)
    small = gray
    if factor > 1:
        small = cv2.resize(gray, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    _, binary = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return [scaled(g, float(factor)) for g in find_grids(binary)]


def cells_from_grid(grid: Grid, inset: float | None = None) -> list[CellBox]:
    """The inside of every cell, row by row, shrunk by ``inset`` pixels on each side.

    By default the inset is the ruling thickness plus two pixels, so the cut-out
    holds no part of a rule (small skew included).
    """
    pad = grid.thickness + 2.0 if inset is None else inset
    cells: list[CellBox] = []
    for r in range(grid.n_rows):
        for c in range(grid.n_cols):
            x0, x1 = grid.xs[c], grid.xs[c + 1]
            y0, y1 = grid.ys[r], grid.ys[r + 1]
            dx = min(pad, (x1 - x0) / 4)
            dy = min(pad, (y1 - y0) / 4)
            cells.append(
                CellBox(
                    row=r,
                    col=c,
                    x0=math.ceil(x0 + dx),
                    y0=math.ceil(y0 + dy),
                    x1=math.floor(x1 - dx),
                    y1=math.floor(y1 - dy),
                )
            )
    return cells
