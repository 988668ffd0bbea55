"""Adaptive OCR of one page: repair, read, and re-read a poor reading another way.

``recognize_page`` repairs the page (:func:`extractors.repair_plan.repair_for_ocr`) and
reads it once. When that reading is poor (low mean confidence or few real words)
it tries a bounded list of alternatives — the page turned upright
(:func:`extractors.turns.orient`), or the other
way round when repair had to guess which way to turn a page of vertical lines
(only when the reading looks like a page read sideways or upside down), a Sauvola-binarised
image, other Tesseract page segmentation modes — while each one helps, up to
``ExtractConfig.max_ocr_attempts`` readings and within the page's time budget
(``page_time_budget_s``, counted in CPU seconds so that a loaded machine reads
a page as an idle one does; an alternative's time limit on the clock is that CPU
time stretched by how much slower than its CPU time the page's first reading
ran), and keeps the reading with the most confident real
text (:func:`reading_score`).

An alternative that keeps the page's geometry is first tried on a sample: a band
of whole text lines, the third of the page the first reading found hardest
(:func:`sample_band`). Only when it reads that band better than the first reading
did is the whole page read again with it, so a page that no alternative helps
costs a third of a reading more, not two. Which reading won and how many passes
were made (band trials included) is recorded on ``ImageMeasurements``
(``ocr_path``, ``ocr_attempts``).

A ruined page (a reading of mostly guesses, :func:`is_hopeless`) is searched
sparingly: besides turning it upright, an alternative is read whole only when it reads
the sample band :data:`HOPELESS_GAIN` times better (none that has no sample); once a
whole re-read has left it hopeless with a smaller gain, or has run out of time on
it, no further alternative is read. A page a whole re-read improved only a little
(:data:`SETTLED_GAIN`) reads about as well as it can: the search ends there too, and
a reading of unusual text on a clean page (:func:`is_unusual_text`) is not searched.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from extractors.cut_rows import rows_cut
from extractors.repair import (
    RepairResult,
    binarize,
    is_bilevel,
    rotate_result,
)
from extractors.repair_plan import repair_for_ocr
from extractors.scoring import reading_score
from extractors.turns import orient
from pipelines.config import ExtractConfig
from pipelines.errors import LanguagePackMissing, OcrEngineUnavailable, OcrError

if TYPE_CHECKING:
    import numpy as np

    from extractors.ocr import OcrEngine, OcrWord

__all__ = ["reading_score"]

logger = logging.getLogger(__name__)

GOOD_CONFIDENCE = 0.80
"""A reading whose character-weighted mean confidence reaches this is kept as is..."""
GOOD_VALIDITY = 0.50
"""...if its share of real words (English only) reaches this too. A confident reading
with fewer real words than 0.8 is unusual text, not a poor image: receipts, codes,
abbreviations, another language (real corpus: nine such pages at 0.51-0.72, none
read better by any alternative, two re-read whole for nothing)."""
UNUSUAL_VALIDITY = 0.80
"""A reading with a share of real words from :data:`GOOD_VALIDITY` up to this is of
unusual text however confident it is, and is kept as read unless its page was noisy
(denoised): its words, not its pixels, make it score low, and no other version of
the same clean pixels turns codes into words. Measured: the real corpus's eight such
readings (receipts, 0.51-0.75, confidence 0.42-0.81, none denoised) each paid a
binarised band trial (0.3-0.8 CPU seconds) and none won. On a noisy page the pixels
may be at fault too: generated 013_receipt_heavy (0.76, denoised) read binarised
went from 42.9 % to 35.5 % CER."""
ALTERNATIVE_PSMS = (6, 4)
TURNED_CONFIDENCE = 0.55
"""A page read sideways or upside down reads with a mean confidence below this...
(measured: 0.18-0.37 on turned pages, 0.8 and more on poor upright receipts)..."""
TURNED_VALIDITY = 0.5
"""...and with fewer real words than this (0.2-0.36 turned). Only then is the page's
orientation checked (a band read turned round, or OSD): a Tesseract run of its own."""
BAND_SHARE = 1 / 3
"""A sample band holds about this share of the page's text lines."""
MIN_BAND_LINES = 4
"""Pages with fewer lines in a band than this are read whole (a band saves nothing)."""


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


