"""Element types of body blocks: title, heading (with level), list item, caption, paragraph.

This module owns the type of every body block that is not a table. The
evidence is the block's size relative to the document's body size (font
size on digital pages, line height on scanned ones), its weight (digital
pages), its shape (one short line without a final period), section
numbering ("2.", "2.1") and capitals:

* title: on the first page, in its upper half, this many times the body
  size (``LayoutConfig.title_size``), or a short all-capitals line centred
  at the top of page 1;
* heading: a short block that is larger than the body, bold, numbered like
  a section, or set in capitals; its level comes from its size rank among
  headings, or from the depth of its numbering;
* list item: a line starting with a bullet (as OCR reads bullets: •, *, ¢,
  «, ...) or an enumerator ("1)", "a.") followed by text;
* caption: "Figure 3.", "Fig. 2", "Table 1:" ... at the start of a short block.

Furniture and table blocks keep their types. Native formats (DOCX, HTML)
keep the types their extractor read from the markup.
"""

from __future__ import annotations

import logging
import math
import re

from pipelines.config import LayoutConfig
from pipelines.model import Block, Document, ElementType, Layer
from pipelines.stages.layout import (
    NATIVE_KINDS,
    Frame,
    block_lines,
    block_size,
    line_weights,
    page_frame,
    weighted_median,
)
from pipelines.stages.paragraphs import BULLET_RE
from pipelines.textmetrics import word_validity

logger = logging.getLogger(__name__)

_CAPTION_RE = re.compile(r"^(?:figure|fig\.|table|chart|plate|exhibit)\s*\d+[a-z]?\s*[.:\-—]", re.I)
_NUMBERED_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+[A-Z]")
_ALPHA_RE = re.compile(r"[^\W\d_]+")
_ENUM_RE = re.compile(r"^(?:\(?[a-z0-9]{1,2}\)|[a-z]\.)\s+\S")
_TYPED = (ElementType.PARAGRAPH, ElementType.TEXT, ElementType.HEADING, ElementType.TITLE)
NUMERIC_SHARE = 0.4
"""A block whose letters and digits are more than this share digits is not a heading."""
MIN_HEADING_VALIDITY = 0.5
"""An OCR block with fewer real words than this share is not a heading (noise)."""
MIN_HEADING_CONFIDENCE = 0.5
"""An OCR block read with a lower mean confidence is not a heading (noise)."""
MAX_OCR_HEADING_WORDS = 10
BOLD_STROKE = 1.15
"""OCR lines whose strokes are this much heavier than the page's body text are bold."""
SAME_TIER = 1.08
"""Heading sizes within this ratio are one level."""


def _is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


def _short(block: Block) -> bool:
    text = block.text.strip()
    return len(text) <= 100 and len(block_lines(block)) <= 2 and len(text.split()) <= 14


def _heading_like(text: str) -> bool:
    """Shape of a heading: no final period (unless numbered), starts with a capital or digit."""
    text = text.strip()
    if not text or not (text[0].isupper() or text[0].isdigit()):
        return False
    if text.endswith((",", ";", "-")):
        return False
    return not text.endswith(".") or bool(_NUMBERED_RE.match(text) and len(text) < 60)


def _numeric(text: str) -> bool:
    """Mostly digits (amounts, dates, codes): a table row or a total, not a heading."""
    alnum = [c for c in text if c.isalnum()]
    return bool(alnum) and sum(c.isdigit() for c in alnum) > NUMERIC_SHARE * len(alnum)


def _misread(block: Block) -> bool:
    """OCR text that cannot be a heading: noise, a torn or upside-down line, a body line.

    Noise is read with low confidence and as short fragments ("ee tt ns"), so a
    heading needs a confident reading, one word of four letters or more and a
    majority of real words; and it is short.
    """
    if not block.words:
        return False
    if block.confidence < MIN_HEADING_CONFIDENCE or len(block.words) > MAX_OCR_HEADING_WORDS:
        return True
    validity = word_validity(block.text)
    longest = max((len(t) for t in _ALPHA_RE.findall(block.text)), default=0)
    return math.isnan(validity) or validity < MIN_HEADING_VALIDITY or longest < 4


def _stroke(blocks: list[Block], frame: Frame) -> float:
    """Median stroke weight of the printed lines of ``blocks`` (NaN: not measured)."""
    strokes: dict[float, int] = {}
    line_weights(blocks, frame, strokes=strokes)
    return weighted_median(strokes)


def _heavy(block: Block, frame: Frame, body_stroke: float) -> bool:
    """Set in heavier type than the page's body text (OCR pages: stroke weight)."""
    stroke = _stroke([block], frame)
    return not math.isnan(stroke) and stroke >= BOLD_STROKE * body_stroke


