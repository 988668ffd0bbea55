"""Handwriting suspicion: pure steps on drawn images, then the OCR page with notes set aside."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from extractors.base import Source
from extractors.handwriting import (
    axis_share,
    erase_boxes,
    find_handwriting,
    remove_rules,
    search_ink,
)
from extractors.ocr import OcrWord, ocr_page
from fixtures import degrade
from fixtures.handwriting import draw_note
from pipelines.config import ExtractConfig, PipelineConfig
from pipelines.convert import run_stages
from pipelines.model import Document, Layer, ReasonCode
from tests.imaging import LINES

DPI = 300
NOTE_AT = (1500, 230)  # right margin, above the printed lines
NOTE_BOX = (1480, 130, 2450, 290)


def _printed_page() -> tuple[np.ndarray, list[OcrWord]]:
    """A printed page and the exact boxes of its words (from the PDF), as OCR would give."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = 90.0
    for line in LINES * 3:
        page.insert_text((72, y), line, fontname="helv", fontsize=12)
        y += 21.6
    k = DPI / 72
    words = []
    for x0, y0, x1, y1, text, *_ in page.get_text("words"):
        box = [round(v * k) for v in (x0, y0, x1 - x0, y1 - y0)]
        words.append(OcrWord(text, box[0], box[1], box[2], box[3], 0.95, 1, 1, 1))
    pix = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()
    return img, words


