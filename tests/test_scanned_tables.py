"""A generated scanned ruled table (fixtures/tables/) read by Tesseract into one TABLE block.

The fixture is an invoice page scanned with blur, a 2-3 degree skew, noise and
JPEG artefacts (``python -m fixtures.generate --tables``); its sidecar knows the
text and box of every cell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz.distance import Levenshtein

from extractors.detect import identify
from extractors.registry import extractor_for
from pipelines.config import ExtractConfig, PipelineConfig
from pipelines.convert import run_stages
from pipelines.interop import table_html, table_markdown
from pipelines.model import Block, Document, ElementType, Page

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "tables" / "scanned_ruled_invoice.pdf"


@pytest.fixture(scope="module")
def extracted() -> tuple[list[Page], dict[str, Any]]:
    src = identify(FIXTURE)
    pages = extractor_for(src.kind).extract(src, ExtractConfig())
    side = json.loads(FIXTURE.with_suffix(".json").read_text(encoding="utf-8"))
    return pages, side


def _table(pages: list[Page]) -> Block:
    tables = [b for b in pages[0].blocks if b.type is ElementType.TABLE]
    assert len(tables) == 1
    return tables[0]


def _similarity(a: str, b: str) -> float:
    return 1.0 - Levenshtein.distance(a, b) / max(1, len(a), len(b))


def test_cells_are_read_at_their_row_and_column(extracted: tuple[list[Page], Any]) -> None:
    pages, side = extracted
    block = _table(pages)
    gt = side["pages"][0]["tables"][0]
    by_pos = {(c.row, c.col): c for c in block.cells}
    assert max(by_pos)[0] + 1 == gt["n_rows"] and max(by_pos)[1] + 1 == gt["n_cols"]
    cells = [cell for row in gt["cells"] for cell in row]
    right = sum(_similarity(c["text"], by_pos[(c["row"], c["col"])].text) >= 0.9 for c in cells)
    assert right / len(cells) >= 0.75, [c.text for c in block.cells]
    assert all(0.0 <= c.confidence <= 1.0 for c in block.cells if c.text)


def test_cell_boxes_are_where_the_cells_are_printed(extracted: tuple[list[Page], Any]) -> None:
    pages, side = extracted
    block = _table(pages)
    rec = side["pages"][0]
    (a, b, tx), (c, d, ty) = rec["pt_to_px"]
    to_page = 72.0 / side["dpi"]  # the image PDF's page is the pixel grid at 72/dpi
    by_pos = {(cell.row, cell.col): cell for cell in block.cells}
    for row in rec["tables"][0]["cells"]:
        for cell in row:
            x0, y0, x1, y1 = cell["bbox"]
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            px = (a * mx + b * my + tx) * to_page
            py = (c * mx + d * my + ty) * to_page
            box = by_pos[(cell["row"], cell["col"])].bbox
            assert box is not None and box.x0 < px < box.x1 and box.y0 < py < box.y1


def test_table_text_is_not_read_twice(extracted: tuple[list[Page], Any]) -> None:
    pages, side = extracted
    block = _table(pages)
    items = [row[0]["text"] for row in side["pages"][0]["tables"][0]["cells"][1:]]
    others = " ".join(b.text for b in pages[0].blocks if b is not block)
    assert all(item not in others for item in items)
    assert all(item in block.text for item in items)


def test_table_survives_the_stages_and_exports(extracted: tuple[list[Page], Any]) -> None:
    pages, side = extracted
    doc = Document(id="t", source=FIXTURE.name, sha256="0" * 64, kind="pdf", pages=pages)
    out = run_stages(doc, PipelineConfig())
    (block,) = [b for b in out.blocks() if b.type is ElementType.TABLE]
    md = table_markdown(block).splitlines()
    assert md[0].startswith("| Item | Qty |") and md[1].startswith("| --- |")
    assert len(md) == side["pages"][0]["tables"][0]["n_rows"] + 1
    assert table_html(block).startswith("<table><tr><th>Item</th>")
    assert any(block.id in [r.block_id for r in ch.blocks] for ch in out.chunks)
