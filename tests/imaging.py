"""Render known text to a page image with PyMuPDF (exact ground truth, no files)."""

from __future__ import annotations

import numpy as np
import pymupdf

LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "Sphinx of black quartz, judge my vow.",
    "How vexingly quick daft zebras jump!",
    "The five boxing wizards jump quickly.",
]


def render_text_page(lines: list[str] = LINES, dpi: int = 200, fontsize: float = 12) -> np.ndarray:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = 90.0
    for line in lines:
        page.insert_text((72, y), line, fontname="helv", fontsize=fontsize)
        y += fontsize * 1.8
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()


def page_lines(page_index: int, lines: list[str] = LINES) -> list[str]:
    """The lines of page ``page_index`` of :func:`text_pdf` (rotated so pages differ)."""
    k = page_index % len(lines)
    return lines[k:] + lines[:k]


def text_pdf(path: str, lines: list[str] = LINES, pages: int = 1) -> None:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=612, height=792)
        y = 120.0
        for line in page_lines(i, lines):
            page.insert_text((72, y), line, fontname="helv", fontsize=12)
            y += 21.6
    doc.save(path)


def image_pdf(path: str, image: np.ndarray, dpi: int = 200) -> None:
    """An image-only PDF page showing ``image`` at ``dpi``."""
    h, w = image.shape[:2]
    pix = pymupdf.Pixmap(pymupdf.csGRAY, w, h, image.tobytes(), False)
    doc = pymupdf.open()
    page = doc.new_page(width=w * 72 / dpi, height=h * 72 / dpi)
    page.insert_image(page.rect, pixmap=pix)
    doc.save(path)
