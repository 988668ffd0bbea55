"""Page geometry shared by the layout stages: upright boxes, lines, sizes.

This module owns the geometric view of a page that the layout stages
(paragraphs, reading order, furniture, element types) reason on:

* :func:`page_frame` finds the rotation that makes a page's boxes upright. OCR
  boxes are mapped back onto the original (maybe rotated) page image, so a
  page scanned sideways has its words running down, not across; the frame is
  chosen from how words follow each other along their lines.
* :func:`block_lines` gives a block's printed lines with boxes: the
  extractor's lines when it kept them, else rebuilt from OCR words (the
  block text has one line per OCR line), else the text lines without boxes.
* :func:`line_size` is a font size estimate: the PDF font size when known,
  else the line box height scaled to points.

Nothing here changes a document; the functions are pure helpers.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipelines.model import BBox, Block, Page, TextLine, Word

NATIVE_KINDS = frozenset({"docx", "html", "markdown", "text", "email"})
"""Source kinds whose structure comes from markup, not from page geometry."""
_LINE_HEIGHT_PER_PT = 1.17
SIDE_BY_SIDE_GAP = 3.0
"""A gap this many type sizes wide inside an OCR line may separate two lines..."""
SIDE_BY_SIDE_SIZE = 1.4
"""...when the type on its two sides differs in size by this ratio."""
"""Height of an OCR line box (ascender to descender) per point of font size, roughly."""


@dataclass(frozen=True)
class Frame:
    """Maps page boxes into an upright page of ``width`` × ``height`` points."""

    rotation: int
    """0, 90, 180 or 270: how the boxes are turned (counter-clockwise) to be upright."""
    page_width: float
    page_height: float
    scale: float = 1.0
    """Points per page unit (72 / dpi for pages measured in pixels)."""

    @property
    def width(self) -> float:
        side = self.page_height if self.rotation in (90, 270) else self.page_width
        return side * self.scale

    @property
    def height(self) -> float:
        side = self.page_width if self.rotation in (90, 270) else self.page_height
        return side * self.scale

    def box(self, b: BBox) -> BBox:
        """``b`` in the upright page, in points."""
        if self.scale != 1.0:
            k = self.scale
            b = BBox(x0=b.x0 * k, y0=b.y0 * k, x1=b.x1 * k, y1=b.y1 * k)
        w, h = self.page_width * self.scale, self.page_height * self.scale
        if self.rotation == 90:  # text runs downwards: x' = y, y' = w - x
            return BBox(x0=b.y0, y0=w - b.x1, x1=b.y1, y1=w - b.x0)
        if self.rotation == 180:
            return BBox(x0=w - b.x1, y0=h - b.y1, x1=w - b.x0, y1=h - b.y0)
        if self.rotation == 270:  # text runs upwards: x' = h - y, y' = x
            return BBox(x0=h - b.y1, y0=b.x0, x1=h - b.y0, y1=b.x1)
        return b


def _direction_votes(page: Page) -> dict[int, int]:
    votes = dict.fromkeys((0, 90, 180, 270), 0)
    for block in page.blocks:
        ws = block.words
        if len(ws) < 2:
            continue  # no pair of words (every block of a text-layer page)
        for a, b in itertools.pairwise(ws):
            dx = (b.bbox.x0 + b.bbox.x1 - a.bbox.x0 - a.bbox.x1) / 2
            dy = (b.bbox.y0 + b.bbox.y1 - a.bbox.y0 - a.bbox.y1) / 2
            if abs(dx) > 2 * abs(dy):
                votes[0 if dx > 0 else 180] += 1
            elif abs(dy) > 2 * abs(dx):
                votes[90 if dy > 0 else 270] += 1
    return votes


def page_frame(page: Page) -> Frame:
    """The upright frame of a page, from the direction its OCR words run in."""
    votes = _direction_votes(page)
    best = max(votes, key=lambda k: (votes[k], k == 0))
    if votes[best] < 3 or votes[best] < 2 * votes[0]:
        best = 0
    scale = 1.0
    if page.unit == "px":
        dpi = page.image.dpi if page.image is not None else math.nan
        scale = 72.0 / (dpi if not math.isnan(dpi) and dpi > 0 else 300.0)
    return Frame(best, page.width, page.height, scale)


def upright(block: Block, frame: Frame) -> BBox | None:
    return frame.box(block.bbox) if block.bbox is not None else None


def _split_words(block: Block) -> list[list[int]] | None:
    """Indices of ``block.words`` per text line, when the text lines match the words."""
    counts = [len(line.split()) for line in block.text.split("\n")]
    if sum(counts) != len(block.words):
        return None
    out: list[list[int]] = []
    i = 0
    for n in counts:
        out.append(list(range(i, i + n)))
        i += n
    return out


_TALL = frozenset("bdfhiklt()[]{}/|!?#$%&@")
_DESCENDING = frozenset("gjpqy()[]{}")
_CAP_HEIGHT = 0.70
_X_HEIGHT = 0.49
_DESCENDER = 0.21
_COMMA_DESCENDER = 0.12


def glyph_extent(text: str) -> float:
    """Share of the type size that the ink of ``text`` spans vertically (NaN: no letters).

    A word with capitals, digits or ascenders reaches the cap height, else only
    the x-height; one with descenders goes below the baseline.
    """
    if sum(c.isalnum() for c in text) < 2:
        return math.nan
    tall = any(c.isupper() or c.isdigit() or c in _TALL for c in text)
    low = _DESCENDER if any(c in _DESCENDING for c in text) else 0.0
    if not low and any(c in ",;" for c in text):
        low = _COMMA_DESCENDER
    return (_CAP_HEIGHT if tall else _X_HEIGHT) + low


def _word_ems(words: list[Word], frame: Frame | None) -> list[float]:
    """Type size of each OCR word in page units, from its upright height (NaN: no letters)."""
    out = []
    for w in words:
        extent = glyph_extent(w.text)
        box = frame.box(w.bbox) if frame is not None else w.bbox
        height = box.height / frame.scale if frame is not None else box.height
        out.append(height / extent)
    return out


def _median(values: list[float]) -> float:
    known = [v for v in values if not math.isnan(v)]
    return statistics.median(known) if known else math.nan


def _ocr_line(words: list[Word], frame: Frame | None, text: str) -> TextLine:
    """A printed line made of OCR words: box, type size and stroke weight."""
    boxes = [w.bbox for w in words]
    # x from the union; bottom from the median word, height from the tallest word:
    # a skewed line is not made taller, a line of short letters not smaller.
    bottom = statistics.median(b.y1 for b in boxes)
    box = BBox(
        x0=min(b.x0 for b in boxes),
        y0=bottom - max(b.height for b in boxes),
        x1=max(b.x1 for b in boxes),
        y1=bottom,
    )
    strokes = [w.stroke * glyph_extent(w.text) for w in words]
    return TextLine(
        text=text,
        bbox=box,
        em=_median(_word_ems(words, frame)),
        stroke=_median(strokes),
    )


def _wordy(words: list[Word]) -> bool:
    """Mostly letters (not an amount, a date or a code)."""
    chars = "".join(w.text for w in words)
    return sum(c.isalpha() for c in chars) > 0.6 * max(1, sum(c.isalnum() for c in chars))


def _size_break(words: list[Word], frame: Frame | None) -> int | None:
    """Where a line of OCR words is really two lines of different sizes side by side.

    OCR joins a title and, far to its right, a larger word on the same baseline
    (``Acme Ltd.      INVOICE``) into one line: it is cut at its widest gap when
    that gap is wider than ``SIDE_BY_SIDE_GAP`` type sizes and the type on the
    two sides differs by ``SIDE_BY_SIDE_SIZE`` or more.
    """
    if len(words) < 2:
        return None
    ems = _word_ems(words, frame)
    boxes = [frame.box(w.bbox) if frame is not None else w.bbox for w in words]
    gaps = [(boxes[i].x0 - boxes[i - 1].x1, i) for i in range(1, len(words))]
    gap, at = max(gaps)
    scale = frame.scale if frame is not None else 1.0
    if not (_wordy(words[:at]) and _wordy(words[at:])):
        return None  # a label and its amount ("Subtotal     1,234.50") are one line
    left, right = _median(ems[:at]), _median(ems[at:])
    if math.isnan(left) or math.isnan(right) or gap < SIDE_BY_SIDE_GAP * max(left, right) * scale:
        return None
    return at if max(left, right) >= SIDE_BY_SIDE_SIZE * min(left, right) else None


def block_lines(block: Block, frame: Frame | None = None) -> list[TextLine]:
    """The printed lines of a block, with boxes where they can be known.

    Lines rebuilt from OCR words also get their type size and stroke weight,
    measured upright in ``frame`` when it is given.
    """
    if block.lines:
        return list(block.lines)
    texts = block.text.split("\n")
    groups = _split_words(block) if block.words else None
    if groups is None:
        return [TextLine(text=t) for t in texts]
    lines: list[TextLine] = []
    for text, idx in zip(texts, groups, strict=True):
        words = [block.words[i] for i in idx]
        if not words:
            lines.append(TextLine(text=text))
            continue
        cut = _size_break(words, frame) if " ".join(w.text for w in words) == text else None
        if cut is None:
            lines.append(_ocr_line(words, frame, text))
            continue
        for part in (words[:cut], words[cut:]):
            lines.append(_ocr_line(part, frame, " ".join(w.text for w in part)))
    return lines


def line_size(line: TextLine, frame: Frame) -> float:
    """Font size in points (measured, or estimated from the line height); NaN if unknown."""
    if not math.isnan(line.font_size) and line.font_size > 0:
        return line.font_size
    if not math.isnan(line.em) and line.em > 0:
        return line.em * frame.scale
    if line.bbox is None:
        return math.nan
    return frame.box(line.bbox).height / _LINE_HEIGHT_PER_PT


def block_size(block: Block, frame: Frame) -> float:
    """Dominant font size of a block (median over its lines); NaN if unknown."""
    if not math.isnan(block.font_size) and block.font_size > 0:
        return block.font_size
    sizes = [
        s for s in (line_size(ln, frame) for ln in block_lines(block, frame)) if not math.isnan(s)
    ]
    return statistics.median(sizes) if sizes else math.nan


def line_weights(
    blocks: Iterable[Block],
    frame: Frame,
    into: dict[float, int] | None = None,
    strokes: dict[float, int] | None = None,
) -> dict[float, int]:
    """The font size (:func:`line_size`) of each printed line of ``blocks`` with its
    weight, the line's characters / 10 (at least 1), added up ``into`` a mapping (a new
    one when not given); with ``strokes``, the lines' stroke weights are added up into
    it in the same pass. NaN values are left out."""
    weights: dict[float, int] = {} if into is None else into
    for b in blocks:
        for ln in block_lines(b, frame):
            w = max(1, len(ln.text) // 10)
            v = line_size(ln, frame)
            if not math.isnan(v):
                weights[v] = weights.get(v, 0) + w
            if strokes is not None and not math.isnan(ln.stroke):
                strokes[ln.stroke] = strokes.get(ln.stroke, 0) + w
    return weights


def weighted_median(weights: Mapping[float, int]) -> float:
    """``statistics.median`` of the values repeated by their weights, without making
    that list; NaN when there are none."""
    n = sum(weights.values())
    if not n:
        return math.nan
    half = n // 2  # the middle position (odd n), or the upper one of the middle two
    seen = 0
    lower = math.nan
    for value, w in sorted(weights.items()):
        if n % 2 == 0 and seen <= half - 1 < seen + w:
            lower = value
        if seen <= half < seen + w:
            return value if n % 2 else (lower + value) / 2
        seen += w
    raise AssertionError("unreachable: the weights add up to n")
