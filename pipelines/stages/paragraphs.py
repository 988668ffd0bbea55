"""Lines → paragraphs, for OCR and text-layer pages alike.

This module owns where one paragraph ends and the next begins:

* :func:`split_paragraphs` cuts extractor blocks (Tesseract paragraphs,
  PyMuPDF blocks) between two printed lines where the vertical gap is wider
  than usual, the font size changes (a heading glued to its text), a list
  bullet starts a line, or an indented line follows a short line that ends a
  sentence. Every block keeps its printed lines (``Block.lines``) with boxes.
* :func:`join_continuations` runs after reading order and furniture: a body
  paragraph that stops mid-sentence and continues in the next body block is
  merged with it when both are in the same column of the same page; across
  a column or page break only a word hyphenated at the end is rejoined (on
  evidence, see :func:`pipelines.stages.clean.dehyphenate_pair`), the blocks
  stay apart because a block lives on one page.

No text is ever dropped: splitting and joining only move line boundaries.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import statistics
from collections.abc import Container

from extractors.marks import OCR_EXTRACTOR, set_aside_marks
from pipelines.config import LayoutConfig
from pipelines.model import BBox, Block, Document, ElementType, Layer, Page, TextLine, stable_id
from pipelines.stages.clean import Vocabulary, dehyphenate_pair
from pipelines.stages.layout import NATIVE_KINDS, Frame, block_lines, line_size, page_frame

logger = logging.getLogger(__name__)

BULLET_RE = re.compile(r"^(?:[•●○◦▪▫■□‣⁃∙·*¢«»°©®>–-]|[eo](?=\s+[A-Z]))\s+")
_SENTENCE_END = (".", "!", "?", ":", '."', ".'", ".)")
_HYPHEN_END_RE = re.compile(r"(\w+)-$")
_FIRST_WORD_RE = re.compile(r"^(\w+)(.*)$", re.DOTALL)
_PARAGRAPH_TYPES = (ElementType.PARAGRAPH, ElementType.TEXT, ElementType.LIST_ITEM)


def _union(boxes: list[BBox]) -> BBox | None:
    if not boxes:
        return None
    out = boxes[0]
    for b in boxes[1:]:
        out = out.union(b)
    return out


def _cut_points(lines: list[TextLine], frame: Frame, cfg: LayoutConfig) -> list[int]:
    """Indices ``i`` such that a new paragraph starts at line ``i``."""
    boxes = [frame.box(ln.bbox) if ln.bbox is not None else None for ln in lines]
    sizes = [line_size(ln, frame) for ln in lines]
    heights = [b.height for b in boxes if b is not None]
    height = statistics.median(heights) if heights else math.nan
    lefts = [b.x0 for b in boxes if b is not None]
    left = min(lefts) if lefts else math.nan
    rights = [b.x1 for b in boxes if b is not None]
    right = max(rights) if rights else math.nan
    cuts: list[int] = []
    for i in range(1, len(lines)):
        text, prev_text = lines[i].text.strip(), lines[i - 1].text.strip()
        if BULLET_RE.match(text):
            cuts.append(i)
            continue
        a, b = boxes[i - 1], boxes[i]
        if a is None or b is None or math.isnan(height):
            continue
        gap = b.y0 - a.y1
        sa, sb = sizes[i - 1], sizes[i]
        if (
            not math.isnan(sa)
            and not math.isnan(sb)
            and max(sa, sb) > cfg.size_change * min(sa, sb)
        ):
            cuts.append(i)
        elif gap > cfg.paragraph_gap * height and not (
            not prev_text.endswith(_SENTENCE_END) and text[:1].islower() | text[:1].isdigit()
        ):
            cuts.append(i)  # a wide gap, unless the sentence visibly runs on
        elif (
            b.x0 - left > 0.8 * height
            and abs(a.x0 - left) < 0.4 * height
            and prev_text.endswith(_SENTENCE_END)
            and right - a.x1 > 2 * height
        ):
            cuts.append(i)  # an indented first line after a short last line
    return cuts


def _part(block: Block, lines: list[TextLine], first_word: int, k: int, n: int) -> Block:
    """Block made of some of ``block``'s lines (part ``k`` of ``n``)."""
    text = "\n".join(ln.text for ln in lines)
    boxes = [ln.bbox for ln in lines if ln.bbox is not None]
    wanted = sum(len(ln.text.split()) for ln in lines)
    words = block.words[first_word : first_word + wanted]
    sizes = [ln.font_size for ln in lines if not math.isnan(ln.font_size)]
    confs = [w.confidence for w in words if not math.isnan(w.confidence)]
    return block.model_copy(
        update={
            "id": block.id if n == 1 else stable_id(block.id, k),
            "text": text,
            "lines": lines,
            "bbox": _union(boxes) or block.bbox,
            "words": words,
            "font_size": max(sizes) if sizes else block.font_size,
            "bold": bool(lines) and sum(ln.bold for ln in lines) * 2 > len(lines),
            "confidence": sum(confs) / len(confs) if confs else block.confidence,
        }
    )


