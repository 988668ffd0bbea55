"""Page-image measurements that decide which repairs a page gets (OpenCV / NumPy).

Every function here reads an 8-bit greyscale page and returns numbers (or a box);
none changes the image. ``measure_page`` gathers them into one
:class:`PageStats`, which ``extractors.repair`` turns into a repair plan and
copies onto ``Page.image`` (they feed the quality score later).

All measurements work on a downscaled copy where the answer does not depend on
fine detail (paper box, background, orientation) and on a bounded sample of the
full-resolution page where it does (noise, blur, glyph height), so measuring a
300-dpi page costs tens of milliseconds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

_WORK_SIDE = 1000
"""Longest side of the downscaled copy used for coarse measurements."""


def _small(gray: np.ndarray, side: int = _WORK_SIDE) -> tuple[np.ndarray, float]:
    """A copy whose longest side is at most ``side`` pixels, and its scale factor."""
    import cv2

    scale = min(1.0, side / max(gray.shape))
    if scale >= 1.0:
        return gray, 1.0
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def contrast(gray: np.ndarray) -> float:
    """Ink-to-paper contrast in [0, 1]: median paper level minus median ink level.

    Pixels are split by Otsu's threshold, so a page with little ink is judged by
    that ink, not by its share of the page.
    """
    import cv2

    sample = np.ascontiguousarray(gray[::2, ::2])
    t, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = sample[sample <= t]
    light = sample[sample > t]
    if dark.size == 0 or light.size == 0:
        return 0.0
    return float(np.median(light) - np.median(dark)) / 255.0


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Boolean mask of dark (ink) pixels by Otsu's threshold."""
    import cv2

    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return binary > 0


def paper_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """Box (x0, y0, x1, y1) of the paper when dark borders surround it, else None.

    The paper is the largest bright connected region of a downscaled copy
    (Otsu threshold, text closed over). None when that region already fills
    the page within 1 % per side, or when it is implausibly small (< 20 %).
    """
    import cv2

    small, scale = _small(gray, 600)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(3, round(min(small.shape) / 60)) | 1
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if n < 2:
        return None
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[i])
    sh, sw = small.shape
    if area < 0.2 * sh * sw:
        return None
    margins = (x / sw, y / sh, (sw - x - w) / sw, (sh - y - h) / sh)
    if max(margins) < 0.01:
        return None
    # Everything outside the box must be dark for it to be a border (not a white margin).
    outside = np.ones_like(bright, bool)
    outside[y : y + h, x : x + w] = False
    if outside.any() and float(np.mean(small[outside])) > 0.6 * float(np.median(small)):
        return None
    inv = 1.0 / scale
    gh, gw = gray.shape
    pad = 2 * inv  # shrink a little: the shadowed paper edge stays out
    return (
        min(gw, max(0, math.floor(x * inv + pad))),
        min(gh, max(0, math.floor(y * inv + pad))),
        max(0, min(gw, math.ceil((x + w) * inv - pad))),
        max(0, min(gh, math.ceil((y + h) * inv - pad))),
    )


def background(gray: np.ndarray, text_height: float) -> np.ndarray:
    """Paper brightness without the ink: a morphological close on a downscaled copy."""
    import cv2

    small, scale = _small(gray, 800)
    th = text_height if text_height == text_height else 30.0
    k = max(3, round(1.5 * th * scale)) | 1
    # The median first: bright JPEG ringing next to glyphs must not become "paper".
    closed = cv2.morphologyEx(
        cv2.medianBlur(small, 5), cv2.MORPH_CLOSE, cv2.getStructuringElement(0, (k, k))
    )
    closed = cv2.GaussianBlur(closed, (0, 0), k / 2)
    if scale >= 1.0:
        return closed
    return cv2.resize(closed, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)


def background_unevenness(gray: np.ndarray, text_height: float = math.nan) -> float:
    """Spread (5th to 95th percentile) of the paper brightness, relative to its median."""
    small, _ = _small(gray, 500)
    bg = background(small, text_height * 500 / max(gray.shape))
    lo, mid, hi = np.percentile(bg, [5, 50, 95])
    return float(hi - lo) / max(1.0, float(mid))


def noise_level(gray: np.ndarray) -> float:
    """Standard deviation of pixel noise (grey levels), Immerkær's fast estimator.

    Measured on a central crop of at most 1024x1024 pixels; only on smooth
    neighbourhoods (away from glyph edges), so text does not count as noise.
    """
    import cv2

    h, w = gray.shape
    cy, cx, r = h // 2, w // 2, 512
    crop = gray[max(0, cy - r) : cy + r, max(0, cx - r) : cx + r].astype(np.float32)
    if crop.size < 64:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(crop, -1, kernel))
    edges = cv2.Sobel(cv2.GaussianBlur(crop, (0, 0), 2), cv2.CV_32F, 1, 1, ksize=3)
    smooth = np.abs(edges) < np.percentile(np.abs(edges), 60)
    values = response[smooth] if smooth.sum() > 1000 else response.ravel()
    return float(np.sqrt(math.pi / 2) * np.mean(values) / 6.0)


