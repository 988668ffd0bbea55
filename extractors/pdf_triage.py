"""Text-layer triage of one PDF page: use the text layer, or OCR the page.

A text layer is not used when it is missing or short on a page with images or
drawings; garbled (U+FFFD, private-use or control characters — what fonts
without a ToUnicode map give — or ``(cid:NN)`` glyph names); nonsense (few
real words); an invisible OCR layer (render mode 3, from an old scanner) of
poor quality; or a few vector words over a full-page scan image. Every
decision carries its reason (``Page.method_reason``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from extractors.pdf_text import Box, TextLayerBlock
from pipelines.config import ExtractConfig, OcrMode
from pipelines.textmetrics import TextStats, alnum_count

if TYPE_CHECKING:
    import pymupdf

_CID_RE = re.compile(r"\(cid:\d+\)")
GARBAGE_SHARE = 0.05
SCAN_COVERAGE = 0.8
"""An image covering this share of the page makes the page a scan."""
SCAN_MAX_TEXT_CHARS = 200
"""A scan whose text layer has fewer characters is OCRed (a few vector words on top)."""
PICTURE_MIN_SHARE = 0.05
"""An image covering at least this share of a text page is OCRed too (mode both)."""
PICTURE_MAX_TEXT_CHARS = 20
"""...unless the text layer already has this many characters over it."""
INVISIBLE_SHARE = 0.5
INVISIBLE_MIN_VALIDITY = 0.8
"""An invisible (OCR) text layer with a smaller share of real words is OCRed again."""


def _image_boxes(page: pymupdf.Page, images: Sequence[Box] | None) -> Sequence[Box]:
    """``images`` (from :func:`extractors.pdf_text.read_text_and_images`), else read them."""
    if images is not None:
        return images
    return [tuple(info["bbox"]) for info in page.get_image_info()]


def image_coverage(page: pymupdf.Page, images: Sequence[Box] | None = None) -> float:
    """Share of the page area covered by its largest image (``images``: their boxes)."""
    import pymupdf

    area = abs(page.rect) or 1.0
    best = 0.0
    for bbox in _image_boxes(page, images):
        box = pymupdf.Rect(bbox) & page.rect
        best = max(best, abs(box) / area)
    return best


def picture_regions(
    page: pymupdf.Page, layer: Sequence[TextLayerBlock], images: Sequence[Box] | None = None
) -> list[Box]:
    """Boxes (points) of images large enough to hold text that no text-layer text covers:
    a scanned figure, a pasted scan of a table, a photographed form on a digital page."""
    import pymupdf

    area = abs(page.rect) or 1.0
    out: list[Box] = []
    for bbox in _image_boxes(page, images):
        box = pymupdf.Rect(bbox) & page.rect
        if box.is_empty or abs(box) / area < PICTURE_MIN_SHARE or abs(box) / area >= SCAN_COVERAGE:
            continue
        covered = sum(
            len(ln.text)
            for b in layer
            for ln in b.lines
            if box.contains(
                pymupdf.Point((ln.bbox[0] + ln.bbox[2]) / 2, (ln.bbox[1] + ln.bbox[3]) / 2)
            )
        )
        if covered < PICTURE_MAX_TEXT_CHARS:
            out.append((box.x0, box.y0, box.x1, box.y1))
    return out


def _has_images(page: pymupdf.Page) -> bool:
    """The page's resources list an image (it may draw none)."""
    return bool(page.get_images(full=False))


def invisible_share(layer: Sequence[TextLayerBlock]) -> float:
    """Share of text-layer characters drawn invisibly (render mode 3 / alpha 0)."""
    total = sum(ln.chars for b in layer for ln in b.lines)
    hidden = sum(ln.hidden for b in layer for ln in b.lines)
    return hidden / total if total else 0.0


def decide(
    page: pymupdf.Page,
    layer: Sequence[TextLayerBlock],
    cfg: ExtractConfig,
    images: Sequence[Box] | None = None,
) -> tuple[bool, str]:
    """(OCR the page?, why) for a page whose text layer is ``layer`` (``images``: the
    boxes of its images, when already read)."""
    if cfg.ocr is OcrMode.FORCE:
        return True, "OCR forced (--ocr force)"
    if cfg.ocr is OcrMode.NEVER:
        return False, "OCR disabled (--ocr never)"
    text = "\n".join(b.text for b in layer)
    n_chars = alnum_count(text)
    if n_chars < cfg.min_text_chars:
        if n_chars or _has_images(page):
            return True, f"text layer has only {n_chars} characters"
        if page.get_drawings():
            return True, "no text layer; page has vector drawings"
        return False, "blank page"
    cids = len(_CID_RE.findall(text)) if "(cid:" in text else 0
    if cids:
        return True, f"text layer is garbled ({cids} unmapped (cid:NN) glyphs)"
    stats = TextStats.of(text)  # garbage and real words from one pass over the tokens
    garbage = stats.garbage_ratio
    if garbage > GARBAGE_SHARE:
        return True, f"text layer is garbled ({garbage:.0%} replacement or private-use characters)"
    english = "eng" in cfg.languages.split("+")
    validity = stats.validity if english else float("nan")
    measured = validity == validity
    if measured and validity < cfg.min_text_validity:
        return True, f"text layer looks like nonsense ({validity:.0%} real words)"
    if invisible_share(layer) > INVISIBLE_SHARE:
        if measured and validity < INVISIBLE_MIN_VALIDITY:
            return True, f"invisible OCR text layer of poor quality ({validity:.0%} real words)"
        return False, f"invisible OCR text layer with {n_chars} characters of real text"
    drawn = images is None or len(images) > 0  # none drawn: no coverage, whatever is listed
    coverage = image_coverage(page, images) if drawn and _has_images(page) else 0.0
    if coverage >= SCAN_COVERAGE and n_chars < SCAN_MAX_TEXT_CHARS:
        return True, f"page is a scan ({coverage:.0%} image) with only {n_chars} characters of text"
    return False, f"text layer has {n_chars} characters of real text"
