"""Label/value rows that Tesseract split into columns, read row by row again (OCR pages).

The geometry is that of generated receipt 019 (seed 7), reduced to its boxes:
Tesseract read the item codes, the item names, the prices and the totals as
separate column blocks.
"""

from __future__ import annotations

from pipelines.config import LayoutConfig, PipelineConfig
from pipelines.convert import run_stages
from pipelines.model import BBox, Block, Document, ExtractionMethod, Page, TextLine, Word
from pipelines.stages import join_rows

Line = tuple[str, tuple[float, float, float, float]]


def _block(i: int, lines: list[Line]) -> Block:
    words: list[Word] = []
    text_lines: list[TextLine] = []
    for text, (x0, y0, x1, y1) in lines:
        tokens = text.split()
        step = (x1 - x0) / len(tokens)
        for k, tok in enumerate(tokens):
            box = BBox(x0=x0 + k * step, y0=y0, x1=x0 + (k + 1) * step - 4, y1=y1)
            words.append(Word(text=tok, bbox=box, confidence=0.95))
        text_lines.append(TextLine(text=text, bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1)))
    return Block(
        id=f"b{i}",
        page=1,
        bbox=BBox(
            x0=min(b[0] for _, b in lines),
            y0=min(b[1] for _, b in lines),
            x1=max(b[2] for _, b in lines),
            y1=max(b[3] for _, b in lines),
        ),
        text="\n".join(t for t, _ in lines),
        extractor="tesseract",
        confidence=0.95,
        words=words,
        lines=text_lines,
    )


def _doc(blocks: list[list[Line]], method: ExtractionMethod = ExtractionMethod.OCR) -> Document:
    page = Page(
        number=1,
        width=946,
        height=1588,
        unit="px",
        method=method,
        blocks=[_block(i, lines) for i, lines in enumerate(blocks)],
    )
    return Document(id="d", source="r.png", sha256="0" * 64, kind="image", pages=[page])


RECEIPT: list[list[Line]] = [
    [("RECEIPT", (403, 451, 542, 471))],
    [
        ("3539683175419", (61, 605, 315, 630)),
        ("5 X 10.35", (61, 652, 250, 674)),
        ("5465817417792", (61, 695, 315, 720)),
        ("6 X 30.89", (61, 742, 250, 764)),
    ],
    [("SERVICE CALL", (341, 607, 577, 630))],
    [("DESK LAMP", (340, 697, 515, 721))],
    [("51.75", (750, 653, 844, 675))],
    [("185.34", (732, 740, 844, 764))],
    [("SUB-TOTAL", (60, 1080, 237, 1102))],
    [("TOTAL", (60, 1170, 157, 1192))],
    [("237.09", (771, 1079, 840, 1102))],
    [("260.80", (771, 1170, 840, 1192))],
    [("THANK YOU FOR SHOPPING WITH US", (176, 1326, 770, 1349))],
]


def test_receipt_columns_are_read_row_by_row() -> None:
    doc = join_rows(_doc(RECEIPT), LayoutConfig())
    texts = [b.text for b in doc.pages[0].blocks]
    assert texts == [
        "RECEIPT",
        "3539683175419 SERVICE CALL\n5 X 10.35 51.75\n5465817417792 DESK LAMP\n6 X 30.89 185.34"
        "\nSUB-TOTAL 237.09\nTOTAL 260.80",
        "THANK YOU FOR SHOPPING WITH US",
    ]
    items = doc.pages[0].blocks[1]
    assert [w.text for w in items.words][:4] == ["3539683175419", "SERVICE", "CALL", "5"]
    assert items.bbox == BBox(x0=60, y0=605, x1=844, y1=1192)
    assert len(items.lines) == 6


def test_whole_pipeline_reads_the_receipt_rows_in_order() -> None:
    text = run_stages(_doc(RECEIPT), PipelineConfig()).pages[0].body_text()
    assert text.index("SERVICE CALL") < text.index("51.75") < text.index("DESK LAMP")
    assert text.index("SUB-TOTAL") < text.index("237.09") < text.index("TOTAL 260.80")


def test_two_columns_of_prose_and_headings_side_by_side_are_left_alone() -> None:
    left = [
        (f"left column line {k} of running text", (60, 200 + 40 * k, 440, 225 + 40 * k))
        for k in range(6)
    ]
    right = [
        (f"right column line {k} of running text", (500, 200 + 40 * k, 880, 225 + 40 * k))
        for k in range(6)
    ]
    headings = [
        [("Market Conditions", (60, 150, 300, 175))],
        [("Risk Factors", (500, 150, 700, 175))],
    ]
    doc = _doc([*headings, left, right])
    assert join_rows(doc, LayoutConfig()) == doc


def test_text_layer_pages_and_the_switch_are_left_alone() -> None:
    digital = _doc(RECEIPT, ExtractionMethod.TEXT_LAYER)
    assert join_rows(digital, LayoutConfig()) == digital
    scanned = _doc(RECEIPT)
    assert join_rows(scanned, LayoutConfig(join_rows=False)) == scanned