def _inside(region: object, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return bool(
        x0 <= region.x0 and region.x1 <= x1 and y0 <= region.y0 and region.y1 <= y1  # type: ignore[attr-defined]
    )


def test_axis_share_tells_upright_strokes_from_slanted_curves() -> None:
    import cv2

    bars = np.full((200, 400), 255, np.uint8)
    for x in range(20, 380, 30):
        bars[40:160, x : x + 6] = 0  # printed stems
    loops = draw_note(np.full((200, 400), 255, np.uint8), 5, (20, 140), words=1)
    circle = cv2.circle(np.full((200, 400), 255, np.uint8), (200, 100), 60, 0, 4)
    assert axis_share(bars, bars < 128) > 0.9
    assert axis_share(loops, loops < 128) < 0.3
    assert 0.25 < axis_share(circle, circle < 128) < 0.45  # every direction alike: 1/3
    assert np.isnan(axis_share(bars, np.zeros_like(bars, dtype=bool)))


def test_ruling_and_explained_words_are_taken_out() -> None:
    mask = np.zeros((100, 300), dtype=bool)
    mask[50:52, 10:290] = True  # a rule
    mask[20:30, 20:40] = True  # a glyph
    kept = remove_rules(mask, 100)
    assert not kept[50:52].any() and kept[20:30, 20:40].all()
    assert not erase_boxes(mask, [(18, 18, 42, 32)], pad=2)[15:35, 15:45].any()


def test_a_margin_note_is_found_and_printed_text_is_not() -> None:
    img, words = _printed_page()
    assert find_handwriting(img, words, text_height=35) == []
    noted = draw_note(img, 7, NOTE_AT)
    found = find_handwriting(noted, words, text_height=35)
    assert found and all(_inside(r, NOTE_BOX) for r in found)


def test_ink_is_only_grouped_when_some_is_left_unexplained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from extractors import handwriting

    grouped: list[float] = []
    real_regions = handwriting.regions

    def counting(mask: np.ndarray, text_height: float) -> list[tuple[int, int, int, int, int]]:
        grouped.append(text_height)
        return real_regions(mask, text_height)

    monkeypatch.setattr(handwriting, "regions", counting)
    img, words = _printed_page()
    assert find_handwriting(img, words, text_height=35) == []
    assert grouped == []  # every ink pixel lies in a confidently read word: no search
    found = find_handwriting(draw_note(img, 7, NOTE_AT), words, text_height=35)
    assert len(grouped) == 1 and grouped[0] < 35  # searched, on a downscaled copy
    assert found and all(_inside(r, NOTE_BOX) for r in found)  # in the page's pixels


def test_unread_ink_is_the_share_of_ink_no_confident_word_covers() -> None:
    img, words = _printed_page()
    assert search_ink(img, words, text_height=35).unread < 0.02
    # Every other line not read at all (what OCR drops): about half the ink is unread.
    lines = sorted({w.top for w in words})
    kept = [w for w in words if lines.index(w.top) % 2 == 0]
    assert 0.3 < search_ink(img, kept, text_height=35).unread < 0.7
    # Read, but as unsure garbage: unread as well.
    unsure = [OcrWord("xqz", w.left, w.top, w.width, w.height, 0.3, 1, 1, 1) for w in words]
    assert search_ink(img, unsure, text_height=35).unread > 0.95
    # Specks, ruling lines and pictures are not text: they neither add nor hide unread ink.
    ruled = degrade.speckle(img, 0.002, 5)
    ruled[1500:1506, 100:2400] = 0
    ruled[2000:2600, 300:1200] = 60
    assert search_ink(ruled, words, text_height=35).unread < 0.05
    assert np.isnan(search_ink(np.full((400, 400), 255, np.uint8), [], 20.0).unread)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_print_read_unsurely_is_not_taken_for_handwriting(seed: int) -> None:
    img, words = _printed_page()
    damaged = degrade.jpeg(degrade.gaussian_noise(degrade.blur(img, 1.4), 14.0, seed), 30)
    unsure = [OcrWord(w.text[::-1], w.left, w.top, w.width, w.height, 0.3, 1, 1, 1) for w in words]
    assert find_handwriting(damaged, unsure, text_height=35) == []


class NoteReader:
    """An OCR engine that reads the printed lines, and garbage over the note."""

    name = "note-reader"

    def __init__(self, printed: list[OcrWord]) -> None:
        self.printed = printed

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        x0, y0, _, _ = NOTE_BOX
        garbage = [
            OcrWord(t, NOTE_AT[0] + 260 * i, NOTE_AT[1] - 50, 200, 60, 0.41, 9, 1, 1)
            for i, t in enumerate(["Mnw", "ulu~", "wm,"])
        ]
        assert all(x0 <= g.left and g.top >= y0 for g in garbage)
        return [*self.printed, *garbage]

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        return None


def test_ocr_of_handwriting_goes_to_the_notes_layer_not_to_chunks(tmp_path: Path) -> None:
    img, words = _printed_page()
    noted = draw_note(img, 7, NOTE_AT)
    path = tmp_path / "noted.png"
    path.write_bytes(b"doorstep test page")  # only its name and hash are used here
    source = Source(path=path, kind="image", sha256=hashlib.sha256(b"n").hexdigest())
    cfg = ExtractConfig(repair_images=False)
    result = ocr_page(noted, source, 1, cfg, scale=1.0, dpi=DPI, engine=NoteReader(words))
    notes = [b for b in result.blocks if b.layer is Layer.NOTES]
    assert [b.text for b in notes] == ["Mnw ulu~ wm,"]
    assert result.measurements.handwriting_regions >= 1

    from pipelines.model import ExtractionMethod, Page

    page = Page(
        number=1,
        width=noted.shape[1],
        height=noted.shape[0],
        unit="px",
        method=ExtractionMethod.OCR,
        blocks=result.blocks,
        image=result.measurements,
    )
    doc = run_stages(
        Document(id="d", source="noted.png", sha256="0" * 64, kind="image", pages=[page]),
        PipelineConfig(),
    )
    text = " ".join(c.text for c in doc.chunks)
    assert "quick brown fox" in text and "ulu~" not in text
    assert ReasonCode.HANDWRITING_SUSPECTED in doc.pages[0].quality.reasons
    assert all(ReasonCode.HANDWRITING_SUSPECTED in c.quality.reasons for c in doc.chunks)
    assert any(b.layer is Layer.NOTES for b in doc.pages[0].blocks)  # kept, not dropped


def test_unsure_non_words_are_marks_not_print() -> None:
    from extractors.ocr import set_aside_marks
    from pipelines.model import BBox, Block, Word

    def block(words: list[tuple[str, float]]) -> Block:
        box = BBox(x0=0, y0=0, x1=10, y1=10)
        return Block(
            id="b",
            page=1,
            text=" ".join(t for t, _ in words),
            extractor="tesseract",
            words=[Word(text=t, bbox=box, confidence=c) for t, c in words],
        )

    assert set_aside_marks(block([("(TM", 0.2), ("a,", 0.3)])).layer is Layer.NOTES
    assert set_aside_marks(block([("(TM", 0.2), ("circle", 0.7)])).layer is Layer.BODY
    assert set_aside_marks(block([("Sat", 0.4), ("eet", 0.3), ("earn", 0.45)])).layer is Layer.NOTES
    assert set_aside_marks(block([("Xq7", 0.9), ("zz", 0.8)])).layer is Layer.BODY  # sure
    # A table border's edge read on its own is a stroke, however sure; a dash in text is not.
    assert set_aside_marks(block([("|", 0.95)])).layer is Layer.NOTES
    assert set_aside_marks(block([("_", 0.9), ("|", 0.9)])).layer is Layer.NOTES
    assert set_aside_marks(block([("-", 0.9), ("42", 0.9)])).layer is Layer.BODY
