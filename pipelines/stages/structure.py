"""Running headers, footers and page numbers → the furniture layer.

A block is furniture when it sits in the top or bottom margin zone of its page
and either looks like a page number or repeats (tolerating OCR noise and
changing numbers) in the same zone on enough other pages. Furniture is kept on
its own layer, never deleted; everything else stays in the body.
"""

from __future__ import annotations

import re

from pipelines.config import StructureConfig
from pipelines.model import Block, Document, ElementType, Layer, Page

_PAGE_NUMBER_RE = re.compile(
    r"^(?:page|p\.|seite|pag\.?)?\s*[-–—(\[]?\s*(\d{1,4}|[ivxlcdm]{1,6})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/|von|de)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[^\w#]+")


def _zone(block: Block, page: Page, share: float) -> str | None:
    if block.bbox is None or page.height <= 0:
        return None
    if block.bbox.y1 <= page.height * share:
        return "top"
    if block.bbox.y0 >= page.height * (1 - share):
        return "bottom"
    return None


def _signature(text: str) -> str:
    """Text with numbers and punctuation folded, so 'Page 3' ~ 'Page 4'."""
    return _NON_WORD_RE.sub(" ", _DIGITS_RE.sub("#", text.lower())).strip()


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER_RE.match(text.strip()))


def _similar(a: str, b: str) -> bool:
    from rapidfuzz import fuzz

    return a == b or (min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= 85)


def mark_furniture(doc: Document, cfg: StructureConfig) -> Document:
    """A copy of ``doc`` with headers, footers and page numbers on the furniture layer."""
    candidates: list[tuple[int, int, str, str]] = []  # page idx, block idx, zone, signature
    for pi, page in enumerate(doc.pages):
        for bi, block in enumerate(page.blocks):
            zone = _zone(block, page, cfg.margin_zone)
            if zone is not None and len(block.text) <= 200:
                candidates.append((pi, bi, zone, _signature(block.text)))

    n_pages = len(doc.pages)
    needed = max(2, round(cfg.min_repeat_share * n_pages))
    marks: dict[tuple[int, int], ElementType] = {}
    for pi, bi, zone, sig in candidates:
        text = doc.pages[pi].blocks[bi].text
        if is_page_number(text):
            marks[(pi, bi)] = ElementType.PAGE_NUMBER
            continue
        if n_pages < 2 or not sig:
            continue
        pages_with = {pj for pj, _bj, zj, sj in candidates if zj == zone and _similar(sig, sj)}
        if len(pages_with) >= needed:
            marks[(pi, bi)] = ElementType.HEADER if zone == "top" else ElementType.FOOTER

    pages = []
    for pi, page in enumerate(doc.pages):
        blocks = [
            b.model_copy(update={"layer": Layer.FURNITURE, "type": marks[(pi, bi)]})
            if (pi, bi) in marks
            else b
            for bi, b in enumerate(page.blocks)
        ]
        pages.append(page.model_copy(update={"blocks": blocks}))
    return doc.model_copy(update={"pages": pages})
