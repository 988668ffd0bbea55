"""Adaptive OCR of one page: repair, read, and re-read a poor reading another way.

``recognize_page`` repairs the page (:func:`extractors.repair.repair_for_ocr`) and
reads it once. When that reading is poor (low mean confidence or few real words)
it tries a bounded list of alternatives — the page turned by OSD, a Sauvola-
binarised image, other Tesseract page segmentation modes — while each one helps,
up to ``ExtractConfig.max_ocr_attempts`` readings and within the page's time
budget (``page_time_budget_s``), and keeps the reading with the most confident
real text (:func:`reading_score`). Which reading won and how
many were made is recorded on ``ImageMeasurements`` (``ocr_path``,
``ocr_attempts``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from extractors.repair import (
    RepairResult,
    binarize,
    check_orientation,
    repair_for_ocr,
    rotate_result,
)
from pipelines.config import ExtractConfig
from pipelines.errors import LanguagePackMissing, OcrEngineUnavailable, OcrError
from pipelines.textmetrics import word_validity

if TYPE_CHECKING:
    import numpy as np

    from extractors.ocr import OcrEngine, OcrWord

logger = logging.getLogger(__name__)

GOOD_CONFIDENCE = 0.80
"""A reading whose character-weighted mean confidence reaches this is kept as is..."""
GOOD_VALIDITY = 0.80
"""...if its share of real words (English only) reaches this too."""
ALTERNATIVE_PSMS = (6, 4)


@runtime_checkable
class PsmSwitchable(Protocol):
    """An engine that can read with another Tesseract page segmentation mode."""

    def with_psm(self, psm: int) -> OcrEngine: ...


@dataclass
class Reading:
    """One OCR pass over one version of the page."""

    label: str
    words: list[OcrWord]
    repair: RepairResult
    confidence: float
    """Character-weighted mean word confidence (NaN: no words)."""
    validity: float
    """Share of real words (NaN: not measured)."""
    score: float


def reading_score(words: list[OcrWord], english: bool) -> tuple[float, float, float]:
    """(confidence, validity, score) of a reading.

    The score counts confidently read characters — the sum of word length x
    confidence — scaled by the share of real words, so a reading that drops text
    and one that reads noise as words both lose.
    """
    chars = sum(len(w.text) for w in words)
    if not chars:
        return math.nan, math.nan, 0.0
    weighted = sum(len(w.text) * w.confidence for w in words)
    confidence = weighted / chars
    validity = word_validity(" ".join(w.text for w in words)) if english else math.nan
    factor = validity if validity == validity else confidence
    return confidence, validity, weighted * factor


def is_poor(reading: Reading) -> bool:
    if not reading.words:
        return True
    if reading.confidence < GOOD_CONFIDENCE:
        return True
    return reading.validity == reading.validity and reading.validity < GOOD_VALIDITY


def _copy(repair: RepairResult, image: np.ndarray | None = None) -> RepairResult:
    return RepairResult(
        image=repair.image if image is None else image,
        measurements=repair.measurements.model_copy(deep=True),
        matrix=repair.matrix.copy(),
        text_height=repair.text_height,
        orientation_checked=repair.orientation_checked,
        ruled=repair.ruled,
        ruled_matrix=repair.ruled_matrix,
    )


def recognize_page(
    image: np.ndarray, cfg: ExtractConfig, engine: OcrEngine, *, dpi: float
) -> Reading:
    """Repair and read a page, re-reading it another way while the reading is poor."""
    start = time.monotonic()
    english = "eng" in cfg.languages.split("+")
    repair = repair_for_ocr(image, cfg, engine, dpi=dpi)
    attempts = 0
    osd_runs = repair.measurements.osd_runs

    def read(label: str, version: RepairResult, eng: OcrEngine, timeout_s: float) -> Reading:
        nonlocal attempts
        attempts += 1
        words = eng.recognize(version.image, cfg.languages, timeout_s)
        conf, validity, score = reading_score(words, english)
        logger.debug("%s: conf %.2f validity %.2f score %.0f", label, conf, validity, score)
        return Reading(label, words, version, conf, validity, score)

    best = read("psm3", repair, engine, cfg.ocr_timeout_s)
    first_s = time.monotonic() - start
    for label, make in _alternatives(image, engine, cfg, dpi) if cfg.repair_images else []:
        if not is_poor(best) or attempts >= cfg.max_ocr_attempts:
            break
        elapsed = time.monotonic() - start
        remaining = cfg.page_time_budget_s - elapsed
        if elapsed + first_s > cfg.page_time_budget_s:
            logger.debug("page time budget spent after %.1fs", elapsed)
            break
        try:
            made = make(best)
            if made is None:
                continue
            version, eng = made
            osd_runs = max(osd_runs, version.measurements.osd_runs)
            # An alternative may not run past the page budget (never below a floor).
            timeout = min(cfg.ocr_timeout_s, max(5.0, remaining))
            reading = read(f"{best.label} > {label}", version, eng, timeout)
        except (OcrEngineUnavailable, LanguagePackMissing):
            raise
        except OcrError as exc:  # an alternative failing leaves the best reading standing
            logger.debug("OCR alternative %s failed: %s", label, exc)
            continue
        if reading.score > best.score * 1.02:
            best = reading
        else:
            break  # an alternative that does not help: the page is as good as it gets
    m = best.repair.measurements
    m.ocr_path = best.label
    m.ocr_attempts = attempts
    m.osd_runs = osd_runs
    return best


_Make = Callable[[Reading], "tuple[RepairResult, OcrEngine] | None"]


def _alternatives(
    image: np.ndarray, engine: OcrEngine, cfg: ExtractConfig, dpi: float
) -> Iterator[tuple[str, _Make]]:
    """Other ways to read a poorly read page, cheapest and likeliest first."""

    def turned(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        if best.repair.orientation_checked:
            return None
        version = _copy(best.repair)
        rotated = check_orientation(version, engine, cfg.ocr_timeout_s)
        best.repair.measurements.osd_runs = version.measurements.osd_runs
        best.repair.orientation_checked = True
        return (version, engine) if rotated else None

    def binarised(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        th = best.repair.text_height
        window = max(15, round(2 * th)) if th == th else 31
        version = _copy(best.repair, binarize(best.repair.image, window))
        version.measurements.repair_steps.append("binarize")
        return version, engine

    def geometry_only(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        if not best.repair.measurements.repair_steps:
            return None
        version = repair_for_ocr(image, cfg, engine, dpi=dpi, pixels=False)
        turn = best.repair.measurements.rotation_applied - version.measurements.rotation_applied
        if turn % 360:
            rotate_result(version, turn % 360)
        return version, engine

    yield "turned by OSD", turned
    yield "binarised", binarised
    yield "geometry only", geometry_only
    if isinstance(engine, PsmSwitchable):
        for psm in ALTERNATIVE_PSMS:

            def other_psm(best: Reading, psm: int = psm) -> tuple[RepairResult, OcrEngine] | None:
                assert isinstance(engine, PsmSwitchable)
                return best.repair, engine.with_psm(psm)

            yield f"psm{psm}", other_psm
