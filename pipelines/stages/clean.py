"""Cleaning: Unicode, ligatures, quotes, dashes, whitespace, line-end hyphens, broken lines.

Every function here is ``str -> str`` (as unstructured's cleaners) except
:func:`clean`, which applies them to each block of a document. Ligatures are
handled by Unicode NFKC (ﬁ → fi) rather than unstructured's ``clean_ligatures``,
which would also turn the letters æ/œ into "ae"/"oe" and corrupt French or
Danish words. unstructured's ``replace_unicode_quotes`` repairs common UTF-8
mojibake (``â€™``) and cp1252 quote bytes; it is imported only when a block
shows such bytes, because importing ``unstructured.cleaners.core`` builds a
table over all of Unicode (about 1.5 s). List bullets are stripped with the
same bullet set as unstructured's ``clean_bullets``, without that import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container
from functools import cache, lru_cache

from pipelines.config import CleanConfig
from pipelines.model import Block, Document, ElementType
from pipelines.offline import ensure_offline_env
from pipelines.textmetrics import english_words

_QUOTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
    }
)
_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "−": "-", "﹣": "-", "－": "-"})
_SOFT_HYPHEN = "\u00ad"
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH_RE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_HYPHEN_BREAK_RE = re.compile(r"(\w+)-\n(\w+)")
_TRIM = "\"'()[]{}.,;:!?*"
_TABLE_CELL_SPACES_RE = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BULLETS = "•●○◦▪▫■□‣⁃∙·*\\-\u204c\u204d\uf0b7"
_BULLET_START_RE = re.compile(rf"^\s*[{_BULLETS}]\s+")


def _unstructured_cleaners():  # type: ignore[no-untyped-def]
    ensure_offline_env()
    from unstructured.cleaners import core

    return core


_MOJIBAKE_HINT_RE = re.compile("[â\x91-\x97]")


def normalize_unicode(text: str, form: str = "NFKC") -> str:
    """Unicode normal form; drops zero-width characters and soft hyphens."""
    if text.isascii():
        return text  # every normal form of ASCII text is itself
    text = _ZERO_WIDTH_RE.sub("", text.replace(_SOFT_HYPHEN, ""))
    return unicodedata.normalize(form, text)  # type: ignore[arg-type]


def repair_mojibake(text: str) -> str:
    """Fix UTF-8-read-as-cp1252 quote sequences and cp1252 quote bytes."""
    if text.isascii() or not _MOJIBAKE_HINT_RE.search(text):
        return text
    fixed: str = _unstructured_cleaners().replace_unicode_quotes(text)
    return fixed


def straighten_quotes(text: str) -> str:
    if text.isascii() and "`" not in text:
        return text  # the backtick is the only ASCII character the table maps
    return text.translate(_QUOTES)


def normalize_dashes(text: str) -> str:
    """Hyphen-like dashes to '-'; the em dash (a different punctuation mark) stays."""
    if text.isascii():
        return text  # every dash the table maps is outside ASCII
    return text.translate(_DASHES)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces, trim lines, keep line breaks."""
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()  # one line (no line break, no tab) without a run of spaces
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def document_vocabulary(texts: list[str]) -> frozenset[str]:
    """Lower-case words a document spells out in full (not broken at a line end)."""
    return _vocabulary(tuple(texts))


