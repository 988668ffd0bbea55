"""Reading order of OCR pages: regions top to bottom, Tesseract's order inside each.

The geometry comes from generated invoices and two-column pages whose OCR
blocks Tesseract ordered wrongly or rightly (``.bench/quality`` pages of
seeds 7 and 11), reduced to their boxes.
"""

from __future__ import annotations

from pipelines.config import LayoutConfig
from pipelines.model import BBox, Block, Document, ExtractionMethod, Layer, Page
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


# Tesseract's order on seed-7 021_typewriter_heavy (noisy memo, binarised): one
# column whose blocks came out of order ("FROM:" before "TO:", the middle first).
MEMO = [
    ("FROM: Thomas Fairbanks", (106.1, 112.5, 313.8, 139.9)),
    ("DATE: February 15, 1983", (104.1, 134.6, 295.7, 161.9)),
    ("increase social all special", (83.4, 354.8, 544.9, 409.7)),
    ("just committee", (70.3, 451.7, 508.7, 489.1)),
    ("TO: Walter Chandler", (101.0, 94.3, 285.2, 127.2)),
    ("long-term", (99.0, 217.8, 494.3, 236.7)),
    ("certain still annual", (81.2, 232.0, 470.9, 247.4)),
    ("control available", (79.7, 297.3, 507.8, 358.9)),
    ("SUBJECT: No Just Method World", (103.3, 166.6, 315.8, 200.4)),
    ("Committee it", (129.5, 196.8, 487.6, 234.7)),
]


def test_ocr_column_read_out_of_order_is_put_top_to_bottom() -> None:
    assert _order(_ocr_doc(MEMO)) == [
        "TO: Walter Chandler",
        "FROM: Thomas Fairbanks",
        "DATE: February 15, 1983",
        "SUBJECT: No Just Method World",
        "Committee it",
        "long-term",
        "certain still annual",
        "control available",
        "increase social all special",
        "just committee",
    ]


def test_ocr_line_read_across_the_gutter_keeps_tesseracts_place() -> None:
    # Seed-13 047_two_column_heavy, reduced: Tesseract read the left column, then the
    # right, but ran one line across both columns ("X"), which spans side-by-side
    # blocks at its own height. Bound to no column, it stays where Tesseract put it
    # instead of pulling the right column above it ahead of the left column's end.
    boxes = [
        ("L1", (51.1, 153.1, 306.0, 221.3)),
        ("L2", (42.2, 271.4, 303.1, 324.7)),
        ("L3", (46.8, 565.2, 295.7, 582.7)),
        ("X", (47.5, 577.4, 557.8, 630.2)),
        ("L4", (45.6, 645.4, 303.6, 670.6)),
        ("R1", (316.1, 140.6, 557.8, 169.1)),
        ("R2", (314.9, 234.2, 567.4, 310.9)),
        ("R3", (316.3, 559.7, 566.2, 578.9)),
        ("R4", (304.3, 590.0, 568.1, 669.1)),
    ]
    assert _order(_ocr_doc(boxes)) == [t for t, _ in boxes]


def test_ocr_notes_are_no_evidence_of_a_gutter() -> None:
    # Specks set aside as notes stand side by side inside a table's height: the table
    # is still bound to its column, and comes after the header read after it.
    boxes = [
        ("Item Qty Amount", (59.8, 259.8, 551.5, 399.8)),
        ("Northgate Industries", (57.4, 35.8, 582.2, 76.3)),
        ("speck", (76.8, 254.2, 113.8, 263.8)),
        ("scribble", (247.2, 252.6, 278.6, 262.2)),
    ]
    doc = _ocr_doc(boxes)
    page = doc.pages[0]
    notes = [
        b.model_copy(update={"layer": Layer.NOTES}) if b.text in {"speck", "scribble"} else b
        for b in page.blocks
    ]
    doc = doc.model_copy(update={"pages": [page.model_copy(update={"blocks": notes})]})
    order = _order(doc)
    assert order.index("Northgate Industries") < order.index("Item Qty Amount")


def test_ocr_caption_inside_a_wrapped_paragraph_keeps_its_place() -> None:
    # Real historical_huckfinn_p22, reduced: a caption under a picture lies inside the
    # height of the paragraph wrapped round the picture; it is below nothing.
    boxes = [
        ("THEY TIP-TOED ALONG.", (70.6, 392.3, 140.9, 396.3)),
        ("We went tip-toeing", (165.3, 89.6, 369.8, 282.4)),
        ("He listened some more", (20.9, 299.1, 370.7, 448.2)),
    ]
    order = _order(_ocr_doc(boxes))
    assert order.index("THEY TIP-TOED ALONG.") < order.index("He listened some more")
