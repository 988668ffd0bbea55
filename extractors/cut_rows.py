"""Rows that Tesseract's page segmentation cut apart: numbers read as a column of their own.

This module owns one measurement of an OCR reading's layout. On a till receipt
or an invoice, Tesseract's automatic page segmentation (``--psm 3``) sometimes
finds a column gap between an item and its price, and reads every label first,
then every amount: "2 X 60.84" ... "121.68 S" far below. On such a page it may
also split an amount at its decimal point ("432." and "65") and lose the tax
letter beyond it. The characters are mostly right; the rows are not, and a price
is no longer next to its item. Reading the page as one uniform block of text
(``--psm 6``) keeps each row whole.

The sign of it is :func:`cut_off_values`: short, mostly numeric lines that sit level
with a line of *another* Tesseract block to their left. Prose in two columns does
not show it: its lines are long, and its short lines (headings, a paragraph's last
line) are words, not numbers. Measured on the cached calibration pages (seed-7 and
seed-11 generated corpora, 140 pages, and 30 real pages): four pages had two cut-off
values or more, all receipts whose reading was off by 10-35 % CER; no other page
had more than one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.ocr import OcrWord

MIN_CUT_VALUES = 2
"""Cut-off values a reading needs before its page is re-read as one block of rows."""
VALUE_WIDTH = 0.25
"""A value's line is narrower than this share of the width of the page's text."""
VALUE_DIGITS = 0.5
"""At least this share of a value's letters and digits are digits."""
MIN_VALUE_CHARS = 2
"""A value has at least this many letters and digits (a lone digit may be a speck)."""


@dataclass(frozen=True)
class _Line:
    block: tuple[int, int]
    text: str
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


def _lines(words: list[OcrWord]) -> list[_Line]:
    """Tesseract's text lines, each with its block (block and paragraph number) and box."""
    grouped: dict[tuple[int, int, int], list[OcrWord]] = {}
    for w in words:
        grouped.setdefault((w.block, w.paragraph, w.line), []).append(w)
    out = []
    for (block, par, _), ws in grouped.items():
        ws.sort(key=lambda w: w.left)
        out.append(
            _Line(
                block=(block, par),
                text=" ".join(w.text for w in ws),
                x0=min(w.left for w in ws),
                y0=min(w.top for w in ws),
                x1=max(w.left + w.width for w in ws),
                y1=max(w.top + w.height for w in ws),
            )
        )
    return out


def _is_value(line: _Line, text_width: int) -> bool:
    chars = [c for c in line.text if c.isalnum()]
    if len(chars) < MIN_VALUE_CHARS or line.x1 - line.x0 >= VALUE_WIDTH * text_width:
        return False
    return sum(c.isdigit() for c in chars) >= VALUE_DIGITS * len(chars)


def _level(a: _Line, b: _Line) -> bool:
    """Whether two lines sit at one height (either's middle inside the other's rows)."""
    return a.y0 <= b.middle <= a.y1 or b.y0 <= a.middle <= b.y1


def cut_off_values(words: list[OcrWord]) -> int:
    """How many short numeric lines sit level with, and right of, another block's line."""
    lines = _lines(words)
    if len(lines) < 2:
        return 0
    width = max(ln.x1 for ln in lines) - min(ln.x0 for ln in lines)
    return sum(
        any(o.block != ln.block and o.x1 <= ln.x0 and _level(o, ln) for o in lines)
        for ln in lines
        if _is_value(ln, width)
    )


def rows_cut(words: list[OcrWord]) -> bool:
    """True when a reading shows :data:`MIN_CUT_VALUES` values cut off from their rows."""
    return cut_off_values(words) >= MIN_CUT_VALUES
