"""The repair plan: which repair steps a page's measurements call for, and in what order.

``repair_for_ocr`` measures a page (:mod:`extractors.measure`), then applies only the
steps of :mod:`extractors.repair` its measurements call for: crop and edge shadows,
denoise, background, specks, orientation (:mod:`extractors.turns`), deskew, ruled
lines and enlargement. It lives apart from the steps because turning a page reads it
(:mod:`extractors.turns` uses the steps), so the plan sits above both.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from extractors.measure import PageStats, contrast, glyph_height, measure_page
from extractors.repair import (
    FLAT_CONTRAST,
    LINE_GLYPHS,
    MAX_UPSCALE,
    MIN_BORDER_FRACTION,
    MIN_GLYPH_PX,
    MIN_NOISE,
    MIN_SKEW_TO_FIX,
    SPECK_AREA,
    TARGET_GLYPH_PX,
    UNEVEN_BACKGROUND,
    UPSCALE_MAX_PIXELS,
    VERTICAL_TEXT_RATIO,
    OrientationSource,
    RepairResult,
    crop,
    denoise,
    despeckle,
    estimate_skew,
    is_bilevel,
    line_mask,
    normalize_background,
    remove_lines,
    rescale,
    rotate_result,
    rotate_small,
    scaling_matrix,
    to_gray,
    translation_matrix,
    whiten_edge_shadows,
)
from extractors.turns import orient
from pipelines.config import ExtractConfig
from pipelines.model import MANY_SPECKS, ImageMeasurements


def repair_for_ocr(
    image: np.ndarray,
    cfg: ExtractConfig,
    engine: OrientationSource,
    *,
    dpi: float,
    pixels: bool = True,
) -> RepairResult:
    """Measure and repair a page image; only what the measurements call for.

    With ``pixels=False`` only the geometry is repaired (crop, orientation,
    skew): the fallback when cleaning up the pixels made the reading worse.
    """
    import cv2

    gray = to_gray(image)
    h, w = gray.shape
    stats = measure_page(gray) if cfg.repair_images else None
    measurements = ImageMeasurements(width_px=w, height_px=h, dpi=dpi)
    result = RepairResult(image=gray, measurements=measurements)
    if stats is None:
        measurements.contrast = contrast(gray)
        return result
    record_stats(measurements, stats)
    th = stats.text_height
    result.text_height = th

    if stats.paper_box is not None and stats.border_fraction >= MIN_BORDER_FRACTION:
        x0, y0, _, _ = stats.paper_box
        result.apply("crop", crop(result.image, stats.paper_box), translation_matrix(-x0, -y0))
        cleaned = whiten_edge_shadows(result.image)
        if cleaned is not result.image:
            result.apply("whiten_edges", cleaned)

    if not pixels:
        stats = dataclasses.replace(
            stats, noise=0.0, contrast=1.0, background_unevenness=0.0, specks_per_glyph=0.0
        )
    # Noise is judged against the ink-to-paper contrast: normalising a faint page
    # stretches its noise by as much as its text. Noise that is strong as measured
    # is filtered by that measure (a stronger filter blurs faint text); noise that
    # only looks weak because the page is faint, by its stretched level.
    stretched = stats.noise * FLAT_CONTRAST / max(min(stats.contrast, FLAT_CONTRAST), 0.05)
    if stretched >= MIN_NOISE:
        level = stats.noise if stats.noise >= MIN_NOISE else stretched
        result.apply("denoise", denoise(result.image, level))
    if stats.contrast < FLAT_CONTRAST or stats.background_unevenness >= UNEVEN_BACKGROUND:
        result.apply("normalize_background", normalize_background(result.image, th))
        if not th >= MIN_GLYPH_PX:
            # Small glyphs, or none, measured on a faint page may be its noise: the
            # glyphs of the cleaned page decide how much it is enlarged (a typewriter
            # page at contrast 0.09: 9 px measured, 24 px once cleaned).
            again = glyph_height(result.image)
            if again == again:
                th = again
                result.text_height = th
    if stats.specks_per_glyph >= MANY_SPECKS and th == th:
        result.apply("despeckle", despeckle(result.image, max(2, round(SPECK_AREA * th * th))))

    # Geometry is measured on the cleaned page: noise and grey paper fool both.
    vertical = stats.vertical_text >= VERTICAL_TEXT_RATIO
    result.line_direction = stats.vertical_text
    if vertical and orient(result, engine, cfg.languages, cfg.ocr_timeout_s) is None:
        rotate_result(result, 90)  # lines run vertically; nothing could say which way
        result.turn_guessed = True
    skew = estimate_skew(result.image)
    measurements.skew_degrees = skew
    if abs(skew) >= MIN_SKEW_TO_FIX:
        rh, rw = result.image.shape
        m = cv2.getRotationMatrix2D((rw / 2.0, rh / 2.0), -skew, 1.0)
        result.apply("deskew", rotate_small(result.image, -skew), np.vstack([m, [0, 0, 1]]))

    if th == th:
        length = max(round(LINE_GLYPHS * th), result.image.shape[1] // 12)
        if pixels and line_mask(result.image[::2, ::2], max(8, length // 2)).any():
            result.ruled, result.ruled_matrix = result.image, result.matrix.copy()
            result.apply("remove_lines", remove_lines(result.image, length))
        # Glyph heights of a bilevel (fax) page are those of broken stroke fragments.
        factor = 1.0
        if pixels and not is_bilevel(gray):
            factor = upscale_factor(th, result.image.shape, cfg.max_image_pixels)
        if factor > 1.0:
            result.apply(
                f"rescale{factor:.2f}", rescale(result.image, factor), scaling_matrix(factor)
            )
            result.text_height = th * factor
    return result


def upscale_factor(text_height: float, shape: tuple[int, ...], max_pixels: int) -> float:
    """How much to enlarge a page whose glyphs are ``text_height`` px tall (1.0: leave it)."""
    if text_height != text_height or text_height >= MIN_GLYPH_PX:
        return 1.0
    factor = min(MAX_UPSCALE, TARGET_GLYPH_PX / text_height)
    pixels = float(shape[0] * shape[1])
    factor = min(factor, math.sqrt(min(max_pixels, UPSCALE_MAX_PIXELS) / pixels))
    return round(factor, 2) if factor > 1.05 else 1.0


def record_stats(m: ImageMeasurements, stats: PageStats) -> None:
    """Copy the measurements onto the page's :class:`ImageMeasurements`."""
    m.contrast = stats.contrast
    m.text_height_px = stats.text_height
    m.noise = stats.noise
    m.blur = stats.blur
    m.background_unevenness = stats.background_unevenness
    m.specks_per_glyph = stats.specks_per_glyph
    m.border_fraction = stats.border_fraction
