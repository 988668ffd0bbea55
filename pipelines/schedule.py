"""The order a batch submits its files in: most expected work first (no Prefect here).

With a few workers, the run ends when the last file does; submitting the
longest conversions first keeps one long file from starting last and running
alone (longest-processing-time-first scheduling). File size is a poor guess
of that: a one-page scan stored as a JPEG-compressed PDF of 100 KB takes
seconds of OCR, a 1 MB born-digital PDF milliseconds. OCR time grows with the
pixels read, so the estimate is in megapixels of OCR:

* an image file: its pixels (width x height x frames, read from its header);
* a PDF: each page with an image counts the pixels it renders to at the OCR
  dpi; a page without one (a text layer) counts :data:`TEXT_PAGE_WORK`;
* anything else, or a file that cannot be opened: its size in megabytes times
  :data:`BYTES_WORK` (converting it reads no pixels).

Reading a header or a PDF's page tree costs well under a millisecond a page.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

TEXT_PAGE_WORK = 0.02
"""Megapixel-equivalents of a PDF page read from its text layer (tens of milliseconds
against about a second per megapixel of OCR)."""
MAX_PAGE_WORK = 100.0
"""A page is never rendered larger than about 100 megapixels (see extractors.pdf)."""
BYTES_WORK = 0.05
"""Megapixel-equivalents per megabyte of a file that is not OCRed."""
_IMAGE_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


def _image_work(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as img:  # lazy: the header only
        width, height = img.size
        frames = int(getattr(img, "n_frames", 1))
    return width * height * frames / 1e6


def _pdf_work(path: Path, dpi: int) -> float:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)  # repair messages would go to stdout
    pymupdf.TOOLS.mupdf_display_warnings(False)
    with pymupdf.open(path, filetype="pdf") as doc:
        if doc.needs_pass:
            return TEXT_PAGE_WORK * doc.page_count
        work = 0.0
        for i in range(doc.page_count):
            if doc.get_page_images(i, full=False):
                rect = doc.load_page(i).rect
                pixels = (rect.width / 72.0 * dpi) * (rect.height / 72.0 * dpi) / 1e6
                work += min(pixels, MAX_PAGE_WORK)
            else:
                work += TEXT_PAGE_WORK
    return work


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def expected_work(path: Path, dpi: int = 300) -> float:
    """Expected conversion work of ``path`` in megapixels of OCR (see module doc)."""
    size = _size(path)
    if size is None:
        return 0.0
    suffix = path.suffix.lower()
    try:
        if suffix in _IMAGE_SUFFIXES:
            return _image_work(path)
        if suffix == ".pdf":
            return _pdf_work(path, dpi)
    except Exception as exc:  # damaged or misnamed: its conversion will say why
        logger.debug("cannot estimate the work of %s: %s", path, exc)
    return size / 1e6 * BYTES_WORK


def by_expected_work(paths: list[Path], dpi: int = 300) -> list[int]:
    """Indices of ``paths``, most expected work first (ties: larger file first, then
    the given order)."""
    keys = [(expected_work(p, dpi), _size(p) or 0) for p in paths]
    return sorted(range(len(paths)), key=lambda i: keys[i], reverse=True)