def cpu_seconds() -> float:
    """CPU seconds of this thread and of the finished child processes (Tesseract runs).

    The page budget counts CPU time, not wall time, so a loaded machine reads a page
    the same way as an idle one. Children are counted per process: when pages are
    read by several threads of one process, each page is charged its neighbours'
    Tesseract runs too, which only makes the budget stricter.
    """
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.thread_time() + kids.ru_utime + kids.ru_stime


def looks_turned(reading: Reading) -> bool:
    """True when a reading is what Tesseract makes of a page sideways or upside down."""
    if not reading.words:
        return True
    low_validity = reading.validity != reading.validity or reading.validity < TURNED_VALIDITY
    return reading.confidence < TURNED_CONFIDENCE and low_validity


def _text_lines(words: list[OcrWord]) -> list[tuple[int, int, list[OcrWord]]]:
    """Words grouped into horizontal bands that no word box crosses: (top, bottom, words)."""
    lines: list[tuple[int, int, list[OcrWord]]] = []
    for w in sorted(words, key=lambda w: w.top):
        top, bottom = w.top, w.top + w.height
        if lines and top < lines[-1][1]:
            t, b, ws = lines[-1]
            lines[-1] = (t, max(b, bottom), [*ws, w])
        else:
            lines.append((top, bottom, [w]))
    return lines


def sample_band(words: list[OcrWord], height: int) -> tuple[int, int] | None:
    """Rows ``(y0, y1)`` of the band of whole lines where the reading is least sure.

    The band holds about :data:`BAND_SHARE` of the lines and of the page's height
    (at least :data:`MIN_BAND_LINES` lines) and is cut half-way between lines, so no
    word is cut. None when the page has too few lines for a band to save anything.
    """
    lines = _text_lines(words)
    if len(lines) < 2 * MIN_BAND_LINES:
        return None
    most = max(MIN_BAND_LINES, math.ceil(len(lines) * BAND_SHARE))
    doubt = [sum(len(w.text) * (1.0 - w.confidence) for w in ws) for _, _, ws in lines]
    best: tuple[float, int, int] | None = None
    for start in range(len(lines)):
        end = start
        while (
            end + 1 < len(lines)
            and end + 1 - start < most
            and lines[end + 1][1] - lines[start][0] <= height * BAND_SHARE
        ):
            end += 1
        if end + 1 - start >= MIN_BAND_LINES:
            total = sum(doubt[start : end + 1])
            if best is None or total > best[0]:
                best = (total, start, end)
    if best is None:
        return None
    _, start, end = best
    y0 = 0 if start == 0 else (lines[start - 1][1] + lines[start][0]) // 2
    y1 = height if end == len(lines) - 1 else (lines[end][1] + lines[end + 1][0] + 1) // 2
    return y0, y1


def is_hopeless(reading: Reading) -> bool:
    """True when a reading is mostly guesses: confidence under :data:`HOPELESS_CONFIDENCE`."""
    return not reading.words or reading.confidence < HOPELESS_CONFIDENCE


def is_unusual_text(reading: Reading) -> bool:
    """True when a reading of a clean page is of codes, numbers and abbreviations (a
    receipt, a parts list), not of prose, by its share of real words
    (:data:`UNUSUAL_VALIDITY`); a denoised page's poor reading may be its pixels'."""
    v = reading.validity
    if "denoise" in reading.repair.measurements.repair_steps:
        return False
    return v == v and GOOD_VALIDITY <= v < UNUSUAL_VALIDITY


