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

import itertools
import logging
import math
import re
from dataclasses import dataclass

from pipelines.config import StructureConfig
from pipelines.model import BBox, Block, Document, ElementType, Layer, TextLine, Word, stable_id
from pipelines.stages.layout import (
    Frame,
    block_lines,
    block_size,
    line_weights,
    page_frame,
    weighted_median,
)

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
_SMALL = 0.92
"""A margin block in type under this share of the body size is set in smaller type."""
_MARGIN_SPLIT_GAP = 0.2
_ONE_PAGE_ZONE = 1.25
_NAME = 1.15
"""A letterhead name is set at least this much larger than the address under it."""
_FOOT_GAP_LINES = 4
"""On a one-page document, a footer note is this many body lines below the body."""


@dataclass(frozen=True)
class _Candidate:
    page: int
    index: int
    zone: str
    signature: str
    box: BBox
    size: float
    lines: int = 1


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


def _gap(
    doc: Document, c: _Candidate, frames: list[Frame], skip: set[int], slack: float = 0.5
) -> float:
    """Vertical gap between ``c`` and the nearest block on its body side (not in ``skip``)
    that overlaps it horizontally, or misses it by less than ``slack`` page widths."""
    page = doc.pages[c.page]
    nearest = math.inf
    for j, other in enumerate(page.blocks):
        if j == c.index or j in skip or other.bbox is None:
            continue
        ob = frames[c.page].box(other.bbox)
        if min(ob.x1, c.box.x1) - max(ob.x0, c.box.x0) < -slack * frames[c.page].width:
            continue
        gap = ob.y0 - c.box.y1 if c.zone == "top" else c.box.y0 - ob.y1
        if gap > -1:
            nearest = min(nearest, gap)
    return nearest


def _isolated(doc: Document, c: _Candidate, frames: list[Frame], height: float) -> bool:
    """A vertical gap of more than a line separates ``c`` from the nearest body block."""
    return _gap(doc, c, frames, set()) > height


def _group_isolated(
    doc: Document, c: _Candidate, group: list[_Candidate], frames: list[Frame], height: float
) -> bool:
    """Like :func:`_isolated`, for a stack of margin lines (a letterhead address):
    the gap is measured from the stack's edge to the nearest block outside it."""
    skip = {o.index for o in group}
    edge = (
        max(group, key=lambda o: o.box.y1)
        if c.zone == "top"
        else min(group, key=lambda o: o.box.y0)
    )
    return _gap(doc, edge, frames, skip, slack=0.0) > height


def _stack(c: _Candidate, candidates: list[_Candidate], height: float) -> list[_Candidate]:
    """Candidates of the same page and zone stacked with ``c`` (line gaps under a line)."""
    same = sorted(
        (o for o in candidates if o.page == c.page and o.zone == c.zone),
        key=lambda o: o.box.y0,
    )
    group = [c]
    changed = True
    while changed:
        changed = False
        for o in same:
            if o in group:
                continue
            near = any(
                -1 < o.box.y0 - g.box.y1 < height or -1 < g.box.y0 - o.box.y1 < height
                for g in group
            )
            overlap = any(min(o.box.x1, g.box.x1) - max(o.box.x0, g.box.x0) > 0 for g in group)
            if near and overlap:
                group.append(o)
                changed = True
    return group


def _body_size(doc: Document, frames: list[Frame]) -> float:
    weights: dict[float, int] = {}
    for page, frame in zip(doc.pages, frames, strict=True):
        line_weights(page.blocks, frame, into=weights)
    return weighted_median(weights)


def _small(c: _Candidate, body: float) -> bool:
    """``c`` is set in smaller type than the body (both measured)."""
    return not math.isnan(c.size) and not math.isnan(body) and c.size < _SMALL * body


def _one_page_furniture(
    doc: Document,
    c: _Candidate,
    candidates: list[_Candidate],
    frames: list[Frame],
    body: float,
    line_height: float,
) -> bool:
    """Furniture of a one-page document, where nothing can repeat: a margin block
    in smaller type than the body, set apart from the body by a gap (alone, or
    with the lines stacked with it: a letterhead address); or, at the foot of the
    page, a short note cut off from the body by a wide gap, whatever its type."""
    if doc.pages[c.page].blocks[c.index].type in (ElementType.TITLE, ElementType.HEADING):
        return False

    if _small(c, body):
        group = _stack(c, [o for o in candidates if _small(o, body)], line_height)
        if _group_isolated(doc, c, group, frames, line_height):
            return True
    if c.zone == "top" and _letterhead_line(c, candidates, line_height):
        group = _stack(c, candidates, line_height)
        if _group_isolated(doc, c, group, frames, line_height):
            return True
    return c.zone == "bottom" and _isolated(doc, c, frames, _FOOT_GAP_LINES * line_height)


