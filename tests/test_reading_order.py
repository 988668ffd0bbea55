"""Reading order of OCR pages: regions top to bottom, Tesseract's order inside each.

The geometry comes from generated invoices and two-column pages whose OCR
blocks Tesseract ordered wrongly or rightly (``.bench/quality`` pages of
seeds 7 and 11), reduced to their boxes.
"""

from __future__ import annotations

from pipelines.config import LayoutConfig
from pipelines.model import BBox, Block, Document, ExtractionMethod, Page
from pipelines.stages import reading_order


def _ocr_doc(
    boxes: list[tuple[str, tuple[float, float, float, float]]],
    method: ExtractionMethod = ExtractionMethod.OCR,
) -> Document:
    blocks = [
        Block(
            id=f"b{i}",
            page=1,
            bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1),
            text=text,
            extractor="test",
        )
        for i, (text, (x0, y0, x1, y1)) in enumerate(boxes)
    ]
    page = Page(number=1, width=612, height=792, method=method, blocks=blocks)
    return Document(id="d", source="t.pdf", sha256="0" * 64, kind="pdf", pages=[page])


def _order(doc: Document, cfg: LayoutConfig | None = None) -> list[str]:
    return [b.text for b in reading_order(doc, cfg or LayoutConfig()).blocks()]


# Tesseract's order on 017_invoice_heavy: the letterhead's left side read down into
# "Bill to"; the table block put last (by the table stage).
INVOICE = [
    ("Copperfield Corp.", (61, 60, 194, 76)),
    ("569 Church Road", (60, 81, 134, 101)),
    ("Bill to:", (61, 153, 90, 160)),
    ("Dorothy Castillo", (60, 168, 138, 219)),
    ("INVOICE", (455, 52, 551, 77)),
    ("Invoice No.: 67283", (382, 96, 478, 134)),
    ("Subtotal", (375, 391, 545, 403)),
    ("Tax 6%", (375, 410, 547, 418)),
    ("Total due", (375, 425, 545, 434)),
    ("Payment is due", (61, 713, 359, 722)),
    ("Item Qty Unit price Amount", (60, 260, 552, 380)),
]


def test_ocr_invoice_reads_the_letterhead_row_before_the_bill_to_block() -> None:
    assert _order(_ocr_doc(INVOICE)) == [
        "Copperfield Corp.",
        "569 Church Road",
        "INVOICE",
        "Invoice No.: 67283",
        "Bill to:",
        "Dorothy Castillo",
        "Item Qty Unit price Amount",
        "Subtotal",
        "Tax 6%",
        "Total due",
        "Payment is due",
    ]


def test_ocr_order_is_kept_when_asked_and_reordered_fully_with_reorder_ocr() -> None:
    texts = [t for t, _ in INVOICE]
    assert _order(_ocr_doc(INVOICE), LayoutConfig(reorder=False)) == texts
    full = _order(_ocr_doc(INVOICE), LayoutConfig(reorder_ocr=True))
    assert full != texts and full[0] == "Copperfield Corp."


def test_ocr_two_columns_with_overlapping_boxes_keep_tesseracts_column_order() -> None:
    # Noisy boxes close the gutter (304 vs 307): no column split can be seen, and
    # the paragraph gaps of the two columns line up; Tesseract's order is kept.
    boxes = [
        ("Title", (186, 56, 412, 93)),
        ("L1", (48, 129, 296, 277)),
        ("L2", (44, 312, 304, 426)),
        ("L3", (50, 434, 303, 641)),
        ("L4", (50, 670, 296, 731)),
        ("R1", (316, 129, 558, 237)),
        ("R2", (307, 259, 577, 447)),
        ("R3", (310, 447, 573, 666)),
        ("R4", (307, 669, 563, 709)),
    ]
    assert _order(_ocr_doc(boxes)) == [t for t, _ in boxes]


def test_ocr_narrow_heading_beside_a_title_makes_no_column() -> None:
    # "Outlook" sits left of where the centred title starts: not a column of its own.
    boxes = [
        ("Title", (134, 65, 478, 84)),
        ("by George", (258, 96, 356, 106)),
        ("Outlook", (54, 129, 95, 137)),
        ("L1", (54, 148, 296, 194)),
        ("L2", (54, 201, 296, 732)),
        ("R0", (316, 132, 499, 141)),
        ("R1", (316, 150, 558, 729)),
    ]
    assert _order(_ocr_doc(boxes)) == [t for t, _ in boxes]


def test_text_layer_invoice_header_is_read_row_by_row() -> None:
    # The same rule in the XY-cut of text-layer pages: "Bill to" starts a new row.
    boxes = [
        ("Copperfield Corp.", (60, 55, 190, 77)),
        ("INVOICE", (453, 50, 552, 83)),
        ("569 Church Road", (60, 78, 134, 102)),
        ("Invoice No.: 67283", (382, 93, 486, 135)),
        ("Bill to:", (60, 149, 91, 163)),
        ("Dorothy Castillo", (60, 165, 146, 221)),
        ("Item Qty Unit price Amount", (65, 263, 547, 377)),
    ]
    assert _order(_ocr_doc(boxes, ExtractionMethod.TEXT_LAYER)) == [
        "Copperfield Corp.",
        "569 Church Road",
        "INVOICE",
        "Invoice No.: 67283",
        "Bill to:",
        "Dorothy Castillo",
        "Item Qty Unit price Amount",
    ]