def blur_level(gray: np.ndarray) -> float:
    """Variance of the Laplacian next to the ink: small means blurred.

    Only pixels near ink count, so the amount of white paper does not matter.
    """
    import cv2

    smooth = cv2.GaussianBlur(gray, (3, 3), 0)  # pixel noise would count as sharpness
    near_ink = cv2.dilate(ink_mask(smooth).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if not near_ink.any():
        return 0.0
    return float(cv2.Laplacian(smooth, cv2.CV_32F)[near_ink].var())


@dataclass(frozen=True)
class Glyphs:
    """Connected components of the ink: glyph size and speck count."""

    height: float
    """Median height of glyph-sized components, pixels; NaN when none."""
    count: int
    specks: int
    """Components too small to be glyphs (dust, pepper noise)."""


def glyph_stats(mask: np.ndarray) -> Glyphs:
    """Median glyph height and speck count from the connected components of an ink mask."""
    import cv2

    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n < 2:
        return Glyphs(math.nan, 0, 0)
    w = stats[1:, cv2.CC_STAT_WIDTH]
    h = stats[1:, cv2.CC_STAT_HEIGHT]
    area = stats[1:, cv2.CC_STAT_AREA]
    glyph = (h >= 5) & (h <= 300) & (w <= 4 * h) & (w >= 1) & (area >= 0.1 * w * h)
    glyph &= area >= 12
    heights = h[glyph]
    if len(heights) < 5:
        return Glyphs(math.nan, len(heights), int(np.sum(area < 12)))
    # The median of the upper half is the cap/x-height mix, not dots and commas.
    med = float(np.median(heights))
    typical = heights[heights >= 0.5 * med]
    height = float(np.median(typical))
    specks = int(np.sum(area <= max(4.0, (0.25 * height) ** 2)))
    return Glyphs(height, len(typical), specks)


def line_direction(mask: np.ndarray, text_height: float) -> float:
    """Evidence that text lines run vertically: > 1 vertical, < 1 horizontal.

    Words are smeared along each axis in turn (a close as long as a few glyphs);
    text lines become long, thin components along their own direction only. The
    ratio compares the ink in long components of the vertical smear with that
    of the horizontal one.
    """
    import cv2

    small_scale = min(1.0, _WORK_SIDE / max(mask.shape))
    m: np.ndarray = mask.astype(np.uint8) * 255
    if small_scale < 1.0:
        m = cv2.resize(m, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA)
        m = (m > 60).astype(np.uint8) * 255
    th = (text_height if text_height == text_height else 30.0) * small_scale
    length = max(5, round(2.5 * th))

    def lined(kernel: tuple[int, int], along: int) -> float:
        smeared = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones(kernel, np.uint8))
        n, _l, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
        if n < 2:
            return 0.0
        s = stats[1:]
        long_ = s[:, along] >= 4 * s[:, 5 - along]  # width vs height (2 ↔ 3)
        long_ &= s[:, along] >= 4 * length
        return float(np.sum(s[long_, cv2.CC_STAT_AREA]))

    horizontal = lined((1, length), cv2.CC_STAT_WIDTH)
    vertical = lined((length, 1), cv2.CC_STAT_HEIGHT)
    return (vertical + 1.0) / (horizontal + 1.0)


def _glyph_components(gray: np.ndarray, text_height: float) -> np.ndarray:
    """(x0, y0, x1, y1, centre row) of the glyph-sized ink components of ``gray``, sorted
    by centre row: between half and twice ``text_height`` tall, at most three times as wide."""
    import cv2

    _n, _labels, stats, centres = cv2.connectedComponentsWithStats(
        ink_mask(gray).astype(np.uint8), connectivity=8
    )
    x, y = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    glyph = (h >= 0.5 * text_height) & (h <= 2 * text_height) & (w <= 3 * text_height)
    found = np.stack([x, y, x + w, y + h, centres[1:, 1]], axis=1)[glyph]
    return found[np.argsort(found[:, 4], kind="stable")]


