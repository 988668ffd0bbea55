"""Rows that Tesseract cut apart (prices read as a column of their own), and the re-read
that puts them back: the sign on word boxes, and a generated receipt read by Tesseract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.textdist import body_gt_from_sidecar, cer
from extractors.adaptive import recognize_page
from extractors.cut_rows import cut_off_values, rows_cut
from extractors.ocr import OcrWord
from fixtures.generate import build_doc, plan_corpus
from pipelines.config import ExtractConfig, PipelineConfig
from pipelines.convert import convert
from tests.imaging import LINES, render_text_page

PAGE = render_text_page(LINES * 3, dpi=150, fontsize=10)


def _line(text: str, x: int, y: int, block: int, line: int = 1) -> list[OcrWord]:
    """One text line of ``text`` at (x, y), 14 px per character, in Tesseract block ``block``."""
    out, left = [], x
    for token in text.split():
        out.append(OcrWord(token, left, y, 14 * len(token), 24, 0.9, block, 1, line))
        left += 14 * (len(token) + 1)
    return out


def _receipt_cut_apart() -> list[OcrWord]:
    """The reading of generated receipt 001 (seed 7): items in one block, prices in others."""
    return [
        *_line("7410676781201 ENVELOPES C4 (500)", 62, 573, 1, 1),
        *_line("2 X 60.84", 62, 615, 1, 2),
        *_line("DESK LAMP", 62, 659, 2, 1),
        *_line("5 X 84.00", 62, 700, 2, 2),
        *_line("121.68 S", 741, 620, 3),
        *_line("420.00 Z", 741, 705, 4),
        *_line("SUB-TOTAL 617.17 GST 5% 30.86 TOTAL 648.03", 54, 800, 5),
    ]


def test_prices_level_with_items_of_another_block_are_cut_off_values() -> None:
    words = _receipt_cut_apart()
    assert cut_off_values(words) == 2
    assert rows_cut(words)


def test_prices_in_the_same_block_as_their_items_are_not_cut_off() -> None:
    words = [
        *_line("2 X 60.84", 62, 615, 1, 1),
        *_line("121.68 S", 741, 615, 1, 2),  # Tesseract kept the row's cells in one block
        *_line("5 X 84.00", 62, 700, 1, 3),
        *_line("420.00 Z", 741, 700, 1, 4),
    ]
    assert cut_off_values(words) == 0


def test_two_columns_of_prose_with_headings_are_not_cut_rows() -> None:
    left = "The committee met on Tuesday to discuss the budget"
    right = "Members agreed that the new figures need review"
    words: list[OcrWord] = []
    for i in range(8):
        words += _line(left, 40, 100 + 40 * i, 1, i + 1)
        words += _line(right, 800, 100 + 40 * i, 2, i + 1)
    words += _line("Results", 800, 420, 3)  # a short heading level with a line of prose
    words += _line("Section 2", 800, 460, 4)  # words with one digit: not a value
    words += _line("ends here.", 800, 500, 2, 9)
    assert cut_off_values(words) == 0
    assert not rows_cut(words)


def test_one_value_alone_is_not_enough() -> None:
    words = [*_line("TOTAL", 62, 615, 1), *_line("648.03", 741, 615, 2)]
    assert cut_off_values(words) == 1
    assert not rows_cut(words)


@pytest.mark.usefixtures("tesseract")
def test_a_receipt_whose_prices_tesseract_cut_off_is_read_row_by_row(tmp_path: Path) -> None:
    plan = next(p for p in plan_corpus(7) if p.name == "001_receipt_light")
    entry = build_doc(plan, tmp_path, 300)
    path = tmp_path / entry["file"]
    truth = body_gt_from_sidecar(json.loads((tmp_path / entry["sidecar"]).read_text()))
    doc = convert(path, PipelineConfig(), source_name=path.name)
    page = doc.pages[0]
    assert page.image is not None
    assert page.image.ocr_path.endswith("psm6 rows")
    # Read with psm 3 alone: 11.7 % (prices below the items, "1 X" lost); row by row: 3.5 %.
    assert cer(page.body_text(), truth) < 0.06
    assert "2 X 60.84 121.68 S" in page.body_text()


class CutRowsEngine:
    """Reads the receipt with its prices cut off under psm 3; under psm 6 row by row,
    with every word's confidence scaled by ``psm6_conf``."""

    name = "scripted"

    def __init__(self, psm: int = 3, psm6_conf: float = 1.0, log: list[int] | None = None) -> None:
        self.psm = psm
        self.psm6_conf = psm6_conf
        self.log: list[int] = [] if log is None else log

    def with_psm(self, psm: int) -> CutRowsEngine:
        return CutRowsEngine(psm, self.psm6_conf, self.log)

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.log.append(self.psm)
        words = _receipt_cut_apart()
        if self.psm != 6:
            return words
        return [
            OcrWord(
                w.text, w.left, w.top, w.width, w.height, w.confidence * self.psm6_conf, 1, 1, i
            )
            for i, w in enumerate(words)
        ]

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def test_a_reading_with_cut_rows_is_re_read_as_one_block() -> None:
    engine = CutRowsEngine()
    reading = recognize_page(PAGE, ExtractConfig(), engine, dpi=150)
    assert engine.log == [3, 6]
    assert reading.label == "psm3 > psm6 rows"
    assert reading.repair.measurements.ocr_attempts == 2


def test_a_re_read_as_one_block_that_reads_worse_is_not_kept() -> None:
    engine = CutRowsEngine(psm6_conf=0.9)  # ten per cent less sure: worse, not kept
    reading = recognize_page(PAGE, ExtractConfig(), engine, dpi=150)
    assert engine.log == [3, 6]
    assert reading.label == "psm3"


def test_no_re_read_when_the_attempts_are_spent() -> None:
    engine = CutRowsEngine()
    reading = recognize_page(PAGE, ExtractConfig(max_ocr_attempts=1), engine, dpi=150)
    assert engine.log == [3] and reading.label == "psm3"