def is_enlarged(reading: Reading) -> bool:
    """True when the page read was enlarged from small print (a ``rescale`` repair step).

    Such a page is only turned upright, not searched for a better reading of its pixels
    (a reading whose rows were cut apart is still re-read as rows): Tesseract's LSTM reads
    grey levels, and on print enlarged from a low resolution the grey edges of the
    glyphs carry much of their shape, which binarising throws away; and every re-read
    costs up to four times the page's own pixels. Measured on the real corpus's
    100-dpi forms: two binarised band trials lost (0.6-0.7 CPU s each) and one won by
    7 % only to read the same characters (107 vs 108 edits) and more wrong words (50 vs
    39); generated 007_receipt_medium, the corpus's other enlarged page read twice,
    lost its trial too. No later alternative ever ran after them.
    """
    return any(step.startswith("rescale") for step in reading.repair.measurements.repair_steps)


def is_poor(reading: Reading) -> bool:
    """True when a reading is worth reading another way (see :data:`GOOD_CONFIDENCE`)."""
    if not reading.words:
        return True
    if is_unusual_text(reading):
        return False
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
        turn_guessed=repair.turn_guessed,
        line_direction=repair.line_direction,
        ruled=repair.ruled,
        ruled_matrix=repair.ruled_matrix,
    )


def recognize_page(
    image: np.ndarray, cfg: ExtractConfig, engine: OcrEngine, *, dpi: float
) -> Reading:
    """Repair and read a page, re-reading it another way while the reading is poor."""
    start, start_wall = cpu_seconds(), time.perf_counter()
    english = "eng" in cfg.languages.split("+")
    repair = repair_for_ocr(image, cfg, engine, dpi=dpi)
    passes = 0
    readings = 0
    osd_runs = repair.measurements.osd_runs

    def recognize(eng: OcrEngine, pixels: np.ndarray, timeout_s: float) -> list[OcrWord]:
        nonlocal passes
        passes += 1
        return eng.recognize(pixels, cfg.languages, timeout_s)

    def read(label: str, version: RepairResult, eng: OcrEngine, timeout_s: float) -> Reading:
        nonlocal readings
        readings += 1
        words = recognize(eng, version.image, timeout_s)
        conf, validity, score = reading_score(words, english)
        logger.debug("%s: conf %.2f validity %.2f score %.0f", label, conf, validity, score)
        return Reading(label, words, version, conf, validity, score)

    def helps_on_sample(alt: _Alternative, best: Reading, timeout_s: float) -> bool:
        """Whether ``alt`` reads the best reading's least sure band better than it did."""
        if alt.trial is None:
            return True
        band = sample_band(best.words, best.repair.image.shape[0])
        if band is None:  # too few lines to sample: read the page whole (not a ruined one)
            return not is_hopeless(best)
        y0, y1 = band
        need = HOPELESS_GAIN if is_hopeless(best) else BAND_IMPROVEMENT
        made = alt.trial(best, best.repair.image[y0:y1])
        if made is None:
            return True  # does not apply: make() says so and the search goes on
        pixels, eng = made
        trial = reading_score(recognize(eng, pixels, timeout_s), english)[2]
        inside = [w for w in best.words if y0 <= w.top and w.top + w.height <= y1]
        before = reading_score(inside, english)[2]
        logger.debug("%s on rows %d-%d: score %.0f vs %.0f", alt.label, y0, y1, trial, before)
        return trial > before * need

    best = read("psm3", repair, engine, cfg.ocr_timeout_s)
    first_s = cpu_seconds() - start
    # How much longer than its CPU time this page's work took on the clock (a loaded
    # machine): an alternative's time limit is enforced on the clock, so it gets the
    # CPU seconds left in the budget stretched as much.
    slowdown = max(1.0, (time.perf_counter() - start_wall) / first_s) if first_s > 0 else 1.0

    def time_left() -> float | None:
        """The clock seconds the next reading may take, or None when the page budget
        would not fit another reading as long as the first. A reading may not run past
        the budget (nor be cut below a floor)."""
        elapsed = cpu_seconds() - start
        if elapsed + first_s > cfg.page_time_budget_s:
            logger.debug("page time budget spent after %.1f CPU seconds", elapsed)
            return None
        return min(cfg.ocr_timeout_s, max(5.0, cfg.page_time_budget_s - elapsed) * slowdown)

    for alt in _alternatives(image, engine, cfg, dpi) if cfg.repair_images else []:
        if not is_poor(best) or readings >= cfg.max_ocr_attempts:
            break
        if is_enlarged(best) and not alt.turns:
            logger.debug("an enlarged page is read as it is: no %s", alt.label)
            break
        timeout = time_left()
        if timeout is None:
            break
        if is_hopeless(best) and alt.trial is None and not alt.turns:
            logger.debug("%s skipped: a hopeless reading is re-read only on a sample", alt.label)
            continue
        try:
            if not helps_on_sample(alt, best, timeout):
                break  # an alternative that does not help: the page is as good as it gets
            made = alt.make(best)
            if made is None:
                continue
            version, eng = made
            osd_runs = max(osd_runs, version.measurements.osd_runs)
            reading = read(f"{best.label} > {alt.label}", version, eng, timeout)
        except (OcrEngineUnavailable, LanguagePackMissing):
            raise
        except OcrError as exc:  # an alternative failing leaves the best reading standing
            logger.debug("OCR alternative %s failed: %s", alt.label, exc)
            if is_hopeless(best):
                break  # out of time on a ruined page: the next re-read would be too
            continue
        if reading.score <= best.score * IMPROVEMENT:
            break
        gain = reading.score / best.score if best.score > 0 else math.inf
        best = reading
        if is_hopeless(best) and gain < HOPELESS_GAIN:
            logger.debug("still hopeless after %s (score x%.2f): no more passes", alt.label, gain)
            break
        if gain < SETTLED_GAIN:
            logger.debug("%s gained only x%.2f: the page reads as well as it can", alt.label, gain)
            break
    if (
        rows_cut(best.words)
        and isinstance(engine, PsmSwitchable)
        and readings < cfg.max_ocr_attempts
        and (timeout := time_left()) is not None
    ):
        best = _read_as_rows(best, engine, read, timeout)
    m = best.repair.measurements
    m.ocr_path = best.label
    m.ocr_attempts = passes
    m.osd_runs = max(osd_runs, m.osd_runs)  # OSD that found nothing to turn counts too
    return best


