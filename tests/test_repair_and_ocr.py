"""Image repair steps and the OCR seam (real Tesseract; injected failing engines)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from extractors import turns
from extractors.base import Source
from extractors.image import ImageExtractor
from extractors.ocr import OcrWord, TesseractEngine, check_languages, ocr_page
from extractors.pdf import PdfExtractor
from extractors.repair import (
    _quadrant_matrix,
    contrast,
    estimate_skew,
    rotate_quadrant,
    rotate_small,
    to_gray,
)
from extractors.repair_plan import repair_for_ocr
from pipelines.config import ExtractConfig, PipelineConfig
from pipelines.convert import convert
from pipelines.errors import LanguagePackMissing, OcrEngineUnavailable, OcrError
from pipelines.model import ExtractionMethod, Status
from tests.imaging import LINES, image_pdf, render_text_page


def _cer(hyp: str, ref: str) -> float:
    return Levenshtein.distance(" ".join(hyp.split()), " ".join(ref.split())) / len(ref)


def _source(path: Path, kind: str) -> Source:
    return Source(path=path, kind=kind, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


class NoRotation:
    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


@pytest.mark.parametrize("angle", [-4.0, -1.5, 2.0, 3.5])
def test_skew_is_measured_to_a_fraction_of_a_degree(angle: float) -> None:
    page = render_text_page()
    skewed = rotate_small(page, angle)
    assert estimate_skew(skewed) == pytest.approx(angle, abs=0.3)


def test_deskew_repairs_the_page() -> None:
    skewed = rotate_small(render_text_page(), 3.0)
    result = repair_for_ocr(skewed, ExtractConfig(), NoRotation(), dpi=200)
    assert result.measurements.skew_degrees == pytest.approx(3.0, abs=0.3)
    assert abs(estimate_skew(result.image)) < 0.3


def test_blank_page_has_no_skew() -> None:
    assert estimate_skew(np.full((800, 600), 255, np.uint8)) == 0.0


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_quadrant_rotation_maps_points_back(degrees: int) -> None:
    img = np.zeros((30, 50), np.uint8)
    img[5, 7] = 255
    rotated = rotate_quadrant(img, degrees)
    m = _quadrant_matrix(degrees, 50, 30)
    x, y, _ = m @ np.array([7.0, 5.0, 1.0])
    assert rotated[round(y), round(x)] == 255


def test_gray_conversion_and_contrast() -> None:
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:5] = 255
    gray = to_gray(rgb)
    assert gray.shape == (10, 10) and gray.dtype == np.uint8
    assert contrast(gray) == pytest.approx(1.0)
    assert to_gray(np.ones((4, 4), bool)).max() == 255


@pytest.mark.usefixtures("tesseract")
def test_tesseract_reads_a_clean_page_with_word_boxes(tmp_path: Path) -> None:
    img = tmp_path / "page.png"
    from PIL import Image

    Image.fromarray(render_text_page(dpi=300)).save(img, dpi=(300, 300))
    pages = ImageExtractor().extract(_source(img, "image"), ExtractConfig())
    assert len(pages) == 1 and pages[0].method is ExtractionMethod.OCR
    text = "\n".join(b.text for b in pages[0].blocks)
    assert _cer(text, "\n".join(LINES)) < 0.03
    words = [w for b in pages[0].blocks for w in b.words]
    assert words and all(0.0 <= w.confidence <= 1.0 for w in words)
    first = words[0]
    # 72 pt from the left at 300 dpi = 300 px; boxes are in image pixels.
    assert first.bbox.x0 == pytest.approx(300, abs=15)


@pytest.mark.usefixtures("tesseract")
def test_rotated_scan_is_turned_upright(tmp_path: Path) -> None:
    page = rotate_quadrant(render_text_page(dpi=300), 90)
    pdf = tmp_path / "rotated.pdf"
    image_pdf(str(pdf), page, dpi=300)
    pages = PdfExtractor().extract(_source(pdf, "pdf"), ExtractConfig())
    assert pages[0].method is ExtractionMethod.OCR
    assert pages[0].image is not None and pages[0].image.rotation_applied == 270
    text = "\n".join(b.text for b in pages[0].blocks)
    assert _cer(text, "\n".join(LINES)) < 0.05
    # Word boxes are mapped back to the original (rotated) page, in points.
    box = pages[0].blocks[0].bbox
    assert box is not None and box.x1 <= pages[0].width + 1 and box.y1 <= pages[0].height + 1


class UnsureOsd(TesseractEngine):
    """Real Tesseract whose orientation detection cannot tell (as on a heavily damaged page)."""

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


@pytest.mark.usefixtures("tesseract")
def test_a_blind_quarter_turn_that_reads_upside_down_is_turned_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vertical lines, and neither the band read both ways nor OSD can tell: repair turns
    the page 90° (here the wrong way, leaving it upside down); the hopeless reading has
    it turned the other way round."""
    monkeypatch.setattr(turns, "sideways_turn", lambda *args: None)
    page = rotate_quadrant(render_text_page(dpi=300), 90)  # upright needs 270° more
    path = tmp_path / "sideways.png"
    path.write_bytes(b"doorstep test page")  # only its name and hash are used here
    result = ocr_page(
        page, _source(path, "image"), 1, ExtractConfig(), scale=1.0, dpi=300, engine=UnsureOsd()
    )
    m = result.measurements
    assert m.rotation_applied == 270 and m.ocr_path.endswith("turned")
    text = "\n".join(b.text for b in result.blocks)
    assert _cer(text, "\n".join(LINES)) < 0.05


