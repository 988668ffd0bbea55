"""Reading order of the blocks of each page: recursive XY-cut with column bands.

This module owns the order of blocks within a page. Blocks are placed in the
upright frame of the page (see :mod:`pipelines.stages.layout`); a region is
cut at a vertical gutter when one runs through all its blocks (columns, read
left to right), else into horizontal bands at the vertical gaps between
blocks (read top to bottom). Bands below a region split by a gutter join it while
none of their blocks spans that gutter, so two columns whose paragraph gaps happen to line
up are still read column by column. A full-width title, rule-separated
header or a caption spanning the gutter closes a band, so it stays between
the columns' text above and below it. Blocks without a box keep their place
after the boxed ones.
"""

from __future__ import annotations

import logging

from pipelines.config import LayoutConfig
from pipelines.model import BBox, Block, Document, ExtractionMethod, Page
from pipelines.stages.layout import page_frame, upright

logger = logging.getLogger(__name__)

_Item = tuple[int, BBox]


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """Empty intervals (at least ``min_gap`` wide) between the union of ``spans``."""
    out: list[tuple[float, float]] = []
    ordered = sorted(spans)
    if not ordered:
        return out
    reach = ordered[0][1]
    for a, b in ordered[1:]:
        if a - reach >= min_gap:
            out.append((reach, a))
        reach = max(reach, b)
    return out


def _gutter(items: list[_Item], min_gap: float) -> tuple[float, float] | None:
    """The widest vertical gutter with text on both sides, or None."""
    gaps = _gaps([(b.x0, b.x1) for _, b in items], min_gap)
    return max(gaps, key=lambda g: g[1] - g[0]) if gaps else None


def _bands(items: list[_Item], min_gap: float) -> list[list[_Item]]:
    ordered = sorted(items, key=lambda it: (it[1].y0, it[1].x0))
    bands: list[list[_Item]] = [[ordered[0]]]
    reach = ordered[0][1].y1
    for it in ordered[1:]:
        if it[1].y0 - reach >= min_gap:
            bands.append([it])
        else:
            bands[-1].append(it)
        reach = max(reach, it[1].y1)
    return bands


def _crosses(band: list[_Item], gutter: tuple[float, float]) -> bool:
    """Whether a block of ``band`` spans the middle of ``gutter`` (a full-width block)."""
    mid = (gutter[0] + gutter[1]) / 2
    return any(b.x0 < mid < b.x1 for _, b in band)


def _order(items: list[_Item], cfg: LayoutConfig, depth: int = 0) -> list[int]:
    if len(items) <= 1 or depth > 30:
        return [i for i, _ in sorted(items, key=lambda it: (it[1].y0, it[1].x0))]
    gutter = _gutter(items, cfg.column_gap)
    if gutter is not None:
        mid = (gutter[0] + gutter[1]) / 2
        left = [it for it in items if (it[1].x0 + it[1].x1) / 2 < mid]
        right = [it for it in items if (it[1].x0 + it[1].x1) / 2 >= mid]
        return _order(left, cfg, depth + 1) + _order(right, cfg, depth + 1)
    bands = _bands(items, cfg.band_gap)
    if len(bands) == 1:
        return [i for i, _ in sorted(items, key=lambda it: (it[1].y0, it[1].x0))]
    merged: list[list[_Item]] = []
    gutter_of_region: tuple[float, float] | None = None
    for band in bands:
        if merged and gutter_of_region is not None and not _crosses(band, gutter_of_region):
            merged[-1].extend(band)
            gutter_of_region = _gutter(merged[-1], cfg.column_gap)
        else:
            merged.append(list(band))
            gutter_of_region = _gutter(band, cfg.column_gap) if len(band) > 1 else None
    if len(merged) == 1 and _gutter(merged[0], cfg.column_gap) is None:
        return [i for i, _ in sorted(items, key=lambda it: (it[1].y0, it[1].x0))]
    out: list[int] = []
    for band in merged:
        out.extend(_order(band, cfg, depth + 1))
    return out


def order_page(page: Page, cfg: LayoutConfig) -> Page:
    """A copy of ``page`` with its blocks in reading order.

    OCR pages keep Tesseract's order: its page segmentation already reads
    columns in order, and measured on the generated corpus re-cutting its
    noisy blocks did worse (see benchmarks/structure.py).
    """
    if page.method is ExtractionMethod.OCR and not cfg.reorder_ocr:
        return page
    frame = page_frame(page)
    boxed: list[_Item] = []
    unboxed: list[int] = []
    for i, b in enumerate(page.blocks):
        box = upright(b, frame)
        if box is None:
            unboxed.append(i)
        else:
            boxed.append((i, box))
    if len(boxed) < 2:
        return page
    order = _order(boxed, cfg) + unboxed
    if order == list(range(len(page.blocks))):
        return page
    blocks: list[Block] = [page.blocks[i] for i in order]
    return page.model_copy(update={"blocks": blocks})


def reading_order(doc: Document, cfg: LayoutConfig) -> Document:
    """A copy of ``doc`` with the blocks of every page in reading order."""
    if not cfg.reorder:
        return doc
    return doc.model_copy(update={"pages": [order_page(p, cfg) for p in doc.pages]})
