"""Layout stages on small hand-made Documents: paragraphs, order, furniture, types, interop."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import LayoutConfig, PipelineConfig, StructureConfig
from pipelines.convert import run_stages
from pipelines.interop import langchain_documents, table_html, table_markdown, to_unstructured
from pipelines.model import (
    BBox,
    Block,
    Document,
    ElementType,
    ExtractionMethod,
    Layer,
    Page,
    TableCell,
    TextLine,
)
from pipelines.stages import (
    classify_elements,
    join_continuations,
    mark_furniture,
    reading_order,
    split_paragraphs,
)
from pipelines.stages.clean import dehyphenate_pair
from pipelines.stages.structure import is_page_number
from tests.test_stages import load


def _block(
    i: int, page: int, text: str, box: tuple[float, float, float, float], size: float = 11.0
) -> Block:
    lines = text.split("\n")
    x0, y0, x1, y1 = box
    step = (y1 - y0) / len(lines)
    tl = [
        TextLine(
            text=t,
            bbox=BBox(x0=x0, y0=y0 + k * step, x1=x1, y1=y0 + k * step + size * 1.1),
            font_size=size,
        )
        for k, t in enumerate(lines)
    ]
    return Block(
        id=f"b{page}-{i}",
        page=page,
        bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1),
        text=text,
        extractor="test",
        lines=tl,
        font_size=size,
    )


def _doc(pages: list[list[Block]]) -> Document:
    return Document(
        id="d",
        source="t.pdf",
        sha256="0" * 64,
        kind="pdf",
        pages=[
            Page(number=i + 1, width=612, height=792, method=ExtractionMethod.TEXT_LAYER, blocks=bs)
            for i, bs in enumerate(pages)
        ],
    )


def test_dehyphenation_uses_word_frequencies() -> None:
    assert dehyphenate_pair("improve", "ment") == "improvement"
    assert dehyphenate_pair("relation", "ship") == "relationship"
    assert dehyphenate_pair("capabili", "ties") == "capabilities"
    assert dehyphenate_pair("so", "called") == "so-called"
    assert dehyphenate_pair("well", "known") == "well-known"
    assert dehyphenate_pair("n", "octanal") == "n-octanal"
    assert dehyphenate_pair("Jean", "Pierre") == "Jean-Pierre"
    assert dehyphenate_pair("COVID", "19") == "COVID-19"


def test_page_numbers_forgive_ocr_noise() -> None:
    for text in ["7", "- 7 -", "Page 7 of 9", "Page l of 3", "— 12 —", "p. vii", "[4]"]:
        assert is_page_number(text), text
    for text in ["1. Introduction", "Page layout matters", "1987 report"]:
        assert not is_page_number(text), text


def test_repeating_first_body_line_is_not_a_header() -> None:
    # Same text at the top of every page, body size, no gap below: it is body.
    pages = [
        [
            _block(0, n, "Minutes of the meeting", (72, 60, 300, 74)),
            _block(
                1, n, "The board met and agreed on\nthe budget for next year.", (72, 76, 540, 104)
            ),
        ]
        for n in (1, 2, 3)
    ]
    doc = mark_furniture(_doc(pages), StructureConfig())
    assert all(b.layer is Layer.BODY for b in doc.blocks())


def test_small_isolated_repeating_line_is_a_header() -> None:
    pages = [
        [
            _block(0, n, f"Acme Ltd - Report {n}", (72, 36, 300, 46), size=8.0),
            _block(
                1, n, "The board met and agreed on\nthe budget for next year.", (72, 90, 540, 118)
            ),
            _block(2, n, f"- {n} -", (290, 740, 320, 750), size=8.0),
        ]
        for n in (1, 2, 3)
    ]
    doc = mark_furniture(_doc(pages), StructureConfig())
    kinds = [b.type for b in doc.blocks() if b.layer is Layer.FURNITURE]
    assert kinds.count(ElementType.HEADER) == 3 and kinds.count(ElementType.PAGE_NUMBER) == 3
    assert "budget" in doc.text() and "Acme" not in doc.text()


def test_one_page_footer_note_far_below_the_body_is_a_footer() -> None:
    body = _block(1, 1, "Total due 1,200.00\nThank you.", (72, 400, 540, 428))
    note = _block(2, 1, "Payment is due within 30 days.", (72, 712, 400, 724))
    near = _block(3, 1, "Signed by the clerk.", (72, 440, 400, 452))
    doc = mark_furniture(_doc([[body, note, near]]), StructureConfig())
    layers = {b.text: b.layer for b in doc.blocks()}
    assert layers["Payment is due within 30 days."] is Layer.FURNITURE
    assert layers["Signed by the clerk."] is Layer.BODY  # close to the body: stays
    # The same note right under the body is body text.
    close = _block(2, 1, "Payment is due within 30 days.", (72, 436, 400, 448))
    doc = mark_furniture(_doc([[body, close]]), StructureConfig())
    assert all(b.layer is Layer.BODY for b in doc.blocks())


def test_letterhead_stack_in_small_type_is_furniture() -> None:
    name = _block(0, 1, "Acme Ltd.", (72, 50, 200, 68), size=16.0)
    street = _block(1, 1, "12 Mill Road", (72, 72, 160, 81), size=8.0)
    town = _block(2, 1, "Leeds LS1 4AB", (72, 82, 160, 91), size=8.0)
    text = _block(3, 1, "Dear Sir,\nWe write about the order.", (72, 160, 540, 184))
    doc = mark_furniture(_doc([[name, street, town, text]]), StructureConfig())
    layers = {b.text: b.layer for b in doc.blocks()}
    assert layers["12 Mill Road"] is Layer.FURNITURE and layers["Leeds LS1 4AB"] is Layer.FURNITURE
    assert layers["Acme Ltd."] is Layer.BODY and "Dear Sir" in doc.text()


def test_margin_line_read_as_one_is_split_at_a_wide_gap() -> None:
    from pipelines.model import Word

    words = [
        Word(text=t, bbox=BBox(x0=x, y0=80, x1=x + w, y1=90), confidence=0.9)
        for t, x, w in [("Leeds", 72, 30), ("LS1", 106, 20), ("Invoice", 400, 40), ("77", 444, 12)]
    ]
    merged = Block(
        id="m",
        page=1,
        bbox=BBox(x0=72, y0=80, x1=456, y1=90),
        text="Leeds LS1 Invoice 77",
        extractor="test",
        words=words,
        lines=[TextLine(text="Leeds LS1 Invoice 77", bbox=BBox(x0=72, y0=80, x1=456, y1=90))],
    )
    body = _block(1, 1, "Body text of the page.", (72, 300, 540, 312))
    doc = mark_furniture(_doc([[merged, body]]), StructureConfig())
    texts = [b.text for b in doc.pages[0].blocks]
    assert texts[:2] == ["Leeds LS1", "Invoice 77"]
    assert doc.pages[0].blocks[0].id != doc.pages[0].blocks[1].id
    assert [w.text for w in doc.pages[0].blocks[1].words] == ["Invoice", "77"]


def test_letterhead_address_under_a_larger_name_is_furniture_a_byline_is_not() -> None:
    name = _block(0, 1, "Acme Ltd.", (72, 50, 200, 68), size=18.0)
    street = _block(1, 1, "12 Mill Road", (72, 72, 160, 82), size=10.0)
    town = _block(2, 1, "Leeds LS1 4AB", (72, 84, 160, 94), size=10.0)
    text = _block(3, 1, "Dear Sir,\nWe write about the order.", (72, 160, 540, 184), size=10.0)
    doc = mark_furniture(_doc([[name, street, town, text]]), StructureConfig())
    layers = {b.text: b.layer for b in doc.blocks()}
    assert layers["12 Mill Road"] is Layer.FURNITURE and layers["Leeds LS1 4AB"] is Layer.FURNITURE
    assert layers["Acme Ltd."] is Layer.BODY
    # A centred byline under a title is not flush with it: it stays in the body.
    title = _block(0, 1, "A Study of Rivers", (180, 50, 430, 68), size=18.0)
    byline = _block(1, 1, "By Ann Lee", (260, 72, 350, 82), size=10.0)
    doc = mark_furniture(_doc([[title, byline, text]]), StructureConfig())
    assert all(b.layer is Layer.BODY for b in doc.blocks())


def test_two_columns_are_read_column_by_column() -> None:
    blocks = [
        _block(0, 1, "Title Across Both", (150, 60, 460, 84), size=20),
        _block(1, 1, "Left one.", (54, 120, 296, 200)),
        _block(2, 1, "Right one.", (316, 120, 558, 200)),
        _block(3, 1, "Left two.", (54, 210, 296, 300)),
        _block(4, 1, "Right two.", (316, 210, 558, 300)),
    ]
    doc = reading_order(_doc([blocks]), LayoutConfig())
    assert [b.text for b in doc.blocks()] == [
        "Title Across Both",
        "Left one.",
        "Left two.",
        "Right one.",
        "Right two.",
    ]


def test_bullets_and_headings_split_from_paragraphs() -> None:
    text = "• first point\n• second point\n• third point"
    doc = split_paragraphs(_doc([[_block(0, 1, text, (72, 100, 540, 140))]]), LayoutConfig())
    assert [b.text for b in doc.blocks()] == ["• first point", "• second point", "• third point"]
    heading = _block(0, 1, "2. Results", (72, 100, 200, 116), size=14)
    body = _block(1, 1, "Sales rose in every region this year.\n" * 4, (72, 120, 540, 180))
    doc = classify_elements(_doc([[heading, body]]), LayoutConfig())
    assert doc.blocks()[0].type is ElementType.HEADING and doc.blocks()[0].level == 1
    assert doc.blocks()[1].type is ElementType.PARAGRAPH


def test_hyphenated_word_rejoined_across_pages() -> None:
    a = _block(0, 1, "We measured the capabili-", (72, 600, 540, 614))
    b = _block(0, 2, "ties of the new plant.", (72, 80, 540, 94))
    doc = join_continuations(_doc([[a], [b]]), LayoutConfig())
    assert doc.pages[0].blocks[0].text.endswith("capabilities")
    assert doc.pages[1].blocks[0].text == "of the new plant."


def test_digital_pipeline_keeps_lines_and_finds_tables() -> None:
    from extractors.base import Source
    from extractors.pdf_text import read_page, text_layer_blocks
    from fixtures import templates as tpl
    from fixtures.generate import vector_pdf

    layout = tpl.invoice(random.Random(3))
    pdf = vector_pdf(layout, random.Random(3))
    blocks = text_layer_blocks(
        Source(path=Path("invoice.pdf"), kind="pdf", sha256="0" * 64), 1, read_page(pdf[0])
    )
    tables = [b for b in blocks if b.type is ElementType.TABLE]
    assert len(tables) == 1
    gt = [c["text"] for row in layout[0].tables[0]["cells"] for c in row]
    assert [c.text for c in tables[0].cells] == gt
    assert all(b.lines for b in blocks if b.type is not ElementType.TABLE)
    md = table_markdown(tables[0])
    assert md.splitlines()[0].startswith("| Item | Qty |")
    assert table_html(tables[0]).startswith("<table><tr><th>Item</th>")


def test_one_text_extraction_tells_whether_a_page_can_hold_a_ruled_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page without vector paths is read once and never has its drawings listed; a
    page with ruling is read again without the paths, and gives the same text layer."""
    import pymupdf

    from extractors.pdf_text import find_tables, read_text_and_images, read_text_layer
    from fixtures import templates as tpl
    from fixtures.generate import vector_pdf

    ruled = vector_pdf(tpl.invoice(random.Random(3)), random.Random(3))[0]
    plain = pymupdf.open()
    page = plain.new_page(width=612, height=792)
    for i in range(5):
        page.insert_text((72, 100 + 20 * i), f"Line {i} of plain running text.")
    listed: list[int] = []
    original = pymupdf.Page.get_cdrawings

    def spy(self: pymupdf.Page, *args: Any, **kwargs: Any) -> Any:
        listed.append(self.number)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pymupdf.Page, "get_cdrawings", spy)
    text = read_text_and_images(page)
    assert not text.vectors and text.images == []
    assert text.layer == read_text_layer(page) and len(text.layer) == 5
    assert find_tables(page, text.vectors) == [] and listed == []
    text = read_text_and_images(ruled)
    assert text.vectors and text.layer == read_text_layer(ruled)
    assert len(find_tables(ruled, text.vectors)) == 1 and listed


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("alpha", [255, 0])
def test_a_line_of_one_span_reads_as_the_same_line_cut_into_spans(bold: bool, alpha: int) -> None:
    """The one-span shortcut gives what the general span walk gives, and a one-line
    block is its line."""
    from extractors.pdf_text import _layer, _line

    def span(text: str, size: float) -> dict[str, Any]:
        flags = 16 if bold else 0
        return {"text": text, "size": size, "flags": flags, "font": "Helv", "alpha": alpha}

    box = (10.0, 20.0, 200.0, 32.0)
    one = {"bbox": box, "spans": [span("  Net total 1,234.50 ", 11.0)]}
    cut = {"bbox": box, "spans": [span("  Net tot", 11.0), span("al 1,234.50 ", 11.0)]}
    assert _line(one) == _line(cut)
    assert _line({"bbox": box, "spans": [span("   ", 11.0)]}) is None
    (line,) = _layer({"blocks": [{"type": 0, "bbox": box, "lines": [one]}]})[0].lines
    (block,) = _layer({"blocks": [{"type": 0, "bbox": box, "lines": [one]}]})
    (general,) = _layer({"blocks": [{"type": 0, "bbox": box, "lines": [cut, cut]}]})
    assert (block.text, block.size, block.bold) == (line.text, line.size, bold)
    assert (general.size, general.bold) == (block.size, block.bold)
    assert line.chars == len("Net total 1,234.50") and line.hidden == (
        line.chars if alpha == 0 else 0
    )


