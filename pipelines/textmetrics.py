"""Measurements of text that several layers share: real-word share and garbage share.

The English word list is the one that ships inside unstructured
(``unstructured/nlp/english-words.txt``), read from the installed package
without importing it (importing unstructured starts its telemetry):
nothing is downloaded. It is loaded once per process, on first use, as a
sorted list searched by bisection (:class:`WordList`): building a set of its
427,000 words would cost a worker's start-up more than all its look-ups do.

Counts are additive (:class:`TextStats`): the stats of a page are the sum of
the stats of its blocks, so a block's text is measured once however many runs
(page body, chunks) it belongs to. Born-digital pages spend most of their
scoring time here, hence the fast paths (ASCII text, a per-process token cache).
"""

from __future__ import annotations

import importlib.util
import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

_TOKEN_RE = re.compile(r"\S+")
_STRIP = "\"'`“”‘’«»()[]{}<>.,;:!?¿¡*_—–-/\\|…"
_NUMERIC_RE = re.compile(r"^[\d.,:/%$€£#+\-x()]+$")
_WORD_RE = re.compile(r"^[^\W\d_]+(?:['’][^\W\d_]+)*$")
# Characters outside the usual word and punctuation set (a sign of OCR noise).
_SYMBOL_RE = re.compile(r"[^\w\s.,;:!?'\"()\-/%$€£&@#+*=]")
# ASCII control characters other than whitespace: the only garbage ASCII text can hold.
_ASCII_BAD_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_BAD = frozenset({"Cc", "Co", "Cs", "Cn"})


class WordList:
    """Membership in a word list kept sorted: a look-up is a binary search (about a
    microsecond), and loading costs no hashing of every word."""

    __slots__ = ("_words",)

    def __init__(self, words: list[str]) -> None:
        words.sort()  # linear on a list that is already sorted, as the shipped one is
        self._words = words

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        i = bisect_left(self._words, word)
        return i < len(self._words) and self._words[i] == word

    def __len__(self) -> int:
        return len(self._words)


@cache
def english_words() -> WordList:
    """The lower-case English word list shipped with unstructured."""
    spec = importlib.util.find_spec("unstructured")  # locate, do not import (telemetry)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the unstructured package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "nlp" / "english-words.txt"
    return WordList(path.read_text("utf-8").lower().split())


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _is_real_word(token: str, words: WordList) -> bool:
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


@lru_cache(maxsize=65536)
def word_class(raw: str) -> int:
    """-1: not counted (number, code, punctuation); 0: not a word; 1: a real word."""
    tok = raw.strip(_STRIP)
    if not tok or _NUMERIC_RE.match(tok):
        return -1
    if _WORD_RE.match(tok.replace("-", "")) and _is_real_word(tok, english_words()):
        return 1
    return 0


def _word_counts(toks: list[str]) -> tuple[int, int]:
    """(tokens that count for word validity, of them real words)."""
    classes = list(map(word_class, toks))
    return len(classes) - classes.count(-1), classes.count(1)


def _not_matching(pattern: re.Pattern[str]) -> bytes:
    """The ASCII characters ``pattern`` does not match, as bytes: deleting them from an
    ASCII text with ``bytes.translate`` leaves what it matches, to count."""
    return bytes(c for c in range(128) if not pattern.match(chr(c)))


_NOT_ASCII_BAD = _not_matching(_ASCII_BAD_RE)
_NOT_SYMBOL = _not_matching(_SYMBOL_RE)
_NOT_SPACE = _not_matching(re.compile(r"\s"))


def _garbage_chars(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, _NOT_ASCII_BAD))
    return sum(
        1
        for c in text
        if c == "\ufffd"
        or ((c >= "\x7f" or c < " ") and not c.isspace() and unicodedata.category(c) in _BAD)
    )


@dataclass(frozen=True, slots=True)
class TextStats:
    """Additive counts over a text; ratios are NaN when their denominator is 0."""

    n_tokens: int = 0
    word_tokens: int = 0  # tokens that count for word validity
    real_words: int = 0
    short_tokens: int = 0  # 1–2 character tokens that are not alphanumeric
    chars: int = 0  # non-space characters
    garbage: int = 0
    symbols: int = 0

    @classmethod
    def of(cls, text: str) -> TextStats:
        toks = text.split()  # the same runs as _TOKEN_RE.findall, faster
        if not toks:
            return cls()
        counted, real = _word_counts(toks)
        short = sum(1 for t in toks if len(t) <= 2 and not t.isalnum())
        if text.isascii():  # counted by deleting what does not count (bytes.translate)
            raw = text.encode("ascii")
            chars = len(raw) - len(raw.translate(None, _NOT_SPACE))
            symbols = len(raw.translate(None, _NOT_SYMBOL))
        else:
            chars = sum(map(len, toks))
            symbols = len(_SYMBOL_RE.findall(text))
        garbage = _garbage_chars(text)
        return cls(len(toks), counted, real, short, chars, garbage, symbols)

    @classmethod
    def total(cls, parts: Iterable[TextStats]) -> TextStats:
        """The sum of ``parts`` (as adding them up, with one object made)."""
        n = counted = real = short = chars = garbage = symbols = 0
        for p in parts:
            n += p.n_tokens
            counted += p.word_tokens
            real += p.real_words
            short += p.short_tokens
            chars += p.chars
            garbage += p.garbage
            symbols += p.symbols
        return cls(n, counted, real, short, chars, garbage, symbols)

    def __add__(self, other: TextStats) -> TextStats:
        return TextStats(
            self.n_tokens + other.n_tokens,
            self.word_tokens + other.word_tokens,
            self.real_words + other.real_words,
            self.short_tokens + other.short_tokens,
            self.chars + other.chars,
            self.garbage + other.garbage,
            self.symbols + other.symbols,
        )

    @property
    def validity(self) -> float:
        return self.real_words / self.word_tokens if self.word_tokens else math.nan

    @property
    def garbage_ratio(self) -> float:
        return self.garbage / self.chars if self.chars else math.nan

    @property
    def symbol_share(self) -> float:
        return self.symbols / self.chars if self.chars else math.nan

    @property
    def short_token_share(self) -> float:
        return self.short_tokens / self.n_tokens if self.n_tokens else math.nan


def word_validity(text: str) -> float:
    """Share of alphabetic tokens that are dictionary words; NaN when there are none.

    Numbers, codes and punctuation are not counted either way.
    """
    counted, real = _word_counts(_TOKEN_RE.findall(text))
    return real / counted if counted else math.nan


def garbage_ratio(text: str) -> float:
    """Share of non-space characters that are replacement, control or private-use marks."""
    chars = sum(map(len, text.split()))
    return _garbage_chars(text) / chars if chars else math.nan


_NOT_ASCII_ALNUM = _not_matching(re.compile(r"[A-Za-z0-9]"))


def alnum_count(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, _NOT_ASCII_ALNUM))
    return sum(1 for c in text if c.isalnum())
