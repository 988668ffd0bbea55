"""Text distances for the OCR benchmark: normalisation, CER and WER.

Hypothesis (doorstep's text) and ground truth are normalised the same way before
scoring (:func:`normalize`): Unicode NFKC, curly quotes folded to straight ones,
hyphen-like dashes to ``-``, soft hyphens and zero-width characters removed, every
whitespace run (newlines and form feeds included) collapsed to one space; receipts
are also case-folded (their GT is upper-case whatever the print).

Line-end hyphens: doorstep joins words broken at a line end, the GT keeps the
printed hyphen. :func:`join_marked_hyphens` joins GT lines only where the
generated corpus' sidecar says the break is a hyphenation break; real-corpus GT is
scored as is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein

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
    }
)
# hyphen, non-breaking hyphen, figure dash, en dash, minus, small/full-width hyphen-minus
_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "−": "-", "﹣": "-", "－": "-"})
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_WS_RE = re.compile(r"\s+")


def normalize(text: str, *, casefold: bool = False) -> str:
    """The comparison form of a text (applied to hypothesis and GT alike)."""
    text = _INVISIBLE_RE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_QUOTES).translate(_DASHES)
    text = _WS_RE.sub(" ", text).strip()
    return text.casefold() if casefold else text


def words(normalized: str) -> list[str]:
    return normalized.split(" ") if normalized else []


@dataclass(frozen=True)
class Distance:
    """Edit counts of one hypothesis against one GT (both already normalised)."""

    char_edits: int
    gt_chars: int
    word_edits: int
    gt_words: int

    @property
    def cer(self) -> float:
        return _rate(self.char_edits, self.gt_chars)

    @property
    def wer(self) -> float:
        return _rate(self.word_edits, self.gt_words)


def _rate(edits: int, length: int) -> float:
    if length == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / length


def distance(hyp: str, gt: str) -> Distance:
    """Character and word Levenshtein distances of two normalised texts."""
    gw = words(gt)
    return Distance(
        char_edits=Levenshtein.distance(hyp, gt),
        gt_chars=len(gt),
        word_edits=Levenshtein.distance(words(hyp), gw),
        gt_words=len(gw),
    )


def failed_distance(gt: str) -> Distance:
    """A failed document: everything of the GT is lost (CER = WER = 100 %)."""
    n_words = len(words(gt))
    return Distance(char_edits=len(gt), gt_chars=len(gt), word_edits=n_words, gt_words=n_words)


def score(hyp: str, gt: str, *, casefold: bool = False) -> Distance:
    """Normalise both texts, then measure."""
    return distance(normalize(hyp, casefold=casefold), normalize(gt, casefold=casefold))


def cer(hyp: str, gt: str, *, casefold: bool = False) -> float:
    return score(hyp, gt, casefold=casefold).cer


def wer(hyp: str, gt: str, *, casefold: bool = False) -> float:
    return score(hyp, gt, casefold=casefold).wer


def micro(distances: Iterable[Distance]) -> tuple[float, float]:
    """Micro-averaged (CER, WER): total edits over total GT length."""
    ds = list(distances)
    ce = sum(d.char_edits for d in ds)
    cn = sum(d.gt_chars for d in ds)
    we = sum(d.word_edits for d in ds)
    wn = sum(d.gt_words for d in ds)
    return _rate(ce, cn), _rate(we, wn)


# --------------------------------------------------------------------------- GT hyphens


def join_marked_hyphens(gt: str, breaks: Mapping[int, bool]) -> str:
    """Join GT line ``i`` with line ``i + 1`` for each marked hyphenation break.

    ``breaks`` maps 0-based line numbers of ``gt`` (lines ending in the printed
    hyphen) to ``keep``: True for a compound broken at its own hyphen
    ("well-" / "known" → "well-known"), False for a word hyphenated only to fit
    ("capabili-" / "ties" → "capabilities"). A break whose next line is blank or
    a page break, or whose line does not end in "-", is left alone.
    """
    lines = gt.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        while (
            i in breaks
            and i + 1 < len(lines)
            and line.rstrip().endswith("-")
            and lines[i + 1].strip()
            and "\f" not in lines[i + 1]
        ):
            head = line.rstrip()
            if not breaks[i]:
                head = head[:-1]
            i += 1
            line = head + lines[i].lstrip()
        out.append(line)
        i += 1
    return "\n".join(out)


def hyphen_breaks_from_lines(
    gt: str, sidecar_lines: Iterable[Mapping[str, Any]]
) -> dict[int, bool]:
    """Map the sidecar's printed lines onto GT line numbers; return the marked breaks.

    ``sidecar_lines`` are the printed lines in reading order as the generator
    records them (``{"text": ..., "hyphen": {"joined": ..., "compound": ...}}``);
    they are matched in order against the non-blank GT lines by their text.
    """
    gt_lines = gt.split("\n")
    breaks: dict[int, bool] = {}
    j = 0
    for rec in sidecar_lines:
        text = str(rec.get("text", ""))
        k = j
        while k < len(gt_lines) and gt_lines[k].strip() != text.strip():
            k += 1
        if k == len(gt_lines):
            continue  # not found (the GT skips it): keep searching from the same place
        j = k + 1
        hy = rec.get("hyphen")
        if hy:
            joined = str(hy.get("joined", "")) if isinstance(hy, Mapping) else ""
            compound = bool(hy.get("compound")) if isinstance(hy, Mapping) else False
            breaks[k] = compound or "-" in joined.strip("-")
    return breaks


FURNITURE_ROLES = frozenset({"header", "footer", "page_number"})


def body_gt_from_sidecar(sidecar: Mapping[str, Any]) -> str:
    """The body text a perfect ``doorstep convert --format text`` would give.

    Built from a generator sidecar: running headers, footers and page numbers
    (which doorstep moves to the furniture layer) are left out, and words
    hyphenated only to fit a line are joined ("capabili-" + "ties"); compounds
    broken at their own hyphen keep it. Pages are separated by a form feed.
    """
    pages_out: list[str] = []
    for page in sidecar.get("pages", []):
        parts: list[str] = []
        glue = False
        for line in page.get("lines", []):
            if line.get("role") in FURNITURE_ROLES:
                continue
            text = " ".join(str(line.get("text", "")).split())
            if glue and parts:
                parts[-1] += text
            else:
                parts.append(text)
            hy = line.get("hyphen")
            glue = bool(hy) and text.endswith("-")
            if glue and not hy.get("compound"):
                parts[-1] = parts[-1][:-1]
        pages_out.append("\n".join(parts))
    return "\f".join(pages_out)