def split_block(block: Block, frame: Frame, cfg: LayoutConfig) -> list[Block]:
    """``block`` cut into paragraphs (itself, with its lines filled in, when it is one)."""
    if block.type is ElementType.TABLE or block.cells:
        return [block]
    lines = block_lines(block, frame)
    if not lines:
        return [block]
    if len(lines) == 1:  # one line is one paragraph (the cut rules compare line pairs)
        return [block] if block.lines else [block.model_copy(update={"lines": lines})]
    cuts = _cut_points(lines, frame, cfg)
    bounds = [0, *cuts, len(lines)]
    groups = [lines[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    if len(groups) == 1:  # one paragraph: the block as it is when it kept its lines
        return [block] if block.lines else [block.model_copy(update={"lines": lines})]
    words_match = sum(len(ln.text.split()) for ln in lines) == len(block.words)
    parts = []
    first_word = 0
    for k, g in enumerate(groups):
        src = block if words_match else block.model_copy(update={"words": []})
        parts.append(_part(src, g, first_word, k, len(groups)))
        first_word += sum(len(ln.text.split()) for ln in g)
    if block.extractor == OCR_EXTRACTOR:
        # One surely read word kept the whole OCR block as print; each paragraph is
        # judged on its own ("TT" under a footer, a letterhead read as garbage), but
        # leniently: a short line of unsurely read names is still print.
        parts = [set_aside_marks(p, lenient=True) for p in parts]
    return parts


def split_page(page: Page, cfg: LayoutConfig) -> Page:
    frame = page_frame(page)
    blocks = [p for b in page.blocks for p in split_block(b, frame, cfg)]
    return page.model_copy(update={"blocks": blocks})


def split_paragraphs(doc: Document, cfg: LayoutConfig) -> Document:
    """A copy of ``doc`` whose blocks are single paragraphs with their lines kept."""
    return doc.model_copy(update={"pages": [split_page(p, cfg) for p in doc.pages]})


# --------------------------------------------------------------------------- continuations


def _ends_open(block: Block) -> bool:
    text = block.text.rstrip()
    return bool(text) and not text.endswith(_SENTENCE_END)


def _same_column(a: Block, b: Block, frame: Frame) -> bool:
    if a.page != b.page or a.bbox is None or b.bbox is None:
        return False
    ba, bb = frame.box(a.bbox), frame.box(b.bbox)
    overlap = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
    if overlap < 0.5 * min(ba.width, bb.width):
        return False
    lines = block_lines(a)
    height = frame.box(lines[-1].bbox).height if lines and lines[-1].bbox else 12.0
    return -height <= bb.y0 - ba.y1 <= 2.5 * height


def _rejoin_word(prev: Block, nxt: Block, vocabulary: Container[str]) -> tuple[Block, Block]:
    """Move the rest of a word hyphenated at the end of ``prev`` from ``nxt``, on evidence."""
    head = _HYPHEN_END_RE.search(prev.text.rstrip())
    tail = _FIRST_WORD_RE.match(nxt.text.lstrip())
    if head is None or tail is None or not tail.group(1)[:1].islower():
        return prev, nxt
    joined = dehyphenate_pair(head.group(1), tail.group(1), vocabulary)
    if joined is None:
        return prev, nxt
    rest = tail.group(2)
    rest_first, _, rest_more = rest.partition("\n")
    punct = rest_first[: len(rest_first) - len(rest_first.lstrip(".,;:!?)\"'"))]
    new_prev_text = prev.text.rstrip()[: head.start()] + joined + punct
    new_next_text = (
        rest_first[len(punct) :].strip() + ("\n" + rest_more if rest_more else "")
    ).strip()
    prev_lines = list(prev.lines)
    if prev_lines:
        last = prev_lines[-1]
        prev_lines[-1] = last.model_copy(
            update={"text": last.text.rstrip()[: -len(head.group(0))] + joined + punct}
        )
    next_lines = list(nxt.lines)
    if next_lines:
        first = next_lines[0].text.lstrip()
        m = _FIRST_WORD_RE.match(first)
        if m is not None:
            next_lines[0] = next_lines[0].model_copy(
                update={"text": m.group(2)[len(punct) :].strip()}
            )
        next_lines = [ln for ln in next_lines if ln.text]
    return (
        prev.model_copy(update={"text": new_prev_text, "lines": prev_lines}),
        nxt.model_copy(update={"text": new_next_text, "lines": next_lines}),
    )


def _merge(a: Block, b: Block) -> Block:
    boxes = [x for x in (a.bbox, b.bbox) if x is not None]
    confs = [(a.confidence, len(a.text)), (b.confidence, len(b.text))]
    known = [(c, n) for c, n in confs if not math.isnan(c)]
    conf = sum(c * n for c, n in known) / max(1, sum(n for _, n in known)) if known else math.nan
    return a.model_copy(
        update={
            "text": a.text + "\n" + b.text,
            "lines": [*block_lines(a), *block_lines(b)],
            "words": [*a.words, *b.words],
            "bbox": _union(boxes),
            "confidence": conf,
        }
    )


def join_continuations(doc: Document, cfg: LayoutConfig) -> Document:
    """A copy of ``doc`` with paragraphs continued across blocks joined (see module doc)."""
    if not cfg.join_across_blocks or doc.kind in NATIVE_KINDS:
        return doc
    vocabulary = Vocabulary(lambda: [b.text for b in doc.blocks()])
    pages = [p.model_copy(update={"blocks": list(p.blocks)}) for p in doc.pages]
    frames = [page_frame(p) for p in pages]
    prev_at: tuple[int, int] | None = None  # (page index, block index) of the last body block
    for pi, page in enumerate(pages):
        bi = 0
        while bi < len(page.blocks):
            block = page.blocks[bi]
            if block.layer is not Layer.BODY or block.type not in _PARAGRAPH_TYPES:
                if block.layer is Layer.BODY and block.type is not ElementType.CAPTION:
                    prev_at = None  # a heading or table ends the paragraph
                bi += 1
                continue
            if prev_at is not None:
                ppi, pbi = prev_at
                prev = pages[ppi].blocks[pbi]
                if _ends_open(prev) and prev.type is block.type:
                    starts_lower = block.text.lstrip()[:1].islower()
                    if ppi == pi and starts_lower and _same_column(prev, block, frames[pi]):
                        pages[pi].blocks[pbi] = _merge(prev, block)
                        del page.blocks[bi]
                        continue
                    prev, block = _rejoin_word(prev, block, vocabulary)
                    pages[ppi].blocks[pbi] = prev
                    if block.text:
                        page.blocks[bi] = block
                    else:
                        del page.blocks[bi]
                        continue
            prev_at = (pi, bi)
            bi += 1
    return doc.model_copy(update={"pages": pages})
