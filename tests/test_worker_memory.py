"""Worker memory: page-image steps stay uint8 and make no float copy of the whole page.

Allocations are counted with tracemalloc, which sees every NumPy (and OpenCV
output) array: the counts are exact for a given input, so these tests do not
depend on timing or on the machine. Striped computations must give the very
pixels of the whole-page formula they replace.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from extractors import repair
from extractors.handwriting import find_handwriting
from extractors.measure import background
from extractors.repair import binarize, normalize_background, row_stripes
from tests.imaging import LINES, render_text_page

PAGE = render_text_page(LINES * 4, dpi=200)
SHADED = (PAGE * np.linspace(0.5, 0.9, PAGE.shape[1], dtype=np.float32)[None, :]).astype(np.uint8)


@pytest.fixture
def small_stripes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stripes of a few dozen rows, so a page is many of them."""
    monkeypatch.setattr(repair, "STRIPE_PIXELS", 50_000)


def _peak_bytes(step: Callable[[], object]) -> int:
    """Peak of memory allocated while ``step`` runs, above what was allocated before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _whole_page_sauvola(gray: np.ndarray, window: int, k: float = 0.2) -> np.ndarray:
    g = gray.astype(np.float32)
    win = (window | 1, window | 1)
    mean = cv2.boxFilter(g, -1, win)
    sq = cv2.boxFilter(g * g, -1, win)
    std = np.sqrt(np.maximum(sq - mean * mean, 0))
    threshold = mean * (1.0 + k * (std / 128.0 - 1.0))
    return np.where(g > threshold, 255, 0).astype(np.uint8)


def _whole_page_normalize(gray: np.ndarray, text_height: float) -> np.ndarray:
    bg = background(gray, text_height).astype(np.float32)
    flat = cv2.divide(gray.astype(np.float32), np.maximum(bg, 1.0), scale=255.0)
    lo = float(np.percentile(flat[::3, ::3], 0.5))
    return np.clip((flat - lo) * (255.0 / (255.0 - lo)), 0, 255).astype(np.uint8)


def test_row_stripes_cover_the_page_in_whole_multiples() -> None:
    stripes = list(row_stripes(1000, 5000, 3))
    assert stripes[0][0] == 0 and stripes[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(stripes))
    assert all((y1 - y0) % 3 == 0 for y0, y1 in stripes[:-1])
    assert len(stripes) > 1


@pytest.mark.usefixtures("small_stripes")
@pytest.mark.parametrize("window", [15, 31, 61])
def test_striped_binarize_gives_the_whole_page_pixels(window: int) -> None:
    noisy = np.random.default_rng(5).normal(0, 12, SHADED.shape)
    page = np.clip(SHADED + noisy, 0, 255).astype(np.uint8)
    assert np.array_equal(binarize(page, window), _whole_page_sauvola(page, window))


@pytest.mark.usefixtures("small_stripes")
def test_striped_normalize_background_gives_the_whole_page_pixels() -> None:
    assert np.array_equal(normalize_background(SHADED, 20), _whole_page_normalize(SHADED, 20))


@pytest.mark.usefixtures("small_stripes")
def test_binarize_and_normalize_keep_uint8_without_a_float_page() -> None:
    float_page = 4 * SHADED.nbytes  # one float32 copy of the page
    out: dict[str, np.ndarray] = {}
    peak_bin = _peak_bytes(lambda: out.setdefault("bin", binarize(SHADED, 31)))
    peak_norm = _peak_bytes(lambda: out.setdefault("norm", normalize_background(SHADED, 20)))
    assert out["bin"].dtype == np.uint8 and out["norm"].dtype == np.uint8
    assert peak_bin < float_page / 2
    assert peak_norm < float_page * 3 / 4


def test_handwriting_holds_one_label_image_at_a_time() -> None:
    """Connected-component labels are int32 (4 bytes a pixel): each is freed once used."""
    peak = _peak_bytes(lambda: find_handwriting(PAGE, [], 20.0))
    assert peak < 8 * PAGE.nbytes


def test_pytesseract_is_imported_without_pandas() -> None:
    code = (
        "import sys\n"
        "from extractors.tesseract_module import pytesseract\n"
        "assert pytesseract.image_to_data, 'pytesseract is usable'\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "import pandas\n"  # and stays importable for whoever needs it
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


_TEXT_PDF_WORKER = """
import sys
from pathlib import Path
import pymupdf
from pipelines.isolation import single_threaded
single_threaded()
from pipelines.config import PipelineConfig
from pipelines.convert import convert
path = Path(sys.argv[1])
pdf = pymupdf.open()
page = pdf.new_page()
for i in range(20):
    page.insert_text((72, 72 + 18 * i), f"Line {i} of a report printed from its text layer.")
pdf.save(path)
doc = convert(path, PipelineConfig())
assert [str(p.method) for p in doc.pages] == ["text_layer"], doc.pages
assert "numpy" not in sys.modules and "cv2" not in sys.modules, "imported for a text page"
import cv2
assert cv2.getNumThreads() == 1, cv2.getNumThreads()
"""


def test_a_text_layer_worker_imports_no_numpy_and_opencv_is_single_threaded(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [sys.executable, "-c", _TEXT_PDF_WORKER, str(tmp_path / "text.pdf")],
        check=True,
        timeout=120,
    )


_FORKING_PARENT = """
import os, sys, time
block = bytearray(80 * 2**20)  # 80 MB of the parent's own, touched
for i in range(0, len(block), 4096):
    block[i] = 1
if os.fork() == 0:  # a child that never execs: it shares the parent's pages
    time.sleep(60)
    os._exit(0)
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_child_not_yet_execd_is_not_counted_twice() -> None:
    """Tesseract's start (fork/vfork, then exec) must not double the worker's measured RSS."""
    import psutil

    from pipelines.isolation import _tree_rss_mb

    parent = subprocess.Popen(
        [sys.executable, "-c", _FORKING_PARENT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        proc = psutil.Process(parent.pid)
        (child,) = proc.children()
        own = proc.memory_info().rss / 2**20
        assert child.memory_info().rss / 2**20 > 60  # the shared pages show in the child too
        assert own > 80
        assert _tree_rss_mb(parent.pid) < own + 20
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