def test_unstructured_export_reads_back() -> None:
    from pipelines.offline import ensure_offline_env

    ensure_offline_env()
    from unstructured.staging.base import elements_from_json

    doc = run_stages(load("born_digital_report.pdf"), PipelineConfig())
    table = Block(
        id="t1",
        page=1,
        text="a\tb\n1\t2",
        type=ElementType.TABLE,
        extractor="test",
        cells=[
            TableCell(row=0, col=0, text="a", header=True),
            TableCell(row=0, col=1, text="b", header=True),
            TableCell(row=1, col=0, text="1"),
            TableCell(row=1, col=1, text="2"),
        ],
    )
    page0 = doc.pages[0].model_copy(update={"blocks": [*doc.pages[0].blocks, table]})
    doc = doc.model_copy(update={"pages": [page0, *doc.pages[1:]]})
    elements = elements_from_json(text=to_unstructured(doc))
    assert len(elements) == sum(1 for b in doc.blocks() if b.text)
    cats = {e.category for e in elements}
    assert {"Title", "NarrativeText", "Header", "PageNumber", "Table"} <= cats
    tbl = next(e for e in elements if e.category == "Table")
    assert "<th>a</th>" in (tbl.metadata.text_as_html or "")
    assert all(e.metadata.page_number for e in elements)


