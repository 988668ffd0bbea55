"""Page-image repair before OCR (OpenCV / NumPy).

Each repair step is a pure ``ndarray -> ndarray`` function, and
:class:`RepairResult` carries a page through them, recording each step on
``ImageMeasurements.repair_steps`` and keeping the affine transform (crop, quadrant
turn, deskew, rescale) so OCR boxes can be mapped back to the original page.
Which steps a page gets is decided in :mod:`extractors.repair_plan`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from extractors.measure import (
    background,
    contrast,
    glyph_rows,
    ink_mask,
)
from pipelines.model import STRONG_NOISE, BBox, ImageMeasurements

__all__ = ["contrast", "ink_mask"]

logger = logging.getLogger(__name__)

MIN_SKEW_TO_FIX = 0.3
"""Degrees; smaller skew does not hurt Tesseract and is left alone."""
MAX_SKEW = 8.0
OSD_MIN_CONFIDENCE = 2.0
OSD_GLYPH_PX = 24.0
"""OSD runs on a copy downscaled to about this glyph height (it is slow on big pages)..."""
OSD_GLYPHS = 150
"""...and on a band of it holding about this many glyphs: OSD classifies up to 250 of a
page's characters in each of four orientations, at some 4 ms each, so a full page costs
1.5-2 CPU seconds. Measured on nine turned pages: a 150-glyph band reads the same
orientation (confidence 7-29 on a full page of text; threshold 2) in 0.8-1.1 s. When
the band cannot tell, the whole (downscaled) page is asked: on a blurred upside-down
invoice (generated seed 11, 024) the band found nothing and the page found 180°."""
VERTICAL_TEXT_RATIO = 3.0
"""``measure.line_direction`` above this: text lines run vertically, the page is turned."""
MIN_BORDER_FRACTION = 0.01
EDGE_BAND = 0.06
"""After a crop, dark regions touching the edge within this share of the side are border."""
MIN_NOISE = 4.0
"""Grey levels of pixel noise from which the page is smoothed."""
FLAT_CONTRAST = 0.6
UNEVEN_BACKGROUND = 0.03
SPECK_AREA = 0.015
"""Specks are components smaller than this share of the squared glyph height."""
LINE_GLYPHS = 6.0
"""Lines to remove are at least this many glyph heights long."""
MIN_GLYPH_PX = 20.0
TARGET_GLYPH_PX = 28.0
MAX_UPSCALE = 2.0
UPSCALE_MAX_PIXELS = 25_000_000


class OrientationSource(Protocol):
    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None: ...


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel copy of any image array."""
    import cv2

    img = image
    if img.dtype != np.uint8:
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        else:
            peak = float(img.max()) or 1.0
            img = (img.astype(np.float32) * (255.0 / peak)).clip(0, 255).astype(np.uint8)
    if img.ndim == 3:
        if img.shape[2] == 4:
            return cv2.cvtColor(img, cv2.COLOR_RGBA2GRAY)
        if img.shape[2] == 3:
            return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        return img[:, :, 0].copy()
    return img


def rotate_quadrant(image: np.ndarray, degrees_cw: int) -> np.ndarray:
    """Rotate by a multiple of 90° clockwise, exactly."""
    k = (degrees_cw // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=-k)) if k else image


def rotate_small(image: np.ndarray, degrees_ccw: float) -> np.ndarray:
    """Rotate by a small angle counter-clockwise about the centre, white fill, same size."""
    import cv2

    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees_ccw, 1.0)
    return cv2.warpAffine(
        image,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


def estimate_skew(gray: np.ndarray) -> float:
    """Skew of text lines in degrees (positive = lines rise to the right).

    Projection-profile method: the angle at which the row histogram of ink
    pixels is sharpest. Robust to sparse pages; returns 0.0 for blank ones.
    """
    import cv2

    scale = min(1.0, 1200.0 / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(ink_mask(small))
    if len(xs) < 200 or len(xs) > 0.5 * small.size:
        return 0.0
    rng = np.random.default_rng(0)
    if len(xs) > 40000:
        pick = rng.choice(len(xs), 40000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs_f = xs.astype(np.float64) - small.shape[1] / 2
    ys_f = ys.astype(np.float64)
    margin = float(np.abs(xs_f).max()) * math.tan(math.radians(MAX_SKEW + 1)) + 1

    def sharpness(angle: float) -> float:
        # Rows of 1 px over a fixed range, so every angle is judged alike.
        proj = ys_f + xs_f * math.tan(math.radians(angle)) + margin
        hist = np.bincount(proj.astype(np.int64))
        return float(np.sum(hist.astype(np.float64) ** 2))

    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5), key=sharpness)
    fine = max(np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05), key=sharpness)
    return round(float(fine), 2)


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of ``image`` inside ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


