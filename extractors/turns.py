"""Which way up a page is, told by reading a band of it both ways it may be.

A page whose text lines run one known way can only be one of two ways up: upright
or upside down when its lines are horizontal, turned a quarter either way when they
are vertical. Reading a band of some :data:`TURN_GLYPHS` glyphs both ways — the two
versions stacked in one image, read by one Tesseract run — tells which: the right
way reads as confident real words, the wrong way as unsure guesses. That costs
one short recognition where Tesseract's OSD, which classifies its glyphs in four
orientations, costs 0.4-1.1 CPU s a page (twice that when its band cannot tell).
When the band cannot tell, OSD is asked as before
(:func:`extractors.repair.check_orientation`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from extractors.measure import glyph_box
from extractors.repair import (
    OSD_GLYPH_PX,
    VERTICAL_TEXT_RATIO,
    RepairResult,
    check_orientation,
    rescale,
    rotate_quadrant,
    rotate_result,
)
from extractors.scoring import reading_score

if TYPE_CHECKING:
    from extractors.ocr import OcrWord

logger = logging.getLogger(__name__)

TURN_GLYPHS = 40
"""Glyphs in the band read both ways (a line or two of a page of text): measured on
three pages turned a quarter, 40 glyphs cost 0.47-0.61 CPU s against 0.62-0.86 for
OSD (80 glyphs: 0.44-0.75), and told the turn as surely."""
TURN_MARGIN = 2.0
"""One way is taken when its band scores this many times the other's..."""
TURN_MIN_CONFIDENCE = 0.5
"""...and reads with at least this mean confidence: not mostly guesses (measured on
twelve bands of 40 glyphs: 0.55-0.95 the right way up, 0.15-0.34 the wrong way);
otherwise OSD is asked."""
HORIZONTAL_LINES = 1.0
"""``measure.line_direction`` below this: more of the page's ink lies in horizontal lines
than in vertical ones (measured on 99 real and generated pages: 0-0.9 on pages of text
and most receipts, 1.0-1.2 on pages whose lines could not be told, 148 and more on
pages turned a quarter)."""


@runtime_checkable
class Reader(Protocol):
    """An engine that can read words (an OCR engine, not only an orientation source)."""

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]: ...


class _Engine(Protocol):
    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None: ...


def stack(images: Sequence[np.ndarray], gap: int) -> tuple[np.ndarray, list[int]]:
    """Greyscale ``images`` one above the other on white, ``gap`` rows apart, left-aligned;
    and the row at which each begins."""
    width = max(im.shape[1] for im in images)
    height = sum(im.shape[0] for im in images) + gap * (len(images) + 1)
    out = np.full((height, width), 255, dtype=np.uint8)
    tops = []
    y = gap
    for im in images:
        out[y : y + im.shape[0], : im.shape[1]] = im
        tops.append(y)
        y += im.shape[0] + gap
    return out, tops


def turn_band(gray: np.ndarray, text_height: float, vertical: bool) -> tuple[int, int, int, int]:
    """Box ``(x0, y0, x1, y1)`` of about :data:`TURN_GLYPHS` glyphs of the page, cut
    tight: whole lines across the middle of its text (columns of it when its lines run
    vertically), or all of its text when it holds fewer."""
    f = min(1.0, OSD_GLYPH_PX / text_height) if text_height == text_height else 1.0
    small = rescale(gray, f)  # the glyphs are found on a copy of OSD's size: 2-3x faster
    if vertical:
        y0, x0, y1, x1 = glyph_box(np.ascontiguousarray(small.T), text_height * f, TURN_GLYPHS)
    else:
        x0, y0, x1, y1 = glyph_box(small, text_height * f, TURN_GLYPHS)
    h, w = gray.shape[:2]
    return (
        math.floor(x0 / f),
        math.floor(y0 / f),
        min(w, math.ceil(x1 / f)),
        min(h, math.ceil(y1 / f)),
    )


def _read(
    versions: Sequence[np.ndarray],
    engine: Reader,
    text_height: float,
    languages: str,
    timeout_s: float,
) -> list[tuple[float, float]]:
    """(score, confidence) of each of ``versions`` read in one Tesseract run, stacked."""
    gap = max(8, round(2 * text_height)) if text_height == text_height else 40
    image, tops = stack(versions, gap)
    words = engine.recognize(image, languages, timeout_s)
    english = "eng" in languages.split("+")
    out = []
    for top, version in zip(tops, versions, strict=True):
        inside = [w for w in words if top <= w.top + w.height / 2 < top + version.shape[0]]
        conf, _, score = reading_score(inside, english)
        out.append((score, conf))
    return out


