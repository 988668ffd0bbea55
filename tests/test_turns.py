"""Which way up a page is, told by reading a band of it turned (real Tesseract), OSD
asked only when the band cannot tell."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.adaptive import recognize_page
from extractors.measure import glyph_box, glyph_stats, ink_mask, measure_page
from extractors.ocr import TesseractEngine
from extractors.repair import RepairResult, rotate_quadrant
from extractors.turns import orient, stack, upside_down
from pipelines.config import ExtractConfig
from pipelines.model import ImageMeasurements
from tests.imaging import LINES, render_text_page


class NoOsd(TesseractEngine):
    """Real Tesseract that counts how often OSD is asked (and never answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.osd_calls = 0

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        self.osd_calls += 1
        return None


PROSE = [f"{LINES[i % 5]} {LINES[(i + 1) % 5]}" for i in range(12)]
"""Twelve long lines: a page whose lines are measured horizontal."""


def _repaired(page: np.ndarray) -> RepairResult:
    stats = measure_page(page)
    result = RepairResult(
        image=page, measurements=ImageMeasurements(width_px=page.shape[1], height_px=page.shape[0])
    )
    result.text_height = stats.text_height
    result.line_direction = stats.vertical_text
    return result


def test_stack_puts_images_one_above_the_other_on_white() -> None:
    a = np.zeros((3, 4), np.uint8)
    b = np.full((2, 6), 7, np.uint8)
    out, tops = stack([a, b], gap=5)
    assert out.shape == (5 + 3 + 5 + 2 + 5, 6)
    assert tops == [5, 13]
    assert (out[5:8, :4] == 0).all() and (out[5:8, 4:] == 255).all()
    assert (out[13:15] == 7).all() and (out[:5] == 255).all() and (out[-5:] == 255).all()


def test_glyph_box_holds_a_band_of_the_page_s_glyphs_cut_tight() -> None:
    page = render_text_page(LINES * 4, dpi=150, fontsize=11)
    th = glyph_stats(ink_mask(page)).height
    x0, y0, x1, y1 = glyph_box(page, th, 40)
    assert y1 - y0 < page.shape[0] / 3 and x1 - x0 < page.shape[1]  # a band, cut to its text
    inked = np.flatnonzero(ink_mask(page).any(axis=1))
    assert inked[0] - th <= y0 and y1 <= inked[-1] + th + 1
    # A page with fewer glyphs than asked: the box of all of its text.
    fx0, fy0, fx1, fy1 = glyph_box(page, th, 100_000)
    assert fy0 <= inked[0] and fy1 >= inked[-1] and fx1 - fx0 < page.shape[1]


@pytest.mark.usefixtures("tesseract")
@pytest.mark.parametrize(("turned", "needs"), [(90, 270), (270, 90)])
def test_a_page_of_vertical_lines_is_turned_upright_without_osd(turned: int, needs: int) -> None:
    result = _repaired(rotate_quadrant(render_text_page(LINES * 2, dpi=200), turned))
    engine = NoOsd()
    assert orient(result, engine, "eng", 60) == needs
    assert result.measurements.rotation_applied == needs
    assert engine.osd_calls == 0


@pytest.mark.usefixtures("tesseract")
def test_an_upside_down_page_is_turned_round_without_osd() -> None:
    page = rotate_quadrant(render_text_page(PROSE, dpi=200, fontsize=10), 180)
    engine = NoOsd()
    reading = recognize_page(page, ExtractConfig(), engine, dpi=200)
    m = reading.repair.measurements
    assert m.rotation_applied == 180 and reading.label.endswith("turned")
    assert engine.osd_calls == 0 and m.osd_runs == 0
    assert "quick brown fox" in " ".join(w.text for w in reading.words)


@pytest.mark.usefixtures("tesseract")
def test_an_upright_page_read_unsurely_is_left_upright_without_osd() -> None:
    """The band turned round reads worse than the page's own reading of it: upright."""
    result = _repaired(render_text_page(PROSE, dpi=200, fontsize=10))
    engine = NoOsd()
    unsure = [
        w.__class__(**{**w.__dict__, "confidence": 0.4})
        for w in engine.recognize(result.image, "eng", 60)
    ]
    assert upside_down(result, unsure, engine, "eng", 60) is False
    assert orient(result, engine, "eng", 60, unsure) == 0
    assert result.measurements.rotation_applied == 0 and engine.osd_calls == 0
