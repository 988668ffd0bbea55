"""How well a set of OCR words reads: confidently read real words score high."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipelines.textmetrics import word_validity

if TYPE_CHECKING:
    from extractors.ocr import OcrWord


def reading_score(words: Sequence[OcrWord], english: bool) -> tuple[float, float, float]:
    """(confidence, validity, score) of a reading.

    The score counts confidently read characters — the sum of word length x
    confidence — scaled by the share of real words, so a reading that drops text
    and one that reads noise as words both lose.
    """
    chars = sum(len(w.text) for w in words)
    if not chars:
        return math.nan, math.nan, 0.0
    weighted = sum(len(w.text) * w.confidence for w in words)
    confidence = weighted / chars
    validity = word_validity(" ".join(w.text for w in words)) if english else math.nan
    factor = validity if validity == validity else confidence
    return confidence, validity, weighted * factor