def _read_as_rows(
    best: Reading,
    engine: PsmSwitchable,
    read: Callable[[str, RepairResult, OcrEngine, float], Reading],
    timeout_s: float,
) -> Reading:
    """The page read as one uniform block (``--psm 6``) when its reading cut rows apart
    (:func:`extractors.cut_rows.rows_cut`), unless that reads it worse."""
    try:
        rows = read(f"{best.label} > psm6 rows", best.repair, engine.with_psm(6), timeout_s)
    except (OcrEngineUnavailable, LanguagePackMissing):
        raise
    except OcrError as exc:
        logger.debug("re-reading cut rows failed: %s", exc)
        return best
    return rows if rows.score >= best.score * ROWS_KEPT else best


IMPROVEMENT = 1.02
"""An alternative replaces the best reading when it scores this much higher."""
SETTLED_GAIN = 1.10
"""A whole re-read that wins by less than this ends the search: the page already reads
about as well as it can, and the next alternative would cost a band trial (or more) for
nothing (measured: after binarised re-reads that won by 4 % and 7 %, psm6 lost on the
sample or on the whole page, 0.5-1.5 CPU seconds each; no third reading ever won)."""
BAND_IMPROVEMENT = 1.05
"""An alternative is read whole when it scores this much higher on the sample band: a
third of the page scores less steadily than the whole, so it must win by more (real
corpus: band gains of 1.03 and 1.05 did not hold on the whole page, one of 1.085 did)."""
ROWS_KEPT = 0.98
"""A re-read of a page whose rows were cut apart is kept unless it scores this much
less: it puts the same characters back in order (which the score cannot see), and
often finds a few the cut lost (generated receipts: 16.6 % -> 1.2 % CER)."""
HOPELESS_CONFIDENCE = 0.5
"""A reading less confident than this is mostly guesses (a ruined page: 0.14-0.21)..."""
HOPELESS_GAIN = 1.5
"""...and is re-read whole only by an alternative that reads its sample band this many
times better. A whole re-read that leaves it hopeless, gaining less, ends the search:
the next alternatives (a whole re-read each, slow on such a page) would not rescue it
either (generated ruined pages: binarised 1.15x and 1.23x, then the next re-read ran
out of time). A turned page read upright is no longer hopeless: the search goes on."""