RIM_PX = 7
"""How far (in pixels of a 600-pixel copy) the painted border reaches past its solid
part: the opening that frees nearby text also trims the border's thin rim."""


def whiten_edge_shadows(gray: np.ndarray, band: float = EDGE_BAND) -> np.ndarray:
    """Dark scanner border left at the edges after cropping (a skewed or ragged paper
    edge leaves dark wedges inside the crop box) painted paper-white.

    Only dark regions connected to the image edge and lying within ``band`` of it
    are painted: they are what OCR would read as lines of garbage. Pure function.
    """
    import cv2

    from extractors.measure import _small

    small, _ = _small(gray, 600)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    _, dark = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    sh, sw = dark.shape
    bh, bw = max(2, round(band * sh)), max(2, round(band * sw))
    inner = np.zeros_like(dark)
    inner[bh:-bh, bw:-bw] = 255
    dark[inner > 0] = 0  # the body of the page is never touched
    # Text set close under a ragged edge touches the border once blurred: an opening
    # wider than a stroke cuts it loose, so the letterhead is not painted with it.
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    # Keep only dark regions that reach the image edge: the border, not ink near it.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    edge = np.zeros(n, dtype=bool)
    for ids in (labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]):
        edge[np.unique(ids)] = True
    edge[0] = False
    big = stats[:, cv2.CC_STAT_AREA] >= 0.002 * sh * sw
    shadow = (edge & big)[labels].astype(np.uint8)
    if not shadow.any():
        return gray
    # Grown back past the opening, so the thin dark rim along a ragged edge goes too.
    shadow = cv2.dilate(shadow, np.ones((RIM_PX, RIM_PX), np.uint8))
    full = cv2.resize(shadow, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = gray.copy()
    out[full > 0] = int(np.percentile(gray, 90))  # the paper's own brightness
    return out


def rescale(gray: np.ndarray, factor: float) -> np.ndarray:
    """Resize by ``factor`` (cubic up, area down)."""
    import cv2

    if factor == 1.0:
        return gray
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interp)


STRIPE_PIXELS = 1_000_000
"""Float work on a page runs on row stripes of about this many pixels, never on a
float copy of the whole (possibly upscaled) page: four bytes a pixel, several times over."""


