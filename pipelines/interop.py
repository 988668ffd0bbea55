"""Export a Document for other tools: unstructured elements, LangChain JSONL, tables.

This module owns the shapes doorstep hands to other libraries:

* :func:`to_unstructured` — a JSON list of unstructured elements
  (``type``, ``element_id``, ``text``, ``metadata``) that
  ``unstructured.staging.base.elements_from_json`` reads back;
* :func:`to_langchain` — JSON lines of LangChain-style documents, one per
  chunk (``page_content`` + ``metadata``);
* :func:`table_markdown` / :func:`table_html` — a TABLE block from its cells
  (or from its tab-separated text when it has none).

Furniture blocks are exported too, as unstructured ``Header`` / ``Footer``
/ ``PageNumber`` elements, so nothing is lost; chunks (and so LangChain
documents) hold the body only unless the chunker was told otherwise.
"""

from __future__ import annotations

import html
import json
from typing import Any

from pipelines.model import Block, Document, ElementType, TableCell

_UNSTRUCTURED_TYPES = {
    ElementType.TITLE: "Title",
    ElementType.HEADING: "Title",
    ElementType.PARAGRAPH: "NarrativeText",
    ElementType.TEXT: "Text",
    ElementType.LIST_ITEM: "ListItem",
    ElementType.TABLE: "Table",
    ElementType.CAPTION: "FigureCaption",
    ElementType.PAGE_NUMBER: "PageNumber",
    ElementType.HEADER: "Header",
    ElementType.FOOTER: "Footer",
}


def _grid(block: Block) -> list[list[str]]:
    """Rows of cell texts of a table block."""
    if block.cells:
        n_rows = max(c.row + c.row_span for c in block.cells)
        n_cols = max(c.col + c.col_span for c in block.cells)
        grid = [[""] * n_cols for _ in range(n_rows)]
        for c in block.cells:
            grid[c.row][c.col] = c.text
        return grid
    rows = [line.split("\t") for line in block.text.split("\n") if line.strip()]
    width = max((len(r) for r in rows), default=0)
    return [[c.strip() for c in r] + [""] * (width - len(r)) for r in rows]


def table_markdown(block: Block) -> str:
    """A table block as a GitHub Markdown table (first row as header)."""
    grid = _grid(block)
    if not grid or len(grid[0]) < 2:
        return block.text
    esc = [[c.replace("|", "\\|").replace("\n", " ") for c in row] for row in grid]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + " --- |" * len(esc[0])]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines)


def _cell_html(cell: TableCell | None, text: str, header: bool) -> str:
    tag = "th" if header else "td"
    attrs = ""
    if cell is not None and cell.row_span > 1:
        attrs += f' rowspan="{cell.row_span}"'
    if cell is not None and cell.col_span > 1:
        attrs += f' colspan="{cell.col_span}"'
    return f"<{tag}{attrs}>{html.escape(text)}</{tag}>"


def table_html(block: Block) -> str:
    """A table block as an HTML ``<table>`` (header rows as ``<th>``)."""
    grid = _grid(block)
    by_pos = {(c.row, c.col): c for c in block.cells}
    rows = []
    for r, row in enumerate(grid):
        header = by_pos[(r, 0)].header if (r, 0) in by_pos else r == 0
        cells = "".join(_cell_html(by_pos.get((r, c)), t, header) for c, t in enumerate(row))
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _element(doc: Document, block: Block, parent: dict[int, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "filename": doc.source.rsplit("/", 1)[-1],
        "page_number": block.page,
        "languages": ["eng"],
    }
    if block.bbox is not None:
        b = block.bbox
        meta["coordinates"] = {
            "points": [[b.x0, b.y0], [b.x0, b.y1], [b.x1, b.y1], [b.x1, b.y0]],
            "system": "PixelSpace",
            "layout_width": doc.pages[block.page - 1].width if block.page <= len(doc.pages) else 0,
            "layout_height": doc.pages[block.page - 1].height
            if block.page <= len(doc.pages)
            else 0,
        }
    if block.type in (ElementType.TITLE, ElementType.HEADING):
        meta["category_depth"] = 0 if block.type is ElementType.TITLE else (block.level or 1)
    level = 0 if block.type is ElementType.TITLE else (block.level or 1)
    if block.type not in (ElementType.TITLE, ElementType.HEADING):
        above = [v for k, v in parent.items()]
        if above:
            meta["parent_id"] = above[-1]
    else:
        above = [v for k, v in sorted(parent.items()) if k < level]
        if above:
            meta["parent_id"] = above[-1]
    if block.type is ElementType.TABLE:
        meta["text_as_html"] = table_html(block)
    if block.confidence == block.confidence:
        meta["detection_class_prob"] = round(block.confidence, 4)
    return {
        "type": _UNSTRUCTURED_TYPES.get(block.type, "Text"),
        "element_id": block.id,
        "text": block.text,
        "metadata": meta,
    }


def unstructured_elements(doc: Document) -> list[dict[str, Any]]:
    """Every block (body and furniture) as an unstructured element dict, in reading order."""
    parent: dict[int, str] = {}
    out = []
    for block in doc.blocks():
        if not block.text:
            continue
        out.append(_element(doc, block, parent))
        if block.type in (ElementType.TITLE, ElementType.HEADING):
            level = 0 if block.type is ElementType.TITLE else (block.level or 1)
            parent = {k: v for k, v in parent.items() if k < level}
            parent[level] = block.id
    return out


def to_unstructured(doc: Document) -> str:
    """The document as unstructured's element JSON (``elements_from_json`` reads it)."""
    return json.dumps(unstructured_elements(doc), ensure_ascii=False, indent=1) + "\n"


def langchain_documents(doc: Document) -> list[dict[str, Any]]:
    """One LangChain-style document per chunk: ``page_content`` and ``metadata``."""
    out = []
    for c in doc.chunks:
        meta: dict[str, Any] = {
            "source": doc.source,
            "doc_id": doc.id,
            "chunk_id": c.id,
            "chunk_index": c.index,
            "page_start": c.page_start,
            "page_end": c.page_end,
            "headings": list(c.headings),
            "element_types": [str(t) for t in c.element_types],
            "block_ids": [r.block_id for r in c.blocks],
        }
        q = c.quality.score
        meta["quality"] = None if q != q else round(q, 4)
        meta["grade"] = str(c.quality.grade)
        out.append({"page_content": c.text, "metadata": meta, "type": "Document"})
    return out


def to_langchain(doc: Document) -> str:
    """The chunks as LangChain-style JSON lines."""
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in langchain_documents(doc))
