"""Running headers, footers and page numbers → the furniture layer.

This module owns the split between body and furniture. A block is a
candidate when it sits in the top or bottom margin zone of its upright page
(see :mod:`pipelines.stages.layout`) and is short (at most two printed lines).
A candidate becomes furniture when

* it reads as a page number ("7", "- 7 -", "Page 7 of 9", "p. vii"), OCR
  confusions (l/I/| for 1, O for 0) forgiven; or
* it repeats, as text with its numbers folded and fuzzily matched to absorb
  OCR noise, at about the same height in the same zone on enough pages, and
  its style or spacing marks it off from the body (smaller type than the
  body, or set apart by a gap): a first body line that happens to sit in the
  zone and repeat is not a header; or
* in a one-page document, where nothing can repeat (letters, invoices), it
  is in smaller type than the body and set apart from it by a gap (a
  letterhead address line, a footer note).

Furniture is moved to its own layer, never deleted; everything else stays
in the body.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from dataclasses import dataclass

from pipelines.config import StructureConfig
from pipelines.model import BBox, Block, Document, ElementType, Layer
from pipelines.stages.layout import Frame, block_lines, block_size, line_size, page_frame

logger = logging.getLogger(__name__)

_PAGE_NUMBER_RE = re.compile(
    r"^(?:page|p\.|pg\.?|seite|pag\.?)?\s*[-–—(\[]?\s*(\d{1,4}|[ivxlcdm]{1,6})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/|von|de)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_OCR_DIGITS = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0", "o": "0", "S": "5"})
_NUMBERISH_RE = re.compile(r"^[\dlI|OoS]{1,4}$")
_DIGITS_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[^\w#]+")
_MAX_LINES = 2
_MAX_CHARS = 200


@dataclass(frozen=True)
class _Candidate:
    page: int
    index: int
    zone: str
    signature: str
    box: BBox
    size: float


def _zone(box: BBox, frame: Frame, share: float) -> str | None:
    if frame.height <= 0:
        return None
    if box.y1 <= frame.height * share:
        return "top"
    if box.y0 >= frame.height * (1 - share):
        return "bottom"
    return None


def _signature(text: str) -> str:
    """Text with numbers and punctuation folded, so 'Page 3' ~ 'Page 4'."""
    return _NON_WORD_RE.sub(" ", _DIGITS_RE.sub("#", text.lower())).strip()


def is_page_number(text: str) -> bool:
    """Whether ``text`` reads as a page number, forgiving OCR digit confusions."""
    text = " ".join(text.split())
    if _PAGE_NUMBER_RE.match(text):
        return True
    tokens = [t.translate(_OCR_DIGITS) if _NUMBERISH_RE.match(t) else t for t in text.split()]
    fixed = " ".join(tokens).replace("- ", "-").replace(" -", "-")
    return bool(_PAGE_NUMBER_RE.match(fixed) or _PAGE_NUMBER_RE.match(" ".join(tokens)))


def _similar(a: str, b: str) -> bool:
    from rapidfuzz import fuzz

    return a == b or (min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= 80)


def _isolated(doc: Document, c: _Candidate, frames: list[Frame], height: float) -> bool:
    """A vertical gap of more than a line separates ``c`` from the nearest body block."""
    page = doc.pages[c.page]
    nearest = math.inf
    for j, other in enumerate(page.blocks):
        if j == c.index or other.bbox is None:
            continue
        ob = frames[c.page].box(other.bbox)
        if min(ob.x1, c.box.x1) - max(ob.x0, c.box.x0) < -0.5 * frames[c.page].width:
            continue
        gap = ob.y0 - c.box.y1 if c.zone == "top" else c.box.y0 - ob.y1
        if gap > -1:
            nearest = min(nearest, gap)
    return nearest > height


def _body_size(doc: Document, frames: list[Frame]) -> float:
    sizes: list[float] = []
    for page, frame in zip(doc.pages, frames, strict=True):
        for b in page.blocks:
            for ln in block_lines(b, frame):
                s = line_size(ln, frame)
                if not math.isnan(s):
                    sizes.extend([s] * max(1, len(ln.text) // 10))
    return statistics.median(sizes) if sizes else math.nan


def mark_furniture(doc: Document, cfg: StructureConfig) -> Document:
    """A copy of ``doc`` with headers, footers and page numbers on the furniture layer."""
    frames = [page_frame(p) for p in doc.pages]
    body = _body_size(doc, frames)
    line_height = body * 1.2 if not math.isnan(body) else 12.0
    candidates: list[_Candidate] = []
    for pi, page in enumerate(doc.pages):
        for bi, block in enumerate(page.blocks):
            if block.bbox is None or block.type is ElementType.TABLE:
                continue
            box = frames[pi].box(block.bbox)
            zone = _zone(box, frames[pi], cfg.margin_zone)
            if zone is None or len(block.text) > _MAX_CHARS:
                continue
            if len(block_lines(block)) > _MAX_LINES:
                continue
            size = block_size(block, frames[pi])
            candidates.append(_Candidate(pi, bi, zone, _signature(block.text), box, size))

    n_pages = len(doc.pages)
    needed = max(2, math.ceil(cfg.min_repeat_share * n_pages))
    marks: dict[tuple[int, int], ElementType] = {}
    for c in candidates:
        text = doc.pages[c.page].blocks[c.index].text
        if is_page_number(text):
            marks[(c.page, c.index)] = ElementType.PAGE_NUMBER
            continue
        small = not math.isnan(c.size) and not math.isnan(body) and c.size < 0.92 * body
        kind = ElementType.HEADER if c.zone == "top" else ElementType.FOOTER
        if n_pages >= 2 and c.signature:
            tol = 0.05 * frames[c.page].height
            pages_with = {
                o.page
                for o in candidates
                if o.zone == c.zone
                and abs((o.box.y0 + o.box.y1) - (c.box.y0 + c.box.y1)) / 2 <= tol
                and _similar(c.signature, o.signature)
            }
            if len(pages_with) >= needed and (small or _isolated(doc, c, frames, line_height)):
                marks[(c.page, c.index)] = kind
                continue
        if (
            cfg.style_furniture
            and n_pages == 1
            and small
            and _isolated(doc, c, frames, line_height)
        ):
            marks[(c.page, c.index)] = kind

    pages = []
    for pi, page in enumerate(doc.pages):
        blocks: list[Block] = [
            b.model_copy(update={"layer": Layer.FURNITURE, "type": marks[(pi, bi)]})
            if (pi, bi) in marks
            else b
            for bi, b in enumerate(page.blocks)
        ]
        pages.append(page.model_copy(update={"blocks": blocks}))
    return doc.model_copy(update={"pages": pages})