_Make = Callable[[Reading], "tuple[RepairResult, OcrEngine] | None"]
_Trial = Callable[[Reading, "np.ndarray"], "tuple[np.ndarray, OcrEngine] | None"]


@dataclass(frozen=True)
class _Alternative:
    label: str
    make: _Make
    """The whole page's version to read, and the engine to read it with (None: skip)."""
    trial: _Trial | None = None
    """For an alternative that keeps the page's geometry: the same change made to a
    band of the best reading's image, to try on a sample before reading it all
    (None: the alternative does not apply to this page)."""
    turns: bool = False
    """The alternative turns the page (OSD): the one tried on a hopeless reading without
    a sample, since a page read sideways or upside down reads hopelessly."""


def _alternatives(
    image: np.ndarray, engine: OcrEngine, cfg: ExtractConfig, dpi: float
) -> Iterator[_Alternative]:
    """Other ways to read a poorly read page, cheapest and likeliest first."""

    def turned(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        if not looks_turned(best):
            return None
        if best.repair.turn_guessed:
            # Turned a quarter blindly (vertical lines, OSD unsure) and read hopelessly:
            # the page is upside down now, and OSD has already said it cannot tell.
            version = _copy(best.repair)
            version.turn_guessed = False
            rotate_result(version, 180)
            return version, engine
        if best.repair.orientation_checked:
            return None
        version = _copy(best.repair)
        rotated = orient(version, engine, cfg.languages, cfg.ocr_timeout_s, best.words)
        best.repair.measurements.osd_runs = version.measurements.osd_runs
        best.repair.orientation_checked = True
        return (version, engine) if rotated else None

    def window(best: Reading) -> int:
        th = best.repair.text_height
        return max(15, round(2 * th)) if th == th else 31

    def binarised(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        if is_bilevel(best.repair.image):
            return None  # black and white already (fax): nothing to binarise
        version = _copy(best.repair, binarize(best.repair.image, window(best)))
        version.measurements.repair_steps.append("binarize")
        return version, engine

    def binarised_band(best: Reading, band: np.ndarray) -> tuple[np.ndarray, OcrEngine] | None:
        if is_bilevel(best.repair.image):
            return None
        return binarize(band, window(best)), engine

    def geometry_only(best: Reading) -> tuple[RepairResult, OcrEngine] | None:
        steps = best.repair.measurements.repair_steps
        if not steps or "binarize" in steps:
            return None  # nothing to undo, or more pixel work read better: undoing won't
        version = repair_for_ocr(image, cfg, engine, dpi=dpi, pixels=False)
        turn = best.repair.measurements.rotation_applied - version.measurements.rotation_applied
        if turn % 360:
            rotate_result(version, turn % 360)
        return version, engine

    yield _Alternative("turned", turned, turns=True)
    yield _Alternative("binarised", binarised, binarised_band)
    yield _Alternative("geometry only", geometry_only)
    if isinstance(engine, PsmSwitchable):
        for psm in ALTERNATIVE_PSMS:
            other = engine.with_psm(psm)

            def other_psm(
                best: Reading, other: OcrEngine = other
            ) -> tuple[RepairResult, OcrEngine]:
                return best.repair, other

            def other_psm_band(
                best: Reading, band: np.ndarray, other: OcrEngine = other
            ) -> tuple[np.ndarray, OcrEngine]:
                return band, other

            yield _Alternative(f"psm{psm}", other_psm, other_psm_band)