def row_stripes(height: int, width: int, multiple: int = 1) -> Iterator[tuple[int, int]]:
    """(y0, y1) row ranges covering ``height`` rows, about ``STRIPE_PIXELS`` each.

    Every stripe but the last is a whole number of ``multiple`` rows high.
    """
    rows = max(1, STRIPE_PIXELS // max(1, width))
    rows = max(multiple, rows - rows % multiple)
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def normalize_background(gray: np.ndarray, text_height: float = math.nan) -> np.ndarray:
    """Divide by the paper brightness (uneven light, stains, yellowing, low contrast).

    The paper becomes white everywhere; the ink is then stretched so its darkest
    percent is black. Computed in row stripes (the same numbers, pixel for pixel,
    as over the whole page): the page stays uint8.
    """
    import cv2

    bg = background(gray, text_height)
    h, w = gray.shape[:2]

    def flat(y0: int, y1: int) -> np.ndarray:
        paper = np.maximum(bg[y0:y1].astype(np.float32), 1.0)
        return cv2.divide(gray[y0:y1].astype(np.float32), paper, scale=255.0)

    # Stripes of a multiple of 3 rows: every third row of each is every third of the page.
    # (Copies: a view would keep each stripe alive.)
    sample = np.concatenate([flat(y0, y1)[::3, ::3].copy() for y0, y1 in row_stripes(h, w, 3)])
    lo = float(np.percentile(sample, 0.5))
    del sample
    if lo >= 250.0:  # nothing but paper
        return np.full_like(gray, 255)
    out = np.empty_like(gray)
    for y0, y1 in row_stripes(h, w, 3):
        stretched = (flat(y0, y1) - lo) * (255.0 / (255.0 - lo))
        out[y0:y1] = np.clip(stretched, 0, 255).astype(np.uint8)
    return out


def denoise(gray: np.ndarray, noise: float) -> np.ndarray:
    """Smooth pixel noise of the measured strength (grey levels), keeping edges."""
    import cv2

    if noise >= STRONG_NOISE:
        return cv2.medianBlur(cv2.GaussianBlur(gray, (0, 0), 1.0), 5)
    return cv2.medianBlur(gray, 3)


def despeckle(gray: np.ndarray, max_area: int) -> np.ndarray:
    """Paint out dark specks (connected components of at most ``max_area`` pixels)."""
    import cv2

    mask = ink_mask(gray).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    small = np.zeros(n, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= max_area
    if not small.any():
        return gray
    out = gray.copy()
    out[small[labels]] = 255
    return out


def binarize(gray: np.ndarray, window: int = 31, k: float = 0.2) -> np.ndarray:
    """Sauvola threshold: ink where the pixel is darker than mean * (1 + k (std/128 - 1)).

    Row stripes, each with ``window // 2`` rows of context above and below, give the
    whole page's result exactly (box sums of whole grey levels are exact), without
    float copies of the whole page.
    """
    import cv2

    win = (window | 1, window | 1)
    half = win[0] // 2
    h, w = gray.shape[:2]
    out = np.empty(gray.shape, np.uint8)
    for y0, y1 in row_stripes(h, w):
        a, b = max(0, y0 - half), min(h, y1 + half)
        g = gray[a:b].astype(np.float32)
        mean = cv2.boxFilter(g, -1, win)
        sq = cv2.boxFilter(g * g, -1, win)
        std = np.sqrt(np.maximum(sq - mean * mean, 0))
        threshold = mean * (1.0 + k * (std / 128.0 - 1.0))
        out[y0:y1] = np.where(g[y0 - a : y1 - a] > threshold[y0 - a : y1 - a], 255, 0)
    return out


def line_mask(gray: np.ndarray, min_length: int) -> np.ndarray:
    """Long thin horizontal and vertical ink runs (table rules, underlines, fax streaks)."""
    import cv2

    ink = ink_mask(gray).astype(np.uint8) * 255
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, min_length), np.uint8))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((min_length, 1), np.uint8))
    lines = cv2.bitwise_or(horiz, vert)
    return cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0 if lines.any() else lines > 0


def remove_lines(gray: np.ndarray, min_length: int) -> np.ndarray:
    """Paint out long horizontal and vertical lines, which make Tesseract drop table rows."""
    lines = line_mask(gray, min_length)
    if not lines.any():
        return gray
    out = gray.copy()
    out[lines] = 255
    return out


@dataclass
class RepairResult:
    image: np.ndarray
    measurements: ImageMeasurements
    matrix: np.ndarray = field(default_factory=lambda: np.eye(3))
    """3x3 affine transform from original image pixels to repaired image pixels."""
    text_height: float = math.nan
    """Median glyph height in the repaired image, pixels."""
    orientation_checked: bool = False
    turn_guessed: bool = False
    """The page was turned 90° because its lines run vertically while OSD could not say
    which way up it is: the opposite turn (270°) was as likely."""
    line_direction: float = math.nan
    """``measure.line_direction`` of the page: > 1 its lines run vertically, < 1 horizontally."""
    ruled: np.ndarray | None = None
    """The page just before its ruling lines were removed (None: they were not)."""
    ruled_matrix: np.ndarray | None = None
    """Transform from original image pixels to ``ruled`` pixels."""

    def with_rules(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, transform from the original) of the repaired page with its rules kept."""
        if self.ruled is not None and self.ruled_matrix is not None:
            return self.ruled, self.ruled_matrix
        return self.image, self.matrix

    _inverse: tuple[bytes, list[list[float]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The inverse of ``matrix`` (as plain floats), keyed by the matrix it inverts."""

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        key = self.matrix.tobytes()
        if self._inverse is None or self._inverse[0] != key:
            self._inverse = (key, np.linalg.inv(self.matrix).tolist())
        a = self._inverse[1]
        return a[0][0] * x + a[0][1] * y + a[0][2], a[1][0] * x + a[1][1] * y + a[1][2]

    def page_box(self, x0: float, y0: float, x1: float, y1: float, scale: float) -> BBox:
        """A box of the repaired image on the original page, in page units (``scale``/pixel)."""
        xa, ya = self.to_original(x0, y0)
        xb, yb = self.to_original(x1, y1)
        return BBox(
            x0=min(xa, xb) * scale,
            y0=min(ya, yb) * scale,
            x1=max(xa, xb) * scale,
            y1=max(ya, yb) * scale,
        )

    def apply(self, step: str, image: np.ndarray, matrix: np.ndarray | None = None) -> None:
        """Record one repair step: its output and (for geometric steps) its transform."""
        self.image = image
        if matrix is not None:
            self.matrix = matrix @ self.matrix
        self.measurements.repair_steps.append(step)


