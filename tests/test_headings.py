"""Headings on OCR pages: type size from letter shapes, stroke weight, side-by-side lines.

Pure tests over hand-made Documents (OCR words with boxes and stroke weights)
and glyph measurements on drawn images; no Tesseract.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from extractors.glyphs import stroke_ratio, stroke_width
from pipelines.config import LayoutConfig, PipelineConfig
from pipelines.convert import run_stages
from pipelines.model import (
    BBox,
    Block,
    Document,
    ElementType,
    ImageMeasurements,
    Layer,
    Page,
    Word,
)
from pipelines.stages.elements import classify_elements, size_tiers
from pipelines.stages.layout import block_lines, glyph_extent, line_size, page_frame

DPI = 300.0
PX = DPI / 72.0  # pixels per point


def words_line(text: str, x: float, baseline: float, size_pt: float, stroke: float) -> list[Word]:
    """OCR words of one printed line: boxes as tall as their letters make them."""
    out = []
    for token in text.split():
        extent = glyph_extent(token)
        extent = 0.7 if math.isnan(extent) else extent
        em = size_pt * PX
        low = 0.21 if any(c in "gjpqy" for c in token) else 0.0
        width = 0.55 * em * len(token)
        box = BBox(x0=x, y0=baseline - (extent - low) * em, x1=x + width, y1=baseline + low * em)
        out.append(Word(text=token, bbox=box, confidence=0.95, stroke=stroke / extent))
        x += width + 0.3 * em
    return out


def ocr_block(i: int, lines: list[list[Word]]) -> Block:
    words = [w for ln in lines for w in ln]
    box = words[0].bbox
    for w in words[1:]:
        box = box.union(w.bbox)
    text = "\n".join(" ".join(w.text for w in ln) for ln in lines)
    return Block(id=f"b{i}", page=1, bbox=box, text=text, extractor="tesseract", words=words)


BODY = (
    "Capital both we further effort during still several reports were made over the",
    "year and the results of the operations of the group were good in all the regions",
    "where the company had its plants and offices during the period under review.",
)


def page_of(blocks: list[Block]) -> Document:
    page = Page(
        number=1,
        width=2550,
        height=3300,
        unit="px",
        blocks=blocks,
        image=ImageMeasurements(width_px=2550, height_px=3300, dpi=DPI),
    )
    return Document(id="d", source="s.png", sha256="0" * 64, kind="image", pages=[page])


def body_block(i: int, top: float) -> Block:
    lines = [words_line(t, 300, top + k * 14 * PX, 10, 0.085) for k, t in enumerate(BODY)]
    return ocr_block(i, lines)


def classified(head: Block) -> Block:
    blocks = [body_block(0, 600), head, body_block(2, 1200), body_block(3, 1500)]
    out = classify_elements(page_of(blocks), LayoutConfig())
    return out.pages[0].blocks[1]


def test_glyph_extent_follows_ascenders_and_descenders() -> None:
    assert glyph_extent("Market") == pytest.approx(0.70)
    assert glyph_extent("are") == pytest.approx(0.49)
    assert glyph_extent("page") == pytest.approx(0.70)  # x-height plus descender
    assert glyph_extent("Qty") == pytest.approx(0.91)
    assert glyph_extent("1,234") == pytest.approx(0.82)
    assert math.isnan(glyph_extent("-"))


def test_type_size_does_not_depend_on_the_letters() -> None:
    """A line of capitals and one of x-height letters at the same size measure the same."""
    caps = ocr_block(0, [words_line("MEMORANDUM", 300, 400, 12, 0.09)])
    small = ocr_block(1, [words_line("once more a new run", 300, 500, 12, 0.09)])
    frame = page_frame(page_of([caps, small]).pages[0])
    sizes = [line_size(block_lines(b, frame)[0], frame) for b in (caps, small)]
    assert sizes == pytest.approx([12.0, 12.0], rel=0.02)


def test_a_title_and_a_larger_word_on_one_ocr_line_are_two_lines() -> None:
    words = words_line("Acme Ltd.", 250, 300, 16, 0.1) + words_line("INVOICE", 1900, 300, 24, 0.1)
    lines = block_lines(ocr_block(0, [words]))
    assert [ln.text for ln in lines] == ["Acme Ltd.", "INVOICE"]
    assert lines[1].em / lines[0].em == pytest.approx(1.5, rel=0.05)


def test_a_label_and_its_amount_stay_one_line() -> None:
    words = words_line("Subtotal", 1300, 300, 10, 0.1) + words_line("16,831.57", 2100, 300, 14, 0.1)
    assert [ln.text for ln in block_lines(ocr_block(0, [words]))] == ["Subtotal 16,831.57"]


def test_bold_line_of_body_size_is_a_heading() -> None:
    head = ocr_block(1, [words_line("Environmental Matters", 300, 1000, 10, 0.14)])
    assert classified(head).type is ElementType.HEADING


def test_regular_line_of_body_size_is_not_a_heading() -> None:
    head = ocr_block(1, [words_line("Environmental Matters", 300, 1000, 10, 0.085)])
    assert classified(head).type is ElementType.PARAGRAPH


def test_larger_line_is_a_heading_and_numbers_or_noise_are_not() -> None:
    assert classified(ocr_block(1, [words_line("Outlook", 300, 1000, 13, 0.085)])).type is (
        ElementType.HEADING
    )
    amount = ocr_block(1, [words_line("Subtotal 16,831.57", 300, 1000, 13, 0.14)])
    assert classified(amount).type is ElementType.PARAGRAPH
    noise = ocr_block(1, [words_line("Ss ees ee tt ns", 300, 1000, 13, 0.14)])
    assert classified(noise).type is ElementType.PARAGRAPH


def test_size_tiers_absorb_measuring_noise() -> None:
    assert size_tiers([13.4, 13.0, 12.6, 11.1, 10.9, math.nan]) == pytest.approx([12.6, 10.9])
    assert size_tiers([]) == []


def _strokes(width: int) -> np.ndarray:
    """A 'word' of upright strokes and bars ``width`` pixels wide."""
    img = np.full((80, 400), 255, np.uint8)
    for k in range(6):
        x = 20 + 60 * k
        cv2.rectangle(img, (x, 15), (x + width - 1, 64), 0, -1)
        cv2.rectangle(img, (x, 64 - width + 1), (x + 30, 64), 0, -1)
    return img


def test_stroke_width_tells_bold_from_regular() -> None:
    regular, bold = stroke_width(_strokes(3)), stroke_width(_strokes(6))
    assert regular == pytest.approx(3.0, abs=0.6)
    assert bold == pytest.approx(6.0, abs=1.2)
    assert math.isnan(stroke_width(np.full((40, 40), 255, np.uint8)))


def test_stroke_ratio_is_relative_to_the_box_height() -> None:
    img = _strokes(4)
    ys, xs = np.nonzero(img < 128)
    left, top = int(xs.min()), int(ys.min())
    w, h = int(xs.max()) - left + 1, int(ys.max()) - top + 1
    ratio = stroke_ratio(img, left, top, w, h)
    assert ratio == pytest.approx(stroke_width(img[top : top + h, left : left + w]) / h)
    assert math.isnan(stroke_ratio(img, 500, 500, 10, 10))


SAVED = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize(
    ("name", "template", "seed"),
    [
        ("two_column_clean.png", "two_column", "7:19"),  # bold headings of body size
        ("invoice_light.pdf", "invoice", "7:22"),  # "Bill to:" in bold; title and INVOICE
    ],
)
def test_headings_of_saved_scanned_pages(name: str, template: str, seed: str) -> None:
    """Documents extracted by Tesseract from generated corpus pages, against their roles."""
    from fixtures.generate import layout

    gt = [
        " ".join(ln.text.split())
        for page in layout(template, random.Random(seed))
        for ln in page.lines
        if ln.role in ("heading", "title")
    ]
    raw = (SAVED / f"{name}.extracted.json").read_text(encoding="utf-8")
    doc = run_stages(Document.model_validate_json(raw), PipelineConfig())
    found = [
        " ".join(b.text.split())
        for b in doc.blocks()
        if b.layer is Layer.BODY and b.type in (ElementType.HEADING, ElementType.TITLE)
    ]
    assert sorted(found) == sorted(gt)
    tables = [b for b in doc.blocks() if b.type is ElementType.TABLE]
    assert len(tables) == (1 if template == "invoice" else 0)