def _winner(a: tuple[float, float], b: tuple[float, float]) -> int | None:
    """0 or 1: the reading that scores :data:`TURN_MARGIN` times the other and reads with
    :data:`TURN_MIN_CONFIDENCE` or more (None: neither)."""
    for i, (mine, other) in enumerate(((a, b), (b, a))):
        if mine[0] > TURN_MARGIN * other[0] and mine[1] >= TURN_MIN_CONFIDENCE:
            return i
    return None


def sideways_turn(
    result: RepairResult, engine: Reader, languages: str, timeout_s: float
) -> int | None:
    """90 or 270: the quarter turn that makes a page of vertical lines read upright
    (None: the band cannot tell). Both are read in one run, stacked."""
    x0, y0, x1, y1 = turn_band(result.image, result.text_height, vertical=True)
    band = result.image[y0:y1, x0:x1]
    turns = (90, 270)
    a, b = _read(
        [rotate_quadrant(band, t) for t in turns], engine, result.text_height, languages, timeout_s
    )
    logger.debug("turned 90 / 270: %.0f (conf %.2f) vs %.0f (conf %.2f)", *a, *b)
    won = _winner(a, b)
    return None if won is None else turns[won]


def upside_down(
    result: RepairResult,
    words: Sequence[OcrWord],
    engine: Reader,
    languages: str,
    timeout_s: float,
) -> bool | None:
    """Whether a page of horizontal lines, read as ``words``, is upside down (None: the
    band cannot tell). Only the band turned round is read: the page's reading of it is
    ``words``. It is upside down when the turned band reads better by
    :data:`TURN_MARGIN` and surely (:data:`TURN_MIN_CONFIDENCE`); upright when the
    page's reading of the band scores that much higher than the turned band, however
    unsure (blackletter, a poor scan), or reads it twice as confidently: upside-down
    text never reads twice as well, or as surely, as the same text upright (measured:
    confidence 0.14-0.37 the wrong way round, 0.52-0.96 the right way).
    """
    x0, y0, x1, y1 = turn_band(result.image, result.text_height, vertical=False)
    band = result.image[y0:y1, x0:x1]
    english = "eng" in languages.split("+")
    inside = [
        w
        for w in words
        if x0 <= w.left and w.left + w.width <= x1 and y0 <= w.top and w.top + w.height <= y1
    ]
    conf, _, score = reading_score(inside, english)
    turned = _read([rotate_quadrant(band, 180)], engine, result.text_height, languages, timeout_s)[
        0
    ]
    logger.debug(
        "as read / turned round: %.0f (conf %.2f) vs %.0f (conf %.2f)", score, conf, *turned
    )
    if _winner(turned, (score, conf)) == 0:
        return True
    if score > TURN_MARGIN * turned[0] or conf > TURN_MARGIN * turned[1]:
        return False
    return None


def orient(
    result: RepairResult,
    engine: _Engine,
    languages: str,
    timeout_s: float,
    words: Sequence[OcrWord] | None = None,
) -> int | None:
    """Turn the repaired page upright; the turn applied, or None when it cannot be told.

    A page whose lines run vertically is read turned both ways
    (:func:`sideways_turn`); one whose lines run horizontally (its
    ``line_direction`` below :data:`HORIZONTAL_LINES`) and that was read as
    ``words`` is checked for being upside down (:func:`upside_down`). Any other page,
    or one the band cannot tell, is asked of OSD.
    """
    if isinstance(engine, Reader):
        turn: int | None = None
        if result.line_direction >= VERTICAL_TEXT_RATIO:
            turn = sideways_turn(result, engine, languages, timeout_s)
        elif words is not None and result.line_direction < HORIZONTAL_LINES:
            flipped = upside_down(result, words, engine, languages, timeout_s)
            turn = None if flipped is None else 180 if flipped else 0
        if turn is not None:
            result.orientation_checked = True
            if turn:
                rotate_result(result, turn)
            logger.debug("turned the page %d° (a band read turned)", turn)
            return turn
    return check_orientation(result, engine, timeout_s)
