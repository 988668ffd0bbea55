"""Adaptive OCR's search: what it reads, on what, and what it skips.

Scripted engines stand in for Tesseract so the test can see every call (the
image it was given) and decide what each version of the page reads as; the
repair in front of them is the real one.
"""

from __future__ import annotations

import time
from dataclasses import astuple

import numpy as np

from extractors.adaptive import Reading, looks_turned, reading_score, recognize_page, sample_band
from extractors.ocr import OcrWord
from extractors.repair import RepairResult
from pipelines.config import ExtractConfig
from pipelines.model import ImageMeasurements
from tests.imaging import LINES, render_text_page

TEXT = LINES * 3  # 15 lines: enough for a band to be a real saving
PAGE = render_text_page(TEXT, dpi=300, fontsize=10)  # glyphs of 24 px: not enlarged


def _line_words(n_lines: int, conf: list[float], line_h: int = 20, gap: int = 10) -> list[OcrWord]:
    words = []
    for i in range(n_lines):
        top = 50 + i * (line_h + gap)
        for k, text in enumerate(LINES[i % len(LINES)].split()):
            words.append(OcrWord(text, 40 + 60 * k, top, 50, line_h, conf[i], 1, 1, i + 1))
    return words


def test_sample_band_cuts_between_lines_where_the_reading_is_least_sure() -> None:
    conf = [0.95] * 15
    conf[9] = conf[10] = conf[11] = 0.3
    words = _line_words(15, conf)
    band = sample_band(words, height=600)
    assert band is not None
    y0, y1 = band
    inside = [w for w in words if y0 <= w.top and w.top + w.height <= y1]
    assert {w.line for w in inside} >= {10, 11, 12}  # the unsure lines
    assert len({w.line for w in inside}) == 5  # a third of the lines
    # No word is cut by the band's edges.
    assert all(w.top + w.height <= y0 or w.top >= y1 or w in inside for w in words)


def test_no_band_on_a_page_of_few_lines() -> None:
    assert sample_band(_line_words(5, [0.4] * 5), height=600) is None
    assert sample_band([], height=600) is None


