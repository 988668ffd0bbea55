"""Page-image measurement and repair before OCR (OpenCV / NumPy).

Each repair step is a pure ``ndarray -> ndarray`` function. ``repair_for_ocr``
measures a page, applies only the steps the measurements call for, and keeps
the affine transform so OCR boxes can be mapped back to the original page.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pipelines.config import ExtractConfig
from pipelines.model import ImageMeasurements

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

MIN_SKEW_TO_FIX = 0.3
"""Degrees; smaller skew does not hurt Tesseract and is left alone."""
MAX_SKEW = 8.0
OSD_MIN_CONFIDENCE = 2.0


class _OrientationSource(Protocol):
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


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Boolean mask of dark (ink) pixels by Otsu's threshold."""
    import cv2

    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return binary > 0


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


def contrast(gray: np.ndarray) -> float:
    """Spread between dark and light pixels, in [0, 1]."""
    lo, hi = np.percentile(gray[::4, ::4], [2, 98])
    return float(hi - lo) / 255.0


@dataclass
class RepairResult:
    image: np.ndarray
    measurements: ImageMeasurements
    matrix: np.ndarray = field(default_factory=lambda: np.eye(3))
    """3x3 affine transform from original image pixels to repaired image pixels."""

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        inv = np.linalg.inv(self.matrix)
        ox, oy, _ = inv @ np.array([x, y, 1.0])
        return float(ox), float(oy)


def _quadrant_matrix(degrees_cw: int, w: int, h: int) -> np.ndarray:
    k = (degrees_cw // 90) % 4
    if k == 0:
        return np.eye(3)
    if k == 1:  # (x, y) -> (h - 1 - y, x)
        return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=float)
    if k == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=float)
    return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=float)


def repair_for_ocr(
    image: np.ndarray, cfg: ExtractConfig, engine: _OrientationSource, *, dpi: float
) -> RepairResult:
    """Measure and repair a page image; only what the measurements call for."""
    import cv2

    gray = to_gray(image)
    h, w = gray.shape
    measurements = ImageMeasurements(width_px=w, height_px=h, dpi=dpi, contrast=contrast(gray))
    result = RepairResult(image=gray, measurements=measurements)
    if not cfg.repair_images:
        return result

    found = engine.orientation(gray, cfg.ocr_timeout_s)
    if found is not None:
        rotate, confidence = found
        if rotate and confidence >= OSD_MIN_CONFIDENCE:
            result.matrix = _quadrant_matrix(rotate, w, h) @ result.matrix
            result.image = rotate_quadrant(result.image, rotate)
            measurements.rotation_applied = rotate
            logger.debug("rotated page by %d° (OSD confidence %.1f)", rotate, confidence)

    skew = estimate_skew(result.image)
    measurements.skew_degrees = skew
    if abs(skew) >= MIN_SKEW_TO_FIX:
        rh, rw = result.image.shape
        m = cv2.getRotationMatrix2D((rw / 2.0, rh / 2.0), -skew, 1.0)
        result.matrix = np.vstack([m, [0, 0, 1]]) @ result.matrix
        result.image = rotate_small(result.image, -skew)
    return result