def glyph_rows(gray: np.ndarray, text_height: float, glyphs: int) -> tuple[int, int] | None:
    """Rows ``(y0, y1)`` of the band around the middle of the page's text that holds
    about ``glyphs`` glyph-sized ink components, or None when the page holds no more.

    Components count as glyphs when they are between half and twice ``text_height``
    tall and at most three times as wide; the band takes the ``glyphs`` of them whose
    centres are nearest the median row, plus a glyph height above and below, so the
    glyphs at its edges are whole.
    """
    if text_height != text_height or glyphs < 1:
        return None
    found = _glyph_components(gray, text_height)
    if len(found) <= glyphs:
        return None
    return _band(found, gray.shape, text_height, glyphs)[1::2]


def glyph_box(gray: np.ndarray, text_height: float, glyphs: int) -> tuple[int, int, int, int]:
    """Box ``(x0, y0, x1, y1)`` of the band :func:`glyph_rows` finds, narrowed to the glyphs
    in it; when the page holds no more than ``glyphs`` glyphs, the box of them all (the
    whole page when it holds none or ``text_height`` is unknown). A glyph height round."""
    h, w = gray.shape[:2]
    if text_height != text_height or glyphs < 1:
        return 0, 0, w, h
    found = _glyph_components(gray, text_height)
    if not len(found):
        return 0, 0, w, h
    if len(found) > glyphs:
        _, y0, _, y1 = _band(found, gray.shape, text_height, glyphs)
        found = found[(found[:, 4] >= y0) & (found[:, 4] < y1)]
    pad = text_height
    x0, y0 = (
        max(0, math.floor(found[:, 0].min() - pad)),
        max(0, math.floor(found[:, 1].min() - pad)),
    )
    x1 = min(w, math.ceil(found[:, 2].max() + pad))
    y1 = min(h, math.ceil(found[:, 3].max() + pad))
    return x0, y0, x1, y1


def _band(
    found: np.ndarray, shape: tuple[int, ...], text_height: float, glyphs: int
) -> tuple[int, int, int, int]:
    """(0, y0, width, y1): the rows of the ``glyphs`` glyphs nearest the median centre row."""
    ys = found[:, 4]
    first = max(0, len(ys) // 2 - glyphs // 2)
    last = min(len(ys) - 1, first + glyphs - 1)
    y0 = max(0, math.floor(ys[first] - text_height))
    y1 = min(shape[0], math.ceil(ys[last] + text_height) + 1)
    return 0, y0, shape[1], y1


SMOOTH_NOISE = 4.0
"""Grey levels of pixel noise from which the page is smoothed before its glyphs are found."""


def glyph_mask(gray: np.ndarray, noise: float) -> np.ndarray:
    """Ink mask for glyph measurements: pixel noise of ``noise`` grey levels would merge
    with glyphs, so it is smoothed away first, as strongly as measured."""
    import cv2

    if noise < SMOOTH_NOISE:
        return ink_mask(gray)
    return ink_mask(cv2.medianBlur(gray, 5 if noise > 12 else 3))


def glyph_height(gray: np.ndarray) -> float:
    """Median glyph height of a page as :func:`measure_page` finds it (NaN: none found)."""
    mask = glyph_mask(gray, noise_level(gray))
    return glyph_stats(mask).height if mask.mean() < 0.5 else math.nan


@dataclass(frozen=True)
class PageStats:
    """Everything measured on one page image."""

    contrast: float
    noise: float
    blur: float
    background_unevenness: float
    text_height: float
    specks_per_glyph: float
    paper_box: tuple[int, int, int, int] | None
    border_fraction: float
    """Share of the page outside the paper box (dark scanner borders)."""
    vertical_text: float
    """:func:`line_direction` ratio (> 1: lines run vertically)."""


def measure_page(gray: np.ndarray) -> PageStats:
    """Measure a greyscale page image."""
    box = paper_box(gray)
    h, w = gray.shape
    inner = gray
    border = 0.0
    if box is not None:
        x0, y0, x1, y1 = box
        inner = gray[y0:y1, x0:x1]
        border = 1.0 - (x1 - x0) * (y1 - y0) / float(h * w)
    noise = noise_level(inner)
    mask = glyph_mask(inner, noise)
    sparse = mask.mean() < 0.5
    glyphs = glyph_stats(mask) if sparse else Glyphs(math.nan, 0, 0)
    # Specks are counted on the unsmoothed ink: the same mask when nothing was smoothed.
    raw = glyphs if sparse and noise < SMOOTH_NOISE else glyph_stats(ink_mask(inner))
    return PageStats(
        contrast=contrast(inner),
        noise=noise,
        blur=blur_level(inner),
        background_unevenness=background_unevenness(inner, glyphs.height),
        text_height=glyphs.height,
        specks_per_glyph=raw.specks / max(1, glyphs.count),
        paper_box=box,
        border_fraction=border,
        vertical_text=line_direction(mask, glyphs.height),
    )