def _letterhead_line(c: _Candidate, candidates: list[_Candidate], line_height: float) -> bool:
    """``c`` is a line of an address stacked flush left under a sender's name set in
    larger type, with at least one more such line (a street and a town)."""
    aligned = [
        o
        for o in candidates
        if o.page == c.page and o.zone == c.zone and abs(o.box.x0 - c.box.x0) < 0.5 * line_height
    ]
    aligned.sort(key=lambda o: o.box.y0)
    run: list[_Candidate] = []
    for o in aligned:  # consecutive lines, each under the last
        if run and not -1 < o.box.y0 - run[-1].box.y1 < 1.5 * line_height:
            if c in run:
                break
            run = []
        run.append(o)
    if c not in run or len(run) < 2 or c is run[0]:
        return False
    name, address = run[0], run[1:]
    lines = sum(o.lines for o in address)
    return lines >= 2 and all(
        not math.isnan(o.size) and name.size > _NAME * o.size for o in address
    )


def _split_at_gap(block: Block, frame: Frame) -> list[Block]:
    """A margin block cut where a line's words leave a gap wider than a fifth of the
    page (a letterhead line and a right-hand field that OCR read as one line): each
    run of words of each line becomes a one-line block, in reading order."""
    lines = block_lines(block)
    words = block.words
    if not words or sum(len(ln.text.split()) for ln in lines) != len(words):
        return [block]
    runs: list[tuple[TextLine, list[Word]]] = []
    first = 0
    split = False
    for line in lines:
        ws = words[first : first + len(line.text.split())]
        first += len(ws)
        boxes = [frame.box(w.bbox) for w in ws]
        cuts = [
            i
            for i in range(1, len(ws))
            if boxes[i].x0 - boxes[i - 1].x1 > _MARGIN_SPLIT_GAP * frame.width
        ]
        split = split or bool(cuts)
        runs.extend((line, ws[a:b]) for a, b in itertools.pairwise([0, *cuts, len(ws)]))
    if not split:
        return [block]
    parts = []
    for k, (line, ws) in enumerate(runs):
        box = ws[0].bbox
        for w in ws[1:]:
            box = box.union(w.bbox)
        text = " ".join(w.text for w in ws)
        confs = [w.confidence for w in ws if not math.isnan(w.confidence)]
        parts.append(
            block.model_copy(
                update={
                    "id": stable_id(block.id, "gap", k),
                    "text": text,
                    "bbox": box,
                    "words": ws,
                    "lines": [line.model_copy(update={"text": text, "bbox": box})],
                    "confidence": sum(confs) / len(confs) if confs else block.confidence,
                }
            )
        )
    return parts


def _split_margin_lines(doc: Document, frames: list[Frame], share: float) -> Document:
    """Blocks that start (or end) in a margin zone cut at wide gaps between words,
    so each run of words is judged alone."""
    pages = []
    reach = share * _ONE_PAGE_ZONE
    for page, frame in zip(doc.pages, frames, strict=True):
        blocks: list[Block] = []
        for b in page.blocks:
            if not b.words:  # only OCR words can be cut (text-layer blocks have none)
                blocks.append(b)
                continue
            box = frame.box(b.bbox) if b.bbox is not None else None
            near = box is not None and (
                box.y0 <= frame.height * reach or box.y1 >= frame.height * (1 - reach)
            )
            blocks.extend(_split_at_gap(b, frame) if near else [b])
        pages.append(page.model_copy(update={"blocks": blocks}) if blocks != page.blocks else page)
    return doc.model_copy(update={"pages": pages})


def mark_furniture(doc: Document, cfg: StructureConfig) -> Document:
    """A copy of ``doc`` with headers, footers and page numbers on the furniture layer."""
    frames = [page_frame(p) for p in doc.pages]
    doc = _split_margin_lines(doc, frames, cfg.margin_zone)
    body = _body_size(doc, frames)
    line_height = body * 1.2 if not math.isnan(body) else 12.0
    # A one-page letterhead may run a line past the zone: its stack is judged as one.
    share = cfg.margin_zone * (_ONE_PAGE_ZONE if len(doc.pages) == 1 else 1.0)
    candidates: list[_Candidate] = []
    for pi, page in enumerate(doc.pages):
        for bi, block in enumerate(page.blocks):
            if (
                block.bbox is None
                or block.type is ElementType.TABLE
                or block.layer is not Layer.BODY
            ):
                continue
            box = frames[pi].box(block.bbox)
            zone = _zone(box, frames[pi], share)
            if zone is None or len(block.text) > _MAX_CHARS:
                continue
            if len(block_lines(block)) > _MAX_LINES:
                continue
            size = block_size(block, frames[pi])
            n_lines = len(block_lines(block))
            candidates.append(_Candidate(pi, bi, zone, _signature(block.text), box, size, n_lines))

    n_pages = len(doc.pages)
    needed = max(2, math.ceil(cfg.min_repeat_share * n_pages))
    marks: dict[tuple[int, int], ElementType] = {}
    for c in candidates:
        text = doc.pages[c.page].blocks[c.index].text
        if is_page_number(text):
            marks[(c.page, c.index)] = ElementType.PAGE_NUMBER
            continue
        small = _small(c, body)
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
            and _one_page_furniture(doc, c, candidates, frames, body, line_height)
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