def test_missing_language_names_the_package(tesseract: str) -> None:
    with pytest.raises(LanguagePackMissing) as info:
        check_languages("eng+xyz")
    assert "tesseract-ocr-xyz" in info.value.hint


class FailingEngine:
    """Fails on chosen pages: what a crashing or timing-out OCR engine does."""

    name = "failing"

    def __init__(self, fail_pages: set[int], exc: Exception) -> None:
        self.calls = 0
        self.fail_pages = fail_pages
        self.exc = exc

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        self.calls += 1
        if self.calls in self.fail_pages:
            raise self.exc
        return [OcrWord("Hello", 10, 10, 50, 20, 0.9, 1, 1, 1)]

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def _two_page_scan(tmp_path: Path) -> Path:
    from PIL import Image

    frames = [Image.fromarray(render_text_page(dpi=100)) for _ in range(2)]
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def test_a_failing_page_makes_the_document_partial(tmp_path: Path) -> None:
    path = _two_page_scan(tmp_path)
    engine = FailingEngine({2}, OcrError("OCR took longer than 1s and was stopped"))
    doc = convert(path, PipelineConfig(), extractor=ImageExtractor(engine))
    assert doc.status is Status.PARTIAL
    assert [p.error is None for p in doc.pages] == [True, False]
    assert doc.pages[1].error is not None and doc.pages[1].error.code == "OCR_FAILED"
    assert doc.errors[0].page == 2
    assert doc.chunks and doc.chunks[0].text == "Hello"
    assert "PAGE_FAILED" in doc.pages[1].quality.reasons


def test_an_unusable_engine_fails_the_document(tmp_path: Path) -> None:
    path = _two_page_scan(tmp_path)
    engine = FailingEngine({1}, OcrEngineUnavailable("tesseract is not installed"))
    doc = convert(path, PipelineConfig(), extractor=ImageExtractor(engine))
    assert doc.status is Status.FAILED
    assert doc.errors[0].code == "OCR_UNAVAILABLE"
    assert "apt-get install tesseract-ocr" in doc.errors[0].hint


def test_ocr_page_keeps_confidence_per_block() -> None:
    engine = FailingEngine(set(), OcrError("unused"))
    src = Source(path=Path("x.png"), kind="image", sha256="ab" * 32)
    result = ocr_page(
        render_text_page(dpi=72), src, 1, ExtractConfig(), scale=1.0, dpi=72, engine=engine
    )
    assert result.blocks[0].confidence == pytest.approx(0.9)
    assert result.mean_confidence == pytest.approx(0.9)
    assert not math.isnan(result.measurements.contrast)


def test_tesseract_engine_timeout_is_an_ocr_error(tesseract: str) -> None:
    engine = TesseractEngine()
    with pytest.raises(OcrError):
        engine.recognize(render_text_page(dpi=300), "eng", timeout_s=0.001)
