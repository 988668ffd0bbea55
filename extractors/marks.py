"""Marks that are not print: what OCR made of a drawing, a stamp, a scribble or a rule.

``set_aside_marks`` moves such a block to the notes layer (kept in the document,
never in chunk text). The OCR extractor applies it to every block it reads, and the
paragraph stage again to each paragraph it cuts out of an OCR block, since a block
holding one surely read word can hide a garbage line beside it. Pure and light: no
NumPy, so the stages of a text-layer worker can import it.
"""

from __future__ import annotations

import math
import re

from extractors.handwriting import CONFIDENT
from pipelines.model import Block, ElementType, Layer
from pipelines.textmetrics import word_class

OCR_EXTRACTOR = "tesseract"
"""The ``Block.extractor`` of text read by OCR."""

UNREADABLE_CONFIDENCE = 0.5
"""A block read this unsurely is marks (noise, a drawing, a stamp), not print, unless
it holds a real word of 3+ letters read with confidence ``CONFIDENT`` or more."""


RULE_CHARS = frozenset("|¦_-–—=~:;.,'\"`")
"""What OCR makes of a ruling line, a table border or a box edge read on its own."""


def set_aside_marks(block: Block, *, lenient: bool = False) -> Block:
    """``block`` on the notes layer when OCR made only unsure non-words of it: a
    drawing, a stamp or a scribble read as letters ("(TM a,"), not printed text;
    or only rule strokes ("|" beside a table's border), however sure.

    ``lenient`` for a paragraph cut out of a block that was judged print: it stays
    print while at least half of its words of three letters or more look printed
    (:func:`_looks_printed`), read surely or not, since short lines of names and
    totals ("J. L. McGinnis", "GST SUMMARY") are often read unsurely; garbage
    seldom is ("a cuemmnaaie mn tet Z illthe": one word of three)."""
    if block.layer is not Layer.BODY or block.type is ElementType.TABLE or not block.words:
        return block
    if all(c in RULE_CHARS or c.isspace() for c in block.text):
        return block.model_copy(update={"layer": Layer.NOTES})
    confs = [w.confidence for w in block.words if not math.isnan(w.confidence)]
    if not confs or sum(confs) / len(confs) >= UNREADABLE_CONFIDENCE:
        return block
    if any(_long(w.text) and _real(w.text) and w.confidence >= CONFIDENT for w in block.words):
        return block  # a real word of three letters or more, read surely: print
    if lenient:
        long = [w.text for w in block.words if _long(w.text)]
        printed = sum(map(_looks_printed, long))
        if printed and printed * 2 >= len(long):
            return block
    return block.model_copy(update={"layer": Layer.NOTES})


_NAME_RE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)?")
"""A capitalised name (``Orcutt``, ``McGinnis``)."""


def _looks_printed(text: str) -> bool:
    """A real word of three letters or more, or a capitalised name of four letters or
    more, however unsurely read: what a line of print holds and a smudge rarely does."""
    if _long(text) and _real(text):
        return True
    tok = text.strip(".,;:!?()[]'\"‘’“”")
    return len(tok) >= 4 and _NAME_RE.fullmatch(tok) is not None


def _long(text: str) -> bool:
    """A word of three letters or more."""
    return sum(c.isalpha() for c in text) >= 3


def _real(text: str) -> bool:
    """A word the word list knows (:func:`pipelines.textmetrics.word_class`)."""
    return word_class(text) == 1
