"""Handwriting suspicion on an OCRed page: ink that no confident printed word explains.

Tesseract reads handwriting as confident-looking garbage or not at all. This
module finds the ink of a page that the OCR reading does not account for —
ink outside the boxes of confidently read real words, once ruling lines and
specks are taken away — groups it into regions the size of written words, and
keeps the regions whose strokes look written rather than printed: printed
glyphs are made of upright stems and level bars (gradient energy along the
image axes), a hand's strokes are slanted and curved. It also measures the
share of the page's ink that no confidently read word covers at all (the
``unread`` share the quality score uses). Pure functions over
``ndarray`` s and word boxes (pixel coordinates of the image OCR read).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.textmetrics import word_class

if TYPE_CHECKING:
    import numpy as np

    from extractors.ocr import OcrWord

CONFIDENT = 0.6
"""A real word read at least this confidently explains the ink under its box."""
MAX_AXIS_SHARE = 0.30
"""Regions whose edge energy lies less than this share along the axes look written."""
MIN_REGION_WIDTH = 2.0
"""In text heights: shorter ink runs (a tick, a dot, a stray mark) are not notes."""
MIN_INK = 0.6
"""In squared text heights: less ink is too little to be a written word."""
MAX_GLYPH_HEIGHT = 3.0
"""In text heights: taller ink components are pictures, logos or blots, not text."""
MIN_INK_CONTRAST = 16
"""Grey levels between a page's darkest and lightest pixel below which it holds no ink."""
WORK_TEXT_PX = 16.0
"""The ink is grouped on a copy scaled to about this text height (never enlarged)..."""
MAX_WORK_SCALE = 0.8
"""...unless that copy would keep more than this share of the side: then the page itself."""


@dataclass(frozen=True)
class InkRegion:
    """A region of unexplained ink, in pixels of the OCRed image."""

    x0: int
    y0: int
    x1: int
    y1: int
    ink: int
    axis_share: float
    """Share of edge energy within 15° of the image axes (printed text: high)."""


def speck_area(text_height: float) -> float:
    """Pixels a component needs to be a stroke, not a speck, on text ``text_height`` high."""
    return max(4.0, 0.02 * text_height * text_height)


def erase_boxes(
    mask: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], pad: int
) -> np.ndarray:
    """``mask`` with every (x0, y0, x1, y1) box, grown by ``pad``, cleared."""
    out = mask.copy()
    h, w = out.shape
    for x0, y0, x1, y1 in boxes:
        out[max(0, y0 - pad) : min(h, y1 + pad), max(0, x0 - pad) : min(w, x1 + pad)] = False
    return out


def remove_rules(mask: np.ndarray, length: int) -> np.ndarray:
    """``mask`` without straight horizontal or vertical runs of ``length`` pixels or more."""
    import cv2
    import numpy as np

    u8 = mask.astype(np.uint8)
    length = max(3, length)
    rules = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    cv2.bitwise_or(
        rules, cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8)), rules
    )
    del u8
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    return mask & (rules == 0)


def axis_share(gray: np.ndarray, mask: np.ndarray) -> float:
    """Share of gradient energy, on and next to the ink of ``mask``, that runs within
    15° of the image axes (NaN without edges)."""
    import cv2
    import numpy as np

    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mag = np.hypot(gx, gy)[near]
    if mag.sum() <= 0:
        return math.nan
    angle = np.degrees(np.arctan2(gy[near], gx[near])) % 90.0
    aligned = (angle < 15.0) | (angle > 75.0)
    return float(mag[aligned].sum() / mag.sum())


def regions(mask: np.ndarray, text_height: float) -> list[tuple[int, int, int, int, int]]:
    """Word-sized groups of ink components: (x0, y0, x1, y1, ink pixels), specks dropped."""
    import cv2
    import numpy as np

    th = max(4.0, text_height)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= speck_area(th)
    kept = keep[labels]
    del labels  # int32 per pixel: the largest array here
    joined = cv2.dilate(
        kept.astype(np.uint8), np.ones((max(1, round(0.3 * th)), max(1, round(0.8 * th))), np.uint8)
    )
    m, groups, gstats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    del joined
    # The dilation covers every kept pixel, so each one lies in a group: its ink.
    ink = np.bincount(groups[kept], minlength=m)
    del groups
    out = []
    for k in range(1, m):
        x, y, w, h = (int(v) for v in gstats[k, :4])
        out.append((x, y, x + w, y + h, int(ink[k])))
    return out