def test_langchain_jsonl_has_page_content_and_metadata() -> None:
    doc = run_stages(load("scanned_report.pdf"), PipelineConfig())
    docs = langchain_documents(doc)
    assert len(docs) == len(doc.chunks)
    for d, c in zip(docs, doc.chunks, strict=True):
        assert d["page_content"] == c.text
        assert d["metadata"]["page_start"] == c.page_start
        json.dumps(d)


def test_garbage_paragraph_cut_out_of_an_ocr_block_goes_to_notes() -> None:
    # One surely read word kept the OCR block as print; once cut into paragraphs, the
    # garbage one (what Tesseract made of smudges under a total) is judged alone.
    from pipelines.model import Layer, Word

    def block(extractor: str, marks: str) -> Block:
        b = _block(0, 1, f"• Total due 14,307.47\n• {marks}", (72, 100, 540, 130))
        confs = [0.9, 0.96, 0.95, 0.94, 0.3] + [0.2] * len(marks.split())
        texts = ["•", "Total", "due", "14,307.47", "•", *marks.split()]
        box = BBox(x0=72, y0=100, x1=90, y1=112)
        words = [Word(text=t, bbox=box, confidence=c) for t, c in zip(texts, confs, strict=True)]
        return b.model_copy(update={"extractor": extractor, "words": words})

    ocr = split_paragraphs(_doc([[block("tesseract", "TT f eae")]]), LayoutConfig())
    assert [(b.text, b.layer) for b in ocr.blocks()] == [
        ("• Total due 14,307.47", Layer.BODY),
        ("• TT f eae", Layer.NOTES),
    ]
    # A line of names read unsurely is still print: half its longer words look printed.
    names = split_paragraphs(
        _doc([[block("tesseract", "J. L. McGinnis --Region9")]]), LayoutConfig()
    )
    assert [b.layer for b in names.blocks()] == [Layer.BODY, Layer.BODY]
    # A text layer's characters are the file's own: its rule line stays.
    digital = split_paragraphs(_doc([[block("pymupdf", "———")]]), LayoutConfig())
    assert [b.layer for b in digital.blocks()] == [Layer.BODY, Layer.BODY]