def _quadrant_matrix(degrees_cw: int, w: int, h: int) -> np.ndarray:
    k = (degrees_cw // 90) % 4
    if k == 0:
        return np.eye(3)
    if k == 1:  # (x, y) -> (h - 1 - y, x)
        return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=float)
    if k == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=float)
    return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=float)


def translation_matrix(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=float)


def scaling_matrix(f: float) -> np.ndarray:
    # cv2.resize maps pixel centres: x' + 0.5 = (x + 0.5) f
    return np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5], [0, 0, 1]], dtype=float)


def rotate_result(result: RepairResult, degrees_cw: int) -> None:
    """Turn the repaired image (and its copy with rules) by a quadrant, keeping the transforms."""
    if result.ruled is not None and result.ruled_matrix is not None:
        rh, rw = result.ruled.shape[:2]
        result.ruled_matrix = _quadrant_matrix(degrees_cw, rw, rh) @ result.ruled_matrix
        result.ruled = rotate_quadrant(result.ruled, degrees_cw)
    h, w = result.image.shape[:2]
    result.apply(
        f"rotate{degrees_cw}",
        rotate_quadrant(result.image, degrees_cw),
        _quadrant_matrix(degrees_cw, w, h),
    )
    m = result.measurements
    m.rotation_applied = (m.rotation_applied + degrees_cw) % 360


def check_orientation(
    result: RepairResult, engine: OrientationSource, timeout_s: float
) -> int | None:
    """Ask the engine (Tesseract OSD) which way up the repaired page is; rotate it.

    OSD runs on a copy downscaled to ~24-pixel glyphs (its cost grows with the
    pixel count), cut to a band of :data:`OSD_GLYPHS` glyphs (and with their number).
    Returns the rotation applied, or None when OSD cannot tell.
    """
    result.orientation_checked = True
    th = result.text_height
    factor = min(1.0, OSD_GLYPH_PX / th) if th == th else min(1.0, 1600 / max(result.image.shape))
    small = rescale(result.image, factor)
    rows = glyph_rows(small, th * factor, OSD_GLYPHS)
    band = small if rows is None else np.ascontiguousarray(small[rows[0] : rows[1]])
    found = engine.orientation(band, timeout_s)
    result.measurements.osd_runs += 1
    if rows is not None and (found is None or found[1] < OSD_MIN_CONFIDENCE):
        # The band could not tell (blurred or sparse text there): the whole page may.
        found = engine.orientation(small, timeout_s)
        result.measurements.osd_runs += 1
    if found is None:
        return None
    rotate, confidence = found
    if rotate and confidence >= OSD_MIN_CONFIDENCE:
        rotate_result(result, rotate)
        logger.debug("rotated page by %d° (OSD confidence %.1f)", rotate, confidence)
        return rotate
    return 0 if confidence >= OSD_MIN_CONFIDENCE else None


def is_bilevel(gray: np.ndarray) -> bool:
    """True for black-and-white scans (fax, CCITT): nearly every pixel is 0 or 255."""
    sample = gray[::2, ::2]
    not_paper = int(np.count_nonzero(sample < 255))
    grey = not_paper - int(np.count_nonzero(sample == 0))
    return not_paper > 0 and grey < 0.03 * not_paper