def _work_scale(text_height: float) -> float:
    """Scale of the copy the ink is searched on: text about :data:`WORK_TEXT_PX` high."""
    f = min(1.0, WORK_TEXT_PX / text_height)
    return 1.0 if f > MAX_WORK_SCALE else f


@dataclass(frozen=True)
class InkSearch:
    """What :func:`search_ink` found on a page."""

    regions: list[InkRegion]
    """Regions of unexplained ink that look handwritten."""
    unread: float
    """Share of the page's glyph-sized ink (specks, ruling lines and pictures left
    out) that no word read with confidence :data:`CONFIDENT` or more covers: text
    OCR missed or read as unsure garbage. NaN on a page without ink."""


def glyph_ink(mask: np.ndarray, text_height: float) -> int:
    """Pixels of ``mask`` in components the size of glyphs or runs of touching glyphs:
    specks dropped, and pictures, logos and blots (taller than :data:`MAX_GLYPH_HEIGHT`
    text heights) too."""
    import cv2
    import numpy as np

    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = (areas >= speck_area(text_height)) & (
        stats[1:, cv2.CC_STAT_HEIGHT] <= MAX_GLYPH_HEIGHT * text_height
    )
    return int(areas[keep].sum())


def _box(w: OcrWord, f: float) -> tuple[int, int, int, int]:
    """``w``'s box on a copy scaled by ``f``."""
    return (
        math.floor(w.left * f),
        math.floor(w.top * f),
        math.ceil((w.left + w.width) * f),
        math.ceil((w.top + w.height) * f),
    )


def find_handwriting(
    gray: np.ndarray, words: Sequence[OcrWord], text_height: float
) -> list[InkRegion]:
    """Regions of ``gray`` (the image OCR read) that look handwritten (see :func:`search_ink`)."""
    return search_ink(gray, words, text_height).regions


def search_ink(gray: np.ndarray, words: Sequence[OcrWord], text_height: float) -> InkSearch:
    """The ink of ``gray`` (the image OCR read) that ``words`` do not explain.

    The ink is found, stripped of explained words and rules and grouped on a copy
    downscaled to text about :data:`WORK_TEXT_PX` high (a 2x-upscaled receipt has
    4x the pixels the search needs); each candidate's strokes are then judged at
    full resolution. A page whose unexplained ink could not make one region is
    done before any grouping.
    """
    import cv2
    import numpy as np

    th = text_height if text_height == text_height and text_height > 0 else 20.0
    f = _work_scale(th)
    small = gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    ths = th * f
    explained = [_box(w, f) for w in words if w.confidence >= CONFIDENT and word_class(w.text) != 0]
    if int(small.max()) - int(small.min()) < MIN_INK_CONTRAST:
        return InkSearch([], math.nan)  # a blank page: Otsu would call all of it ink
    level, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    pad = max(1, round(0.15 * ths))
    text_ink = remove_rules(ink > 0, round(4 * ths))
    del ink
    total = glyph_ink(text_ink, ths)
    read = [_box(w, f) for w in words if w.confidence >= CONFIDENT]
    unread = glyph_ink(erase_boxes(text_ink, read, pad), ths) / total if total else math.nan
    loose = erase_boxes(text_ink, explained, pad)
    del text_ink
    if np.count_nonzero(loose) < MIN_INK * ths * ths:
        return InkSearch([], unread)  # nothing left to explain: no region could hold enough ink
    found = []
    h, w = gray.shape[:2]
    for x0, y0, x1, y1, amount in regions(loose, ths):
        if x1 - x0 < MIN_REGION_WIDTH * ths or amount < MIN_INK * ths * ths:
            continue
        # The region at full resolution: its ink where the copy's loose ink lies.
        fx0, fy0 = math.floor(x0 / f), math.floor(y0 / f)
        fx1, fy1 = min(w, math.ceil(x1 / f)), min(h, math.ceil(y1 / f))
        crop = gray[fy0:fy1, fx0:fx1]
        if f == 1.0:
            mask = loose[y0:y1, x0:x1]
        else:
            near = cv2.dilate(loose[y0:y1, x0:x1].astype(np.uint8), np.ones((3, 3), np.uint8))
            near = cv2.resize(near, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_NEAREST)
            mask = (near > 0) & (crop <= level)
        share = axis_share(crop, mask)
        if share == share and share < MAX_AXIS_SHARE:
            found.append(InkRegion(fx0, fy0, fx1, fy1, round(amount / (f * f)), share))
    return InkSearch(found, unread)
