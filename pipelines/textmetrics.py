"""Measurements of text that several layers share: real-word share and garbage share.

The English word list is the one that ships inside unstructured
(``unstructured/nlp/english-words.txt``), read from the installed package
without importing it (importing unstructured starts its telemetry):
nothing is downloaded. It is loaded once per process, on first use.
"""

from __future__ import annotations

import importlib.util
import math
import re
import unicodedata
from functools import cache
from pathlib import Path

_TOKEN_RE = re.compile(r"\S+")
_STRIP = "\"'`“”‘’«»()[]{}<>.,;:!?¿¡*_—–-/\\|…"
_NUMERIC_RE = re.compile(r"^[\d.,:/%$€£#+\-x()]+$")
_WORD_RE = re.compile(r"^[^\W\d_]+(?:['’][^\W\d_]+)*$")


@cache
def english_words() -> frozenset[str]:
    """The lower-case English word list shipped with unstructured."""
    spec = importlib.util.find_spec("unstructured")  # locate, do not import (telemetry)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the unstructured package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "nlp" / "english-words.txt"
    return frozenset(path.read_text("utf-8").lower().split())


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _is_real_word(token: str, words: frozenset[str]) -> bool:
    lower = token.lower().replace("’", "'")
    if lower in words:
        return True
    if lower.endswith("'s") and lower[:-2] in words:
        return True
    # Hyphenated compounds count when every part is a word.
    if "-" in lower:
        parts = [p for p in lower.split("-") if p]
        return bool(parts) and all(p in words for p in parts)
    return False


def word_validity(text: str) -> float:
    """Share of alphabetic tokens that are dictionary words; NaN when there are none.

    Numbers, codes and punctuation are not counted either way.
    """
    words = english_words()
    total = 0
    real = 0
    for raw in tokens(text):
        tok = raw.strip(_STRIP)
        if not tok or _NUMERIC_RE.match(tok):
            continue
        total += 1
        if _WORD_RE.match(tok.replace("-", "")) and _is_real_word(tok, words):
            real += 1
    return real / total if total else math.nan


def garbage_ratio(text: str) -> float:
    """Share of non-space characters that are replacement, control or private-use marks."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return math.nan
    bad = 0
    for c in chars:
        cat = unicodedata.category(c)
        if c == "\ufffd" or cat in ("Cc", "Co", "Cs", "Cn"):
            bad += 1
    return bad / len(chars)


def alnum_count(text: str) -> int:
    return sum(1 for c in text if c.isalnum())
