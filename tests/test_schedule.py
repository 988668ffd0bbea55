"""Batch files are submitted most expected work first (pixels of OCR), not largest file first."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

from pipelines.schedule import TEXT_PAGE_WORK, by_expected_work, expected_work
from tests.imaging import render_text_page, text_pdf


def test_a_small_scan_pdf_ranks_before_a_larger_text_pdf(tmp_path: Path) -> None:
    jpeg = io.BytesIO()
    Image.fromarray(render_text_page(dpi=100)).save(jpeg, "JPEG", quality=30)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_image(page.rect, stream=jpeg.getvalue())
    scan = tmp_path / "scan.pdf"
    doc.save(str(scan))
    text = tmp_path / "text.pdf"
    text_pdf(str(text), pages=200)
    assert scan.stat().st_size < text.stat().st_size
    assert expected_work(text) == pytest.approx(TEXT_PAGE_WORK * 200)
    assert expected_work(scan, dpi=300) > 5  # a letter page at 300 dpi: ~8.4 megapixels
    assert by_expected_work([text, scan]) == [1, 0]


def test_images_count_their_pixels_and_frames(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.fromarray(np.full((100, 200), 255, np.uint8)).save(small)
    frames = tmp_path / "two.tif"
    page = Image.fromarray(np.full((1000, 500), 255, np.uint8))
    page.save(frames, save_all=True, append_images=[page])
    assert expected_work(small) == pytest.approx(100 * 200 / 1e6)
    assert expected_work(frames) == pytest.approx(2 * 1000 * 500 / 1e6)


def test_unreadable_or_other_files_fall_back_to_their_size(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really" + b"x" * 2_000_000)
    note = tmp_path / "note.txt"
    note.write_text("a note")
    missing = tmp_path / "gone.png"
    assert expected_work(broken) > expected_work(note) > 0
    assert expected_work(missing) == 0.0
    # equal work keeps the given order after size: larger file first
    same_a, same_b = tmp_path / "a.txt", tmp_path / "b.txt"
    same_a.write_text("x")
    same_b.write_text("x")
    assert by_expected_work([same_a, same_b, broken]) == [2, 0, 1]