def _lines_read(image: np.ndarray, conf: float) -> list[OcrWord]:
    """The lines of ``TEXT`` that fit ``image`` (a page or a band of it), read at ``conf``."""
    n = max(1, round(len(TEXT) * image.shape[0] / PAGE.shape[0]))
    step = image.shape[0] // (n + 1)
    return [
        OcrWord(t, 20 + 40 * k, step * (i + 1), 30, step // 2, conf, 1, 1, i + 1)
        for i in range(n)
        for k, t in enumerate(TEXT[i % len(TEXT)].split())
    ]


class BandAwareEngine:
    """Reads every line of the page; binarised images well, others unsurely.

    ``helps`` says whether binarising helps; ``calls`` keeps the height of every
    image read, to tell a sample band from a whole page.
    """

    name = "scripted"

    def __init__(self, helps: bool) -> None:
        self.helps = helps
        self.calls: list[int] = []
        self.osd_calls = 0

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.calls.append(image.shape[0])
        binary = set(np.unique(image[::5, ::5])) <= {0, 255}
        conf = 0.95 if binary and self.helps else (0.5 if binary else 0.7)
        return _lines_read(image, conf)

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        self.osd_calls += 1
        return None


def test_an_alternative_that_loses_on_the_sample_is_never_read_whole() -> None:
    engine = BandAwareEngine(helps=False)
    reading = recognize_page(PAGE, ExtractConfig(), engine, dpi=150)
    full = engine.calls[0]
    assert len(engine.calls) == 2 and engine.calls[1] < full / 2  # one band trial, then stop
    assert reading.label == "psm3"
    assert reading.repair.measurements.ocr_attempts == 2  # band trials are counted passes
    assert engine.osd_calls == 0  # a poor but upright reading: OSD is not asked


def test_a_page_enlarged_from_small_print_is_read_as_it_is() -> None:
    small = render_text_page(TEXT, dpi=150, fontsize=10)  # 12 px glyphs: enlarged 2x
    engine = BandAwareEngine(helps=True)
    reading = recognize_page(small, ExtractConfig(), engine, dpi=150)
    assert any(s.startswith("rescale") for s in reading.repair.measurements.repair_steps)
    assert reading.label == "psm3" and len(engine.calls) == 1  # not binarised, not sampled


def test_an_alternative_that_wins_on_the_sample_reads_the_page_again() -> None:
    engine = BandAwareEngine(helps=True)
    reading = recognize_page(PAGE, ExtractConfig(), engine, dpi=150)
    full = engine.calls[0]
    assert engine.calls[1] < full / 2 and engine.calls[2] == full
    assert reading.label == "psm3 > binarised"
    assert reading.confidence > 0.9


def _reading(conf: float, texts: list[str]) -> Reading:
    words = [OcrWord(t, 0, 0, 1, 1, conf, 1, 1, 1) for t in texts]
    h, w = PAGE.shape[:2]
    repair = RepairResult(image=PAGE, measurements=ImageMeasurements(width_px=w, height_px=h))
    c, v, s = reading_score(words, True)
    return Reading("psm3", words, repair, c, v, s)


def test_only_a_reading_that_looks_turned_asks_for_osd() -> None:
    assert looks_turned(_reading(0.3, ["xq", "vvk", "ehT", "kciuq"]))
    assert not looks_turned(_reading(0.7, LINES[0].split()))
    assert not looks_turned(_reading(0.3, LINES[0].split()))  # unsure but real words
    assert looks_turned(_reading(0.0, []))


class WaitingEngine(BandAwareEngine):
    """Takes its time on every reading, without using the CPU (a loaded machine)."""

    def __init__(self, helps: bool, wait_s: float) -> None:
        super().__init__(helps)
        self.wait_s = wait_s

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        time.sleep(self.wait_s)
        return super().recognize(image, languages, timeout_s)


class BusyEngine(BandAwareEngine):
    """Burns CPU time on every reading."""

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        end = time.thread_time() + 1.2
        while time.thread_time() < end:
            pass
        return super().recognize(image, languages, timeout_s)


class TimedEngine(WaitingEngine):
    """A waiting engine that keeps the time limit of every reading it is asked for."""

    def __init__(self, helps: bool, wait_s: float) -> None:
        super().__init__(helps, wait_s)
        self.limits: list[float] = []

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.limits.append(timeout_s)
        return super().recognize(image, languages, timeout_s)


def test_an_alternative_s_time_limit_stretches_with_the_machine_s_load() -> None:
    """The budget is CPU time but the limit is on the clock: on a machine where the first
    reading took far longer than its CPU time, an alternative is not cut short."""
    cfg = ExtractConfig(page_time_budget_s=6.0, ocr_timeout_s=60.0)
    idle = TimedEngine(helps=True, wait_s=0.0)
    recognize_page(PAGE, cfg, idle, dpi=150)
    loaded = TimedEngine(helps=True, wait_s=0.4)
    recognize_page(PAGE, cfg, loaded, dpi=150)
    assert idle.limits[0] == loaded.limits[0] == 60.0  # the first reading: the plain limit
    # An alternative: the CPU seconds left, stretched by how much the clock ran ahead.
    assert loaded.limits[1] > 6.0 and loaded.limits[1] > idle.limits[1]


def test_the_page_budget_counts_cpu_time_not_waiting() -> None:
    cfg = ExtractConfig(page_time_budget_s=2.0)
    waiting = WaitingEngine(helps=True, wait_s=1.2)
    assert recognize_page(PAGE, cfg, waiting, dpi=150).label == "psm3 > binarised"
    busy = BusyEngine(helps=True)
    assert recognize_page(PAGE, cfg, busy, dpi=150).label == "psm3"
    assert len(busy.calls) == 1


class RuinedPageEngine(BandAwareEngine):
    """A ruined page: the first reading is guesses (0.2). Binarised, its sample band reads
    at ``band`` and the whole page at ``page``; other modes read as psm 3 does."""

    def __init__(self, band: float, page: float, psm: int = 3) -> None:
        super().__init__(helps=True)
        self.band, self.page, self.psm = band, page, psm
        self.log: list[str] = []
        self.page_height: list[int] = []

    def with_psm(self, psm: int) -> RuinedPageEngine:
        other = RuinedPageEngine(self.band, self.page, psm)
        other.log, other.page_height = self.log, self.page_height  # one log for all modes
        return other

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        binary = set(np.unique(image[::5, ::5])) <= {0, 255}
        if not self.log:
            self.page_height.append(image.shape[0])  # the first reading is of the whole page
        whole = image.shape[0] > self.page_height[0] / 2
        self.log.append(
            f"psm{self.psm} {'binarised ' if binary else ''}{'page' if whole else 'band'}"
        )
        conf = 0.2 if not binary else (self.page if whole else self.band)
        return _lines_read(image, conf)


FIRST = ["psm3 page", "psm3 binarised band"]


def _search(engine: RuinedPageEngine) -> Reading:
    return recognize_page(PAGE, ExtractConfig(max_ocr_attempts=8), engine, dpi=150)


def test_a_hopeless_reading_is_read_again_only_after_a_rescue_on_the_sample() -> None:
    engine = RuinedPageEngine(band=0.25, page=0.25)  # 1.25x on the band: no rescue
    assert _search(engine).label == "psm3"
    assert engine.log == FIRST


def test_a_reading_left_hopeless_by_a_small_gain_ends_the_search() -> None:
    engine = RuinedPageEngine(band=0.4, page=0.25)  # the band promised more than the page gave
    reading = _search(engine)
    assert reading.label == "psm3 > binarised" and reading.confidence < 0.5
    assert engine.log == [*FIRST, "psm3 binarised page"]  # nothing after it
    assert reading.repair.measurements.ocr_attempts == 3


def test_a_hopeless_reading_is_not_re_read_whole_without_a_sample() -> None:
    engine = RuinedPageEngine(band=0.4, page=0.4)  # 2x, still hopeless: the search goes on
    _search(engine)
    assert engine.log[:3] == [*FIRST, "psm3 binarised page"]
    assert "psm3 page" not in engine.log[1:]  # no re-read without a sample (geometry only)
    assert engine.log[3:] == ["psm6 binarised band"]  # the next sampled alternative is


class FewLinesEngine(RuinedPageEngine):
    """A ruined page on which OCR finds only two lines: too few for a sample band."""

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        return [w for w in super().recognize(image, languages, timeout_s) if w.line <= 2]


def test_a_hopeless_reading_too_short_to_sample_is_not_re_read() -> None:
    engine = FewLinesEngine(band=0.9, page=0.9)
    assert _search(engine).label == "psm3"
    assert engine.log == ["psm3 page"]


def test_a_reading_lifted_out_of_hopelessness_lets_the_search_go_on() -> None:
    engine = RuinedPageEngine(band=0.6, page=0.6)
    reading = _search(engine)
    # The search goes on: not to the page without its pixel repairs (binarising them
    # read better), to the next sampled alternative.
    assert engine.log == [*FIRST, "psm3 binarised page", "psm6 binarised band"]
    assert reading.label == "psm3 > binarised" and reading.confidence > 0.5


class UnusualTextEngine(BandAwareEngine):
    """Reads the page confidently; ``real`` of every ten words are dictionary words."""

    def __init__(self, real: int, conf: float = 0.9) -> None:
        super().__init__(helps=False)
        self.real = real
        self.conf = conf

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        words = _lines_read(image, self.conf)
        self.calls.append(image.shape[0])
        return [
            w if i % 10 < self.real else OcrWord("Qxz" + str(i), *astuple(w)[1:])
            for i, w in enumerate(words)
        ]


def test_a_confident_reading_of_unusual_words_is_kept_as_read() -> None:
    receipt = UnusualTextEngine(real=6)  # codes and abbreviations, read surely
    assert recognize_page(PAGE, ExtractConfig(), receipt, dpi=150).validity < 0.8
    assert len(receipt.calls) == 1  # no alternative: the image is not the problem
    garbage = UnusualTextEngine(real=3)  # mostly non-words: worth another look
    recognize_page(PAGE, ExtractConfig(), garbage, dpi=150)
    assert len(garbage.calls) == 2  # a band trial


def test_an_unsure_reading_of_unusual_words_on_a_clean_page_is_kept_as_read() -> None:
    receipt = UnusualTextEngine(real=6, conf=0.6)  # a receipt read unsurely
    reading = recognize_page(PAGE, ExtractConfig(), receipt, dpi=150)
    assert 0.5 <= reading.validity < 0.8 and reading.confidence < 0.8
    assert "denoise" not in reading.repair.measurements.repair_steps
    assert len(receipt.calls) == 1  # clean pixels: binarising them will not make codes words


def test_an_unsure_reading_of_unusual_words_on_a_noisy_page_is_tried_another_way() -> None:
    rng = np.random.default_rng(3)
    noisy = np.clip(PAGE.astype(np.float32) + rng.normal(0, 12, PAGE.shape), 0, 255)
    receipt = UnusualTextEngine(real=6, conf=0.6)
    reading = recognize_page(noisy.astype(np.uint8), ExtractConfig(), receipt, dpi=150)
    assert "denoise" in reading.repair.measurements.repair_steps
    assert len(receipt.calls) >= 2 and receipt.calls[1] < receipt.calls[0] / 2
    # the pixels may be at fault: a band trial


class PoorPageEngine(RuinedPageEngine):
    """A page read poorly (0.7), not hopelessly; binarised as ``band`` and ``page`` say."""

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        words = super().recognize(image, languages, timeout_s)
        return [
            OcrWord(*astuple(w)[:5], 0.7, *astuple(w)[6:]) if w.confidence == 0.2 else w
            for w in words
        ]


def test_a_re_read_that_wins_by_little_ends_the_search() -> None:
    engine = PoorPageEngine(band=0.8, page=0.72)  # the whole page gains 3 %
    reading = _search(engine)
    assert reading.label == "psm3 > binarised"
    assert engine.log == [*FIRST, "psm3 binarised page"]  # no psm6 trial after it


def test_a_re_read_that_wins_by_much_lets_the_search_go_on() -> None:
    engine = PoorPageEngine(band=0.79, page=0.79)  # 13 %, and still under 0.8
    _search(engine)
    assert engine.log == [*FIRST, "psm3 binarised page", "psm6 binarised band"]
