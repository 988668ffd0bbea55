"""Page measurements, each repair step, adaptive OCR and PDF text-layer triage.

Pages are rendered from known text (tests/imaging.py) and degraded in known
ways, so every measurement and repair can be checked against the truth.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
import pytest
from rapidfuzz.distance import Levenshtein

from extractors.adaptive import reading_score, recognize_page
from extractors.base import Source
from extractors.measure import (
    background_unevenness,
    blur_level,
    contrast,
    glyph_rows,
    glyph_stats,
    ink_mask,
    line_direction,
    noise_level,
    paper_box,
)
from extractors.ocr import OcrWord, TesseractEngine
from extractors.pages import PendingOcr, run_pages
from extractors.pdf import PdfExtractor
from extractors.repair import (
    RepairResult,
    binarize,
    check_orientation,
    crop,
    denoise,
    despeckle,
    normalize_background,
    remove_lines,
    rescale,
    rotate_quadrant,
    scaling_matrix,
    translation_matrix,
    whiten_edge_shadows,
)
from extractors.repair_plan import repair_for_ocr, upscale_factor
from pipelines.config import ExtractConfig, OcrMode, PipelineConfig
from pipelines.convert import convert
from pipelines.model import ExtractionMethod, ImageMeasurements, Page
from tests.imaging import LINES, render_text_page


def _cer(hyp: str, ref: str) -> float:
    return Levenshtein.distance(" ".join(hyp.split()), " ".join(ref.split())) / len(ref)


def _source(path: Path) -> Source:
    return Source(path=path, kind="pdf", sha256=hashlib.sha256(path.read_bytes()).hexdigest())


class NoRotation:
    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


PAGE = render_text_page(dpi=300)  # glyphs of 28 px: not enlarged


def _noisy(page: np.ndarray, sigma: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(page + rng.normal(0, sigma, page.shape), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- measurements


def test_glyph_height_follows_the_font_size() -> None:
    small = glyph_stats(ink_mask(render_text_page(dpi=100))).height
    large = glyph_stats(ink_mask(render_text_page(dpi=300))).height
    assert 6 <= small <= 14
    assert large == pytest.approx(3 * small, rel=0.25)


def test_noise_and_blur_are_measured() -> None:
    import cv2

    grey = (PAGE * 0.8).astype(np.uint8)  # paper below white: noise is not clipped
    assert noise_level(grey) < 2
    assert noise_level(_noisy(grey, 15)) == pytest.approx(15, rel=0.3)
    assert blur_level(cv2.GaussianBlur(PAGE, (0, 0), 2)) < 0.5 * blur_level(PAGE)


def test_contrast_and_uneven_background() -> None:
    faded = (100 + PAGE.astype(np.float32) * 100 / 255).astype(np.uint8)
    assert contrast(PAGE) > 0.8 and contrast(faded) < 0.45
    ramp = np.linspace(0.6, 1.0, PAGE.shape[1], dtype=np.float32)[None, :]
    shaded = (PAGE * ramp).astype(np.uint8)
    assert background_unevenness(PAGE) < 0.02 < background_unevenness(shaded)


def test_paper_box_finds_the_page_inside_dark_borders() -> None:
    h, w = PAGE.shape
    framed = np.full((h + 200, w + 300), 30, np.uint8)
    framed[120 : 120 + h, 100 : 100 + w] = PAGE
    box = paper_box(framed)
    assert box is not None
    x0, y0, x1, y1 = box
    assert abs(x0 - 100) < 15 and abs(y0 - 120) < 15
    assert abs(x1 - (100 + w)) < 15 and abs(y1 - (120 + h)) < 15
    assert paper_box(PAGE) is None


def test_line_direction_tells_vertical_text() -> None:
    th = glyph_stats(ink_mask(PAGE)).height
    assert line_direction(ink_mask(PAGE), th) < 0.3
    assert line_direction(ink_mask(rotate_quadrant(PAGE, 90)), th) > 3


def test_glyph_rows_cut_a_band_of_whole_lines_around_the_middle_of_the_text() -> None:
    page = render_text_page(LINES * 5, dpi=200, fontsize=11)  # 25 lines
    mask = ink_mask(page)
    th = glyph_stats(mask).height
    rows = glyph_rows(page, th, 150)
    assert rows is not None
    y0, y1 = rows
    inked = np.flatnonzero(mask.any(axis=1))
    assert inked[0] < y0 < y1 < inked[-1]  # a band inside the text...
    middle = (inked[0] + inked[-1]) / 2
    assert y0 < middle < y1  # ...around its middle
    assert not mask[y0].any() and not mask[y1 - 1].any()  # cut between lines
    lines = 0
    for row in range(y0 + 1, y1):
        lines += int(mask[row].any() and not mask[row - 1].any())
    assert 3 <= lines <= 8  # ~150 glyphs at ~35 a line, not the whole page
    assert glyph_rows(page, th, 5000) is None  # fewer glyphs than asked: the whole page
    assert glyph_rows(page, math.nan, 150) is None


class RecordingOsd(TesseractEngine):
    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        self.shapes.append(image.shape)
        return super().orientation(image, timeout_s)


def _upside_down_page() -> RepairResult:
    """A full page of text (25 lines) upside down, with its glyph height measured."""
    page = rotate_quadrant(render_text_page(LINES * 5, dpi=200, fontsize=11), 180)
    result = RepairResult(
        image=page, measurements=ImageMeasurements(width_px=page.shape[1], height_px=page.shape[0])
    )
    result.text_height = glyph_stats(ink_mask(page)).height
    return result


@pytest.mark.usefixtures("tesseract")
def test_osd_on_a_band_of_a_full_page_turns_it_upright() -> None:
    result = _upside_down_page()
    page = result.image
    engine = RecordingOsd()
    assert check_orientation(result, engine, 60) == 180
    assert result.measurements.rotation_applied == 180
    assert engine.shapes[0][0] < page.shape[0] / 3  # OSD read a band, not the page


class BlurredBandOsd(RecordingOsd):
    """Real OSD, except that it cannot tell on a band (as on a blurred stretch of text)."""

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        found = super().orientation(image, timeout_s)
        return None if len(self.shapes) == 1 else found


@pytest.mark.usefixtures("tesseract")
def test_osd_that_cannot_tell_on_the_band_asks_about_the_whole_page() -> None:
    result = _upside_down_page()
    engine = BlurredBandOsd()
    assert check_orientation(result, engine, 60) == 180
    assert len(engine.shapes) == 2 and engine.shapes[1][0] > 2 * engine.shapes[0][0]
    assert result.measurements.osd_runs == 2


# ----------------------------------------------------------------------------- repair steps


def test_dark_wedges_left_by_a_crop_are_whitened_and_the_text_is_not() -> None:
    page = render_text_page(dpi=150)
    h, w = page.shape
    wedged = page.copy()
    for y in range(h // 3):  # a skewed paper edge: a dark wedge down the left side
        wedged[y, : max(1, 25 - y // 20)] = 20
    wedged[-12:, w // 2 :] = 30  # and a dark band along part of the bottom
    cleaned = whiten_edge_shadows(wedged)
    assert cleaned[: h // 4, :8].min() > 200 and cleaned[-6:, -40:].min() > 200
    text = page < 128
    assert np.array_equal(cleaned[text], wedged[text])  # not one text pixel changed
    assert whiten_edge_shadows(page) is page  # nothing to do: the same image back


def test_a_faint_noisy_page_is_enlarged_by_the_glyphs_of_its_cleaned_copy() -> None:
    from extractors.measure import measure_page
    from extractors.repair_plan import repair_for_ocr
    from fixtures import degrade

    page = render_text_page(LINES * 6, dpi=300, fontsize=12)  # ~29 px glyphs
    faint = degrade.jpeg(degrade.gaussian_noise(degrade.low_contrast(page, 123, 204), 28, 1), 10)
    assert measure_page(faint).text_height < 20  # its noise, measured as glyphs
    repaired = repair_for_ocr(faint, ExtractConfig(), _NoOcr(), dpi=300)
    assert "normalize_background" in repaired.measurements.repair_steps
    assert not any(s.startswith("rescale") for s in repaired.measurements.repair_steps)
    assert repaired.text_height > 25
    small = render_text_page(LINES * 6, dpi=100, fontsize=12)  # real small print: enlarged
    steps = repair_for_ocr(small, ExtractConfig(), _NoOcr(), dpi=100).measurements.repair_steps
    assert any(s.startswith("rescale") for s in steps)


def test_crop_and_rescale_are_affine() -> None:
    img = np.zeros((40, 60), np.uint8)
    img[25, 35] = 255
    out = crop(img, (10, 20, 50, 35))
    x, y, _ = translation_matrix(-10, -20) @ np.array([35.0, 25.0, 1.0])
    assert out[round(y), round(x)] == 255
    big = rescale(img, 2.0)
    assert big.shape == (80, 120)
    x, y, _ = scaling_matrix(2.0) @ np.array([35.0, 25.0, 1.0])
    assert big[round(y), round(x)] > 100


def test_normalize_background_flattens_shading_and_restores_contrast() -> None:
    ramp = np.linspace(0.5, 0.9, PAGE.shape[1], dtype=np.float32)[None, :]
    shaded = (PAGE * ramp).astype(np.uint8)
    flat = normalize_background(shaded, 20)
    paper = flat[~ink_mask(PAGE)]
    assert np.percentile(paper, 5) > 230
    assert contrast(flat) > 0.8


def test_denoise_lowers_measured_noise() -> None:
    noisy = _noisy(PAGE, 20)
    assert noise_level(denoise(noisy, 20)) < 0.5 * noise_level(noisy)


def test_noise_on_a_faint_page_is_judged_against_its_contrast() -> None:
    # The same mild noise: left alone on a black-on-white page, removed on a faint
    # one (ink 123, paper 204), where normalising the background would stretch it.
    faint = (123 + PAGE.astype(np.float32) * (204 - 123) / 255).astype(np.uint8)
    steps = {}
    for name, page in (("crisp", PAGE), ("faint", faint)):
        noisy = _noisy(page, 3)
        result = repair_for_ocr(noisy, ExtractConfig(), NoRotation(), dpi=200)
        steps[name] = result.measurements.repair_steps
    assert "denoise" not in steps["crisp"]
    assert "denoise" in steps["faint"] and "normalize_background" in steps["faint"]


def test_despeckle_removes_dust_but_keeps_glyphs() -> None:
    rng = np.random.default_rng(3)
    dusty = PAGE.copy()
    ys, xs = rng.integers(0, PAGE.shape[0], 400), rng.integers(0, PAGE.shape[1], 400)
    dusty[ys, xs] = 0
    clean = despeckle(dusty, 4)
    assert int(np.sum(clean[ys, xs] == 0)) < 20
    assert np.sum(ink_mask(clean)) == pytest.approx(np.sum(ink_mask(PAGE)), rel=0.05)


def test_binarize_gives_black_and_white() -> None:
    out = binarize((PAGE * 0.5 + 60).astype(np.uint8), 31)
    assert set(np.unique(out)) <= {0, 255}
    assert np.mean(out[ink_mask(PAGE)] == 0) > 0.8


def test_remove_lines_keeps_text() -> None:
    ruled = PAGE.copy()
    ruled[400:403, 50:-50] = 0
    ruled[100:-100, 60:62] = 0
    out = remove_lines(ruled, 200)
    assert out[401, 800] == 255 and out[500, 61] == 255
    assert np.sum(ink_mask(out)) == pytest.approx(np.sum(ink_mask(PAGE)), rel=0.1)


def test_upscale_factor_targets_tesseract_glyph_size() -> None:
    assert upscale_factor(30, (3000, 2000), 10**9) == 1.0
    assert upscale_factor(16, (1000, 500), 10**9) == pytest.approx(1.75)
    assert upscale_factor(10, (1000, 500), 10**9) == 2.0  # at most 2x
    assert upscale_factor(5, (1000, 500), 10**9) == 2.0
    assert upscale_factor(10, (5000, 4000), 10**9) < 1.3  # pixel cap


def test_repair_crops_borders_and_maps_points_back() -> None:
    h, w = PAGE.shape
    framed = np.full((h + 200, w + 300), 30, np.uint8)
    framed[120 : 120 + h, 100 : 100 + w] = PAGE
    result = repair_for_ocr(framed, ExtractConfig(), NoRotation(), dpi=200)
    assert "crop" in result.measurements.repair_steps
    assert result.measurements.border_fraction > 0.1
    x, y = result.to_original(0, 0)
    assert 95 < x < 130 and 115 < y < 150


def test_small_text_is_upscaled_and_boxes_stay_in_original_pixels() -> None:
    small = render_text_page(dpi=72)
    result = repair_for_ocr(small, ExtractConfig(), NoRotation(), dpi=72)
    step = [s for s in result.measurements.repair_steps if s.startswith("rescale")]
    assert step and result.image.shape[0] >= 2 * small.shape[0]
    x, y = result.to_original(result.image.shape[1] - 1, result.image.shape[0] - 1)
    assert x == pytest.approx(small.shape[1] - 1, abs=2)
    assert y == pytest.approx(small.shape[0] - 1, abs=2)


# ----------------------------------------------------------------------------- adaptive OCR


class ScriptedEngine:
    """Reads well only binarised (black and white) images: the alternative must win.

    Other images read poorly, not hopelessly (0.6): a hopeless reading of a page too
    short for a sample band is not re-read (tests/test_adaptive_ocr.py).
    """

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.calls += 1
        good = set(np.unique(image[::7, ::7])) <= {0, 255}
        words = LINES[0].split() if good else ["xq", "zzkv"]
        return [
            OcrWord(t, 10 * i, 10, 9, 9, 0.95 if good else 0.6, 1, 1, 1)
            for i, t in enumerate(words)
        ]

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def test_a_poor_reading_is_retried_and_the_best_kept() -> None:
    engine = ScriptedEngine()
    reading = recognize_page(PAGE, ExtractConfig(), engine, dpi=200)
    assert " ".join(w.text for w in reading.words) == LINES[0]
    assert "binarised" in reading.repair.measurements.ocr_path
    assert reading.repair.measurements.ocr_attempts == engine.calls >= 2


def test_no_retry_without_time_budget() -> None:
    engine = ScriptedEngine()
    cfg = ExtractConfig(page_time_budget_s=0)
    reading = recognize_page(PAGE, cfg, engine, dpi=200)
    assert engine.calls == 1 and reading.repair.measurements.ocr_attempts == 1


def test_reading_score_prefers_confident_real_words() -> None:
    real = [OcrWord(t, 0, 0, 1, 1, 0.9, 1, 1, 1) for t in LINES[0].split()]
    junk = [OcrWord(t, 0, 0, 1, 1, 0.9, 1, 1, 1) for t in ["xqz", "vvkp", "qqrt", "zzx"]]
    assert reading_score(real, True)[2] > reading_score(junk, True)[2]
    assert math.isnan(reading_score([], True)[0])


def test_pages_run_in_parallel_come_back_in_order(tmp_path: Path) -> None:
    done: list[int] = []

    def item(n: int) -> Page | PendingOcr:
        page = Page(number=n)
        if n % 2:
            return page
        return PendingOcr(page, lambda: done.append(n))

    pages = run_pages((item(n) for n in range(1, 12)), tmp_path, workers=3)
    assert [p.number for p in pages] == list(range(1, 12))
    assert sorted(done) == [2, 4, 6, 8, 10]


# ----------------------------------------------------------------------------- triage


def _pdf(tmp_path: Path, build: object) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    build(page)  # type: ignore[operator]
    path = tmp_path / "t.pdf"
    doc.save(path)
    return path


def _scan_pixmap() -> pymupdf.Pixmap:
    img = render_text_page(dpi=150)
    h, w = img.shape
    return pymupdf.Pixmap(pymupdf.csGRAY, w, h, img.tobytes(), False)


class _NoOcr:
    """Fails the test if OCR is run; records that it was asked."""

    name = "none"

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.calls += 1
        return [OcrWord("ocr", 0, 0, 5, 5, 0.99, 1, 1, 1)]

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def _triage(path: Path) -> tuple[Page, int]:
    engine = _NoOcr()
    pages = PdfExtractor(engine).extract(_source(path), ExtractConfig(page_time_budget_s=0))
    return pages[0], engine.calls


def test_the_text_layer_and_the_images_come_without_the_image_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from extractors.pdf_text import read_text_and_images, read_text_layer

    extracted: list[dict[str, Any]] = []
    original = pymupdf.TextPage.extractDICT

    def spy(self: pymupdf.TextPage, *args: Any, **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = original(self, *args, **kwargs)
        extracted.append(out)
        return out

    def build(page: pymupdf.Page) -> None:
        for i, line in enumerate(LINES):
            page.insert_text((72, 100 + 20 * i), line)
        page.insert_image(pymupdf.Rect(72, 400, 300, 600), pixmap=_scan_pixmap())
        page.insert_image(pymupdf.Rect(320, 400, 540, 500), pixmap=_scan_pixmap())

    with pymupdf.open(_pdf(tmp_path, build)) as doc:
        with monkeypatch.context() as m:
            m.setattr(pymupdf.TextPage, "extractDICT", spy)
            text = read_text_and_images(doc[0])
        layer, boxes = text.layer, text.images
        # The text dict holds no image blocks: their pixels are not re-encoded for it.
        assert extracted and all(b["type"] == 0 for b in extracted[-1]["blocks"])
        assert layer == read_text_layer(doc[0]) and len(layer) >= 1
        assert boxes == [tuple(info["bbox"]) for info in doc[0].get_image_info()]
        assert len(boxes) == 2


def test_real_text_layer_is_used(tmp_path: Path) -> None:
    def build(page: pymupdf.Page) -> None:
        for i, line in enumerate(LINES):
            page.insert_text((72, 100 + 20 * i), line)

    page, calls = _triage(_pdf(tmp_path, build))
    assert page.method is ExtractionMethod.TEXT_LAYER and calls == 0


def test_garbage_characters_in_the_text_layer_mean_ocr(tmp_path: Path) -> None:
    def build(page: pymupdf.Page) -> None:
        # MuPDF's CJK font has no glyphs for private-use characters: they come back as
        # control characters, as text in a font without a ToUnicode map does.
        page.insert_font(fontname="G", fontbuffer=pymupdf.Font("cjk").buffer)
        page.insert_text((72, 100), LINES[0], fontname="G")
        page.insert_text((72, 120), " \ue000\ue001\ue002" * 8, fontname="G")

    page, calls = _triage(_pdf(tmp_path, build))
    assert page.method is ExtractionMethod.OCR and calls == 1
    assert "garbled" in page.method_reason


def test_a_few_vector_words_over_a_scan_mean_ocr(tmp_path: Path) -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_image(page.rect, pixmap=_scan_pixmap())
        page.insert_text((72, 760), "Confidential draft copy for internal review")

    page, calls = _triage(_pdf(tmp_path, build))
    assert page.method is ExtractionMethod.OCR and calls == 1
    assert "scan" in page.method_reason


def test_invisible_ocr_layer_poor_is_redone_good_is_kept(tmp_path: Path) -> None:
    def poor(page: pymupdf.Page) -> None:
        page.insert_image(page.rect, pixmap=_scan_pixmap())
        page.insert_text((72, 100), "Tbe qnick brovvn f0x jumqs ovcr tlie lazv", render_mode=3)
        for i, line in enumerate(LINES[1:]):  # 4 good lines, 1 poor: ~70 % real words
            page.insert_text((72, 130 + 20 * i), line, render_mode=3)

    page, calls = _triage(_pdf(tmp_path, poor))
    assert page.method is ExtractionMethod.OCR and "invisible" in page.method_reason

    def good(page: pymupdf.Page) -> None:
        page.insert_image(page.rect, pixmap=_scan_pixmap())
        for i, line in enumerate(LINES * 2):
            page.insert_text((72, 100 + 20 * i), line, render_mode=3)

    page, calls = _triage(_pdf(tmp_path, good))
    assert page.method is ExtractionMethod.TEXT_LAYER and calls == 0
    assert "invisible" in page.method_reason


@pytest.mark.usefixtures("tesseract")
def test_a_text_page_with_a_picture_of_text_is_read_both_ways(tmp_path: Path) -> None:
    box = pymupdf.Rect(72, 400, 540, 700)

    def build(page: pymupdf.Page) -> None:
        page.insert_text((72, 100), "Figure 3 shows the scanned memo below.")
        for i, line in enumerate(LINES):
            page.insert_text((72, 130 + 20 * i), line.upper())
        page.insert_image(box, pixmap=_scan_pixmap(), keep_proportion=False)

    doc = convert(_pdf(tmp_path, build), PipelineConfig())
    page = doc.pages[0]
    assert page.method is ExtractionMethod.MIXED
    assert "picture" in page.method_reason
    text = doc.text()
    assert "Figure 3 shows" in text and "QUICK BROWN FOX" in text  # the text layer
    ocr = [b for b in page.blocks if b.extractor == "tesseract"]
    assert "quick brown fox" in " ".join(b.text for b in ocr)  # the picture, by OCR
    assert all(box.contains(pymupdf.Rect(b.bbox.x0, b.bbox.y0, b.bbox.x1, b.bbox.y1)) for b in ocr)
    assert 0.8 < page.quality.score <= 1.0
    # --ocr never reads the text layer only.
    never = PipelineConfig(extract=ExtractConfig(ocr=OcrMode.NEVER))
    assert convert(_pdf(tmp_path, build), never).pages[0].method is ExtractionMethod.TEXT_LAYER


# ----------------------------------------------------------------------------- end to end


@pytest.mark.usefixtures("tesseract")
def test_ruled_low_contrast_page_reads_well_after_repair(tmp_path: Path) -> None:
    page = render_text_page(dpi=300).astype(np.float32)
    for y in range(240, 1000, 90):  # table rules between the lines
        page[y : y + 4, 150:-150] = 0
    faded = (110 + page * 90 / 255).astype(np.uint8)  # grey ink on grey paper
    result = repair_for_ocr(faded, ExtractConfig(), NoRotation(), dpi=300)
    assert {"normalize_background", "remove_lines"} <= set(result.measurements.repair_steps)
    words = TesseractEngine().recognize(result.image, "eng", 60)
    assert _cer(" ".join(w.text for w in words), " ".join(LINES)) < 0.05


def test_cid_glyph_names_mean_ocr(tmp_path: Path) -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((72, 100), LINES[0])
        page.insert_text((72, 120), "(cid:12)(cid:34)(cid:56) " + LINES[1])

    page, _ = _triage(_pdf(tmp_path, build))
    assert page.method is ExtractionMethod.OCR and "(cid:NN)" in page.method_reason


def test_text_close_under_a_ragged_top_edge_is_not_painted_with_the_border() -> None:
    # Seed-7 030_invoice_heavy, drawn: the scanner's dark border comes down in a wavy
    # edge to a few pixels above a bold letterhead. Blurred on the small copy, the
    # letters touch the border; they must stay, and the border and its rim must go.
    import cv2

    page = np.full((1100, 850), 235, np.uint8)
    w = page.shape[1]
    edge = (30 + 8 * np.sin(np.arange(w) / 60.0)).astype(int)
    for x in range(w):
        page[: edge[x], x] = 25
        page[edge[x] : edge[x] + 2, x] = 90  # the thin grey rim along the edge
    cv2.putText(page, "Pinecrest Industries", (60, 66), cv2.FONT_HERSHEY_DUPLEX, 1.2, 40, 3)
    below = slice(int(edge.max()) + 2, 76)
    letters = page[below] < 128
    cleaned = whiten_edge_shadows(page)
    assert cleaned[:20].min() > 200  # the border
    assert all(cleaned[edge[x] : edge[x] + 2, x].min() > 200 for x in range(0, w, 7))  # rim
    kept = (cleaned[below] < 128) & letters
    assert kept.sum() >= 0.95 * letters.sum()  # the letterhead (0.89 without the opening)
