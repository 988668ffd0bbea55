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

import heapq
import logging

from pipelines.config import LayoutConfig
from pipelines.model import BBox, Block, Document, ExtractionMethod, Layer, Page
from pipelines.stages.layout import page_frame, upright

logger = logging.getLogger(__name__)

_Item = tuple[int, BBox]
WIDE_SHARE = 0.75
"""A block this share of the text width or wider is full-width (starts a new row on OCR pages)."""
STACK_OVERLAP = 0.5
"""Blocks sharing this much of the narrower one's width are in one column (OCR pages)."""


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


def _left(box: BBox, mid: float) -> bool:
    """Whether ``box`` lies left of a gutter whose middle is ``mid`` (by its own middle)."""
    return (box.x0 + box.x1) / 2 < mid


def _crosses(band: list[_Item], gutter: tuple[float, float]) -> bool:
    """Whether a block of ``band`` spans the middle of ``gutter`` (a full-width block)."""
    mid = (gutter[0] + gutter[1]) / 2
    return any(b.x0 < mid < b.x1 for _, b in band)


def _ended(band: list[_Item], region: list[_Item], gutter: tuple[float, float], gap: float) -> bool:
    """Whether ``band`` starts a new row under ``region`` rather than continuing a column.

    True when the band sits on one side of the gutter only, and that side of
    the region ended well above the other side and well above the band: an
    invoice's "Bill to" under a letterhead beside a taller "Invoice No." block.
    A column's next paragraph follows its side closely, so it is not a new row.
    """
    mid = (gutter[0] + gutter[1]) / 2
    sides = {_left(b, mid) for _, b in band}
    if len(sides) != 1:
        return False
    left = sides.pop()
    own = [b.y1 for _, b in region if _left(b, mid) == left]
    other = [b.y1 for _, b in region if _left(b, mid) != left]
    if not own or not other:
        return False
    top = min(b.y0 for _, b in band)
    return max(other) - max(own) > gap and top - max(own) > gap


def _sided(region: list[_Item], gutter: tuple[float, float]) -> bool:
    """Whether both sides of ``gutter`` hold two blocks or more (not a heading beside a title)."""
    mid = (gutter[0] + gutter[1]) / 2
    left = sum(_left(b, mid) for _, b in region)
    return min(left, len(region) - left) >= 2


def _wide(band: list[_Item], width: float) -> bool:
    """Whether ``band`` is one block spanning most of the page's text width (a table, a rule)."""
    return len(band) == 1 and band[0][1].x1 - band[0][1].x0 >= WIDE_SHARE * width


def _regions(items: list[_Item], cfg: LayoutConfig, *, keep: bool = False) -> list[list[_Item]]:
    """Horizontal bands, top to bottom, with the bands that continue a column region merged.

    With ``keep`` (OCR pages, whose noisy boxes can hide a gutter or make a
    false one), a band joins the region above unless there is evidence of a
    new row: it spans a gutter with two blocks or more on each side, it starts
    below a side that has ended (:func:`_ended`), or it or the region is one
    block as wide as the text (a table, whose block the table stage may have
    put anywhere in Tesseract's order).
    """
    width = max(b.x1 for _, b in items) - min(b.x0 for _, b in items)
    merged: list[list[_Item]] = []
    gutter: tuple[float, float] | None = None
    for band in _bands(items, cfg.band_gap):
        if not merged:
            joins = False
        elif keep and (gutter is None or not _sided(merged[-1], gutter)):
            joins = not _wide(band, width) and not _wide(merged[-1], width)
        elif gutter is None:
            joins = False
        else:
            joins = not _crosses(band, gutter) and not _ended(band, merged[-1], gutter, cfg.row_gap)
        if joins:
            merged[-1].extend(band)
        else:
            merged.append(list(band))
        gutter = _gutter(merged[-1], cfg.column_gap) if len(merged[-1]) > 1 else None
    return merged


def _top_down(items: list[_Item]) -> list[int]:
    return [i for i, _ in sorted(items, key=lambda it: (it[1].y0, it[1].x0))]


def _order(items: list[_Item], cfg: LayoutConfig, depth: int = 0) -> list[int]:
    if len(items) <= 1 or depth > 30:
        return _top_down(items)
    gutter = _gutter(items, cfg.column_gap)
    if gutter is not None:
        mid = (gutter[0] + gutter[1]) / 2
        left = [it for it in items if _left(it[1], mid)]
        right = [it for it in items if not _left(it[1], mid)]
        return _order(left, cfg, depth + 1) + _order(right, cfg, depth + 1)
    merged = _regions(items, cfg)
    if len(merged) == 1 and _gutter(merged[0], cfg.column_gap) is None:
        return _top_down(items)
    out: list[int] = []
    for band in merged:
        out.extend(_order(band, cfg, depth + 1))
    return out