def _classify(
    block: Block, size: float, body: float, first_page: bool, top: float, cfg: LayoutConfig
) -> tuple[ElementType, int | None]:
    text = block.text.strip()
    ratio = size / body if not (math.isnan(size) or math.isnan(body) or body <= 0) else 1.0
    if _CAPTION_RE.match(text) and len(text) < 300:
        return ElementType.CAPTION, None
    if BULLET_RE.match(text) or (_ENUM_RE.match(text) and not _short(block)):
        return ElementType.LIST_ITEM, None
    if not _short(block):
        return ElementType.PARAGRAPH, None
    title = first_page and top < 0.5 and ratio >= cfg.title_size
    heading_like = _heading_like(text)
    if not (title or heading_like):  # cheap checks first: most blocks end here
        return ElementType.PARAGRAPH, None
    numbered = _NUMBERED_RE.match(text)
    if (_numeric(text) and not numbered) or _misread(block):
        return ElementType.PARAGRAPH, None
    if title:
        return ElementType.TITLE, None
    if not heading_like:
        return ElementType.PARAGRAPH, None
    if ratio >= cfg.heading_size or block.bold or (numbered and len(text) < 80):
        level = numbered.group(1).count(".") + 1 if numbered else None
        return ElementType.HEADING, level
    if _is_caps(text) and len(block_lines(block)) == 1:
        if first_page and top < 0.2:
            return ElementType.TITLE, None
        return ElementType.HEADING, None
    return ElementType.PARAGRAPH, None


def size_tiers(sizes: list[float]) -> list[float]:
    """Smallest size of each tier of heading sizes, largest tier first.

    Sizes within ``SAME_TIER`` of the largest of a tier share its tier, so the
    noise of sizes measured on scans does not make levels of its own.
    """
    tops: list[float] = []
    tiers: list[float] = []
    for size in sorted((s for s in sizes if not math.isnan(s)), reverse=True):
        if tops and size * SAME_TIER >= tops[-1]:
            tiers[-1] = size
        else:
            tops.append(size)
            tiers.append(size)
    return tiers


def classify_elements(doc: Document, cfg: LayoutConfig) -> Document:
    """A copy of ``doc`` with element types (and heading levels) on its body blocks."""
    if doc.kind in NATIVE_KINDS:
        return doc
    frames = [page_frame(p) for p in doc.pages]
    # One pass over each page's body lines: its size and stroke weights; the
    # document's body size is the median of all pages' size weights together.
    sizes: list[dict[float, int]] = []
    strokes: list[dict[float, int]] = []
    chars: list[int] = []
    everywhere: dict[float, int] = {}
    for page, frame in zip(doc.pages, frames, strict=True):
        body_blocks = [b for b in page.blocks if b.layer is Layer.BODY]
        chars.append(sum(len(b.text) for b in body_blocks))
        strokes.append({})
        sizes.append(line_weights(body_blocks, frame, strokes=strokes[-1]))
        for size, weight in sizes[-1].items():
            everywhere[size] = everywhere.get(size, 0) + weight
    body = weighted_median(everywhere)
    decided: dict[str, tuple[ElementType, int | None, float]] = {}
    for pi, (page, frame) in enumerate(zip(doc.pages, frames, strict=True)):
        page_body = weighted_median(sizes[pi])
        if math.isnan(page_body) or chars[pi] < 300:
            page_body = body
        body_stroke = weighted_median(strokes[pi])
        for b in page.blocks:
            if b.layer is not Layer.BODY or b.type not in _TYPED:
                continue
            size = block_size(b, frame)
            top = frame.box(b.bbox).y0 / frame.height if b.bbox and frame.height else 1.0
            # No body stroke measured (text-layer pages): no block is heavier than it.
            if not b.bold and not math.isnan(body_stroke) and _heavy(b, frame, body_stroke):
                b = b.model_copy(update={"bold": True})
            kind, level = _classify(b, size, page_body, pi == 0, top, cfg)
            decided[b.id] = (kind, level, size)
    # Heading levels without numbering: rank of the heading's size among heading sizes.
    tiers = size_tiers([s for k, _lv, s in decided.values() if k is ElementType.HEADING])
    pages = []
    for page in doc.pages:
        blocks = []
        for b in page.blocks:
            if b.id not in decided:
                blocks.append(b)
                continue
            kind, level, size = decided[b.id]
            if kind is ElementType.HEADING and level is None:
                level = next((i + 1 for i, low in enumerate(tiers) if size >= low), 1)
            same = b.type is kind and b.level == level
            blocks.append(b if same else b.model_copy(update={"type": kind, "level": level}))
        pages.append(page.model_copy(update={"blocks": blocks}))
    return doc.model_copy(update={"pages": pages})
