"""Glyph measurements on OCR word boxes: how heavy the type of a word is.

This module owns :func:`stroke_ratio`, the stroke width of a word's glyphs as
a share of its box height, measured on the page image that was read: the ink
area over half the ink boundary (a stroke ``w`` wide and ``L`` long has area
``wL`` and about ``2L`` boundary pixels). Bold type has strokes about 1.5
times as wide as regular type of the same size, so the layout stages can tell
bold lines from the page's body text (:mod:`pipelines.stages.elements`).
"""

from __future__ import annotations

import logging
import math

import numpy as np

logger = logging.getLogger(__name__)

MIN_INK_PX = 12


def stroke_width(crop: np.ndarray) -> float:
    """Mean stroke width, pixels, of the ink of a greyscale cut-out (NaN: no ink)."""
    import cv2

    if crop.size == 0:
        return math.nan
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    area = int(np.count_nonzero(ink))
    if area < MIN_INK_PX or area > 0.9 * crop.size:
        return math.nan
    inner = cv2.erode(ink, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    boundary = area - int(np.count_nonzero(inner))
    return 2.0 * area / boundary if boundary else math.nan


def stroke_ratio(gray: np.ndarray, left: int, top: int, width: int, height: int) -> float:
    """Stroke width of the word in this box as a share of the box height (NaN: unmeasurable)."""
    h, w = gray.shape[:2]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(w, left + width), min(h, top + height)
    if x1 - x0 < 2 or y1 - y0 < 4:
        return math.nan
    stroke = stroke_width(np.ascontiguousarray(gray[y0:y1, x0:x1]))
    return stroke / (y1 - y0) if not math.isnan(stroke) else math.nan