def _stacked_above(a: BBox, b: BBox) -> bool:
    """Whether ``a`` sits above ``b`` in the same column: either one spans
    :data:`STACK_OVERLAP` of the other's width, and ``a`` starts higher and ends no
    lower. The swollen, overlapping boxes of a noisy page's lines still count; a
    block inside another's height (a caption in a paragraph wrapped round a
    picture) is above nothing."""
    return (_covers(a, b) or _covers(b, a)) and a.y0 < b.y0 and a.y1 <= b.y1


def _spanning(region: list[_Item], body: set[int]) -> set[int]:
    """Blocks that run across two body blocks standing side by side at their own height
    (a line Tesseract read across a gutter): they belong to no one column, so they
    keep Tesseract's place. Specks and scribbles set aside as notes are no evidence."""
    out: set[int] = set()
    for i, box in region:
        under = [
            other
            for j, other in region
            if j != i and j in body and _covers(box, other) and _level(box, other)
        ]
        if any(
            _shared_width(a, b) <= 0 and _level(a, b)
            for k, a in enumerate(under)
            for b in under[k + 1 :]
        ):
            out.add(i)
    return out


def _shared_width(a: BBox, b: BBox) -> float:
    """How much of the page's width ``a`` and ``b`` share (negative: the gap between)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _level(a: BBox, b: BBox) -> bool:
    """Whether ``a`` and ``b`` share some of the page's height."""
    return min(a.y1, b.y1) > max(a.y0, b.y0)


def _covers(box: BBox, other: BBox) -> bool:
    """Whether ``box`` spans at least :data:`STACK_OVERLAP` of ``other``'s width."""
    return _shared_width(box, other) >= STACK_OVERLAP * other.width


def _tesseract_order(region: list[_Item], body: set[int]) -> list[int]:
    """Tesseract's order of a region's blocks, except that a block never comes before
    a block stacked above it in its column (:func:`_stacked_above`).

    On a heavily damaged page Tesseract's segmentation can read a column's lines out
    of order ("FROM:" before "TO:", a paragraph from the middle first); where its
    order keeps each column top to bottom, this is that order unchanged. A block
    spanning side-by-side blocks (:func:`_spanning`) is bound to no column. Each
    step takes the earliest block in Tesseract's order with nothing left above it:
    a topological sort, which always exists since a block above another starts
    strictly higher.
    """
    items = sorted(region)
    free = _spanning(items, body)
    bound = [k for k, (i, _) in enumerate(items) if i not in free]
    below: list[list[int]] = [[] for _ in items]  # the blocks each one must precede
    waiting = [0] * len(items)  # how many blocks above each one are not placed yet
    for k in bound:
        for j in bound:
            if j != k and _stacked_above(items[k][1], items[j][1]):
                below[k].append(j)
                waiting[j] += 1
    ready = [k for k, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    out: list[int] = []
    while ready:
        k = heapq.heappop(ready)
        out.append(items[k][0])
        for j in below[k]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    return out


def _ocr_order(items: list[_Item], cfg: LayoutConfig, body: set[int]) -> list[int]:
    """OCR order: the page's regions top to bottom, Tesseract's own order inside each
    (each column kept top to bottom: :func:`_tesseract_order`); ``body``: the indices
    of body-layer blocks."""
    if _gutter(items, cfg.column_gap) is not None:
        return _tesseract_order(items, body)
    out: list[int] = []
    for region in _regions(items, cfg, keep=True):
        out.extend(_tesseract_order(region, body))
    return out


def order_page(page: Page, cfg: LayoutConfig) -> Page:
    """A copy of ``page`` with its blocks in reading order.

    OCR pages keep Tesseract's order inside each region: its page segmentation
    already reads columns in order, and measured on the generated corpus
    re-cutting its noisy blocks did worse (see benchmarks/structure.py). Its
    regions are put top to bottom, though: Tesseract reads a letterhead's left
    side down into the "Bill to" block before the "Invoice No." block beside
    the letterhead, and can put a page's last line before the blocks above it.
    """
    ocr = page.method is ExtractionMethod.OCR and not cfg.reorder_ocr
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
    if ocr:
        body = {i for i, b in enumerate(page.blocks) if b.layer is Layer.BODY}
        order = _ocr_order(boxed, cfg, body) + unboxed
    else:
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