class Vocabulary:
    """:func:`document_vocabulary` of some texts, made on the first look-up: a document
    that breaks no word at a line end never needs it."""

    __slots__ = ("_texts", "_words")

    def __init__(self, texts: Callable[[], list[str]]) -> None:
        self._texts = texts
        self._words: frozenset[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._words is None:
            self._words = document_vocabulary(self._texts())
        return word in self._words


@lru_cache(maxsize=2)
def _vocabulary(texts: tuple[str, ...]) -> frozenset[str]:
    """:func:`document_vocabulary`, kept for the last texts: the continuation and the
    cleaning stages ask for the same texts when no paragraph was joined."""
    vocab: set[str] = set()
    for text in texts:
        # Lower-casing first is the same: no trimmed character has a case, and
        # lower-casing makes no whitespace, line break or trimmed character.
        for line in text.lower().split("\n"):
            toks = line.split()
            if toks and toks[-1].endswith("-"):
                toks = toks[:-1]  # a line-end fragment is no evidence
            vocab.update([t.strip(_TRIM) for t in toks])
    vocab.discard("")
    return frozenset(vocab)


@cache
def _zipf_source() -> Callable[[str], float]:
    """Word frequency on the Zipf scale (0 = unknown, 3 = once per million words...).

    wordfreq's English list ships inside the package (nothing is downloaded);
    without it, a word of the unstructured word list counts as 4.
    """
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover - wordfreq is a dependency
        words = english_words()
        return lambda w: 4.0 if w in words else 0.0
    return lambda w: float(zipf_frequency(w, "en"))


def zipf(word: str) -> float:
    """How common ``word`` is in English, on the Zipf scale (0 = not a word)."""
    return _zipf_source()(word.lower())


def dehyphenate_pair(head: str, tail: str, vocabulary: Container[str] = frozenset()) -> str:
    """The word printed as ``head-`` at a line end and ``tail`` on the next line.

    Evidence, in order: the document's own spelling ("well-known" written
    elsewhere keeps the hyphen, "something" joins); a one-letter or numeric
    part ("n-octanal", "COVID-19") or a capitalised tail ("Jean-Pierre") keeps
    it; a joined form that is a common word ("capabilities", "relationship")
    joins unless it is much rarer than its two halves ("by-product",
    "so-called"); two real words stay hyphenated; fragments that are no words
    ("capabili", "ties") join.
    """
    joined, kept = head + tail, f"{head}-{tail}"
    low_head, low_tail, low_joined = head.lower(), tail.lower(), joined.lower()
    if f"{low_head}-{low_tail}" in vocabulary:
        return kept
    if low_joined in vocabulary:
        return joined
    if len(head) == 1 or head[-1:].isdigit() or tail[:1].isdigit() or tail[:1].isupper():
        return kept
    z_joined, z_head, z_tail = zipf(low_joined), zipf(low_head), zipf(low_tail)
    weaker_half = min(z_head, z_tail)
    if z_joined >= 2.5 and (weaker_half < 3.0 or z_joined >= weaker_half - 1.0):
        return joined
    if z_head >= 3.0 and z_tail >= 3.0:
        return kept
    return joined


def join_hyphenated(text: str, vocabulary: Container[str] = frozenset()) -> str:
    """Join words broken by a hyphen at a line end, on evidence (:func:`dehyphenate_pair`)."""
    if "-\n" not in text:
        return text  # no line ends with a hyphen
    return _HYPHEN_BREAK_RE.sub(
        lambda m: dehyphenate_pair(m.group(1), m.group(2), vocabulary), text
    )


def unwrap_lines(text: str) -> str:
    """Broken lines of one paragraph into one line."""
    if "\n" not in text:
        return text.strip()
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


def clean_text(
    text: str,
    cfg: CleanConfig,
    kind: ElementType = ElementType.PARAGRAPH,
    vocabulary: Container[str] = frozenset(),
) -> str:
    """All text cleaners, in order, for one block of the given element type."""
    text = normalize_unicode(text, cfg.unicode_form)
    text = repair_mojibake(text)
    if cfg.fix_quotes:
        text = straighten_quotes(text)
    if cfg.fix_dashes:
        text = normalize_dashes(text)
    if kind is ElementType.TABLE:  # keep the cell tabs and the row breaks
        rows = (
            "\t".join(_TABLE_CELL_SPACES_RE.sub(" ", c).strip() for c in r.split("\t"))
            for r in text.splitlines()
        )
        return "\n".join(r for r in rows if r.strip())
    text = normalize_whitespace(text)
    if cfg.join_hyphenated:
        text = join_hyphenated(text, vocabulary)
    text = unwrap_lines(text)
    if kind is ElementType.LIST_ITEM:
        text = _BULLET_START_RE.sub("", text, count=1) or text
    return text


def _clean_block(block: Block, cfg: CleanConfig, vocabulary: Container[str]) -> Block:
    text = clean_text(block.text, cfg, block.type, vocabulary)
    return block if text == block.text else block.model_copy(update={"text": text})


def clean(doc: Document, cfg: CleanConfig) -> Document:
    """A copy of ``doc`` with every block's text cleaned; empty blocks dropped."""
    vocabulary = Vocabulary(
        lambda: [normalize_unicode(b.text, cfg.unicode_form) for b in doc.blocks()]
    )
    pages = []
    for page in doc.pages:
        blocks = [_clean_block(b, cfg, vocabulary) for b in page.blocks]
        pages.append(page.model_copy(update={"blocks": [b for b in blocks if b.text]}))
    return doc.model_copy(update={"pages": pages})
