"""Run the pages of one document, OCRing several at once when asked.

Extractors read pages in order in the calling thread (PyMuPDF and PIL are not
thread-safe) and hand each OCR job — a rendered page image, nothing else — to a
small thread pool (``ExtractConfig.page_workers``). Tesseract is a subprocess,
so threads run pages truly in parallel. At most twice as many jobs as workers
are in flight, so memory stays bounded whatever the page count; pages come back
in order. A page that fails is recorded on ``Page.error`` by :func:`guarded`;
an unusable engine (not installed, language missing) fails the document.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import (
    CorruptDocument,
    DoorstepError,
    LanguagePackMissing,
    OcrEngineUnavailable,
    to_record,
)
from pipelines.model import Page

logger = logging.getLogger(__name__)


@dataclass
class PendingOcr:
    """A page whose OCR is still to run: ``job`` fills ``page`` (no MuPDF/PIL inside)."""

    page: Page
    job: Callable[[], None]


def _mupdf_error() -> type[Exception]:
    """MuPDF's own exception base (not a RuntimeError), when PyMuPDF is loaded."""
    mupdf = sys.modules.get("pymupdf.mupdf")
    base = getattr(mupdf, "FzErrorBase", None)
    return base if isinstance(base, type) and issubclass(base, Exception) else RuntimeError


def guarded(page: Page, path: Path, job: Callable[[], None]) -> None:
    """Run ``job``; record a page failure on ``page.error`` instead of raising."""
    try:
        job()
    except (OcrEngineUnavailable, LanguagePackMissing):
        raise  # the engine itself is unusable: the whole document fails
    except DoorstepError as exc:
        page.error = to_record(exc, page=page.number)
    except (RuntimeError, ValueError, _mupdf_error()) as exc:  # a damaged page
        logger.debug("page %d of %s failed", page.number, path, exc_info=True)
        page.error = to_record(
            CorruptDocument(f"page {page.number} cannot be read: {exc}"), page=page.number
        )


def run_pages(items: Iterable[Page | PendingOcr], path: Path, workers: int) -> list[Page]:
    """Pages in order; pending OCR jobs run on ``workers`` threads (1: in this thread)."""
    pages: list[Page] = []
    if workers <= 1:
        for item in items:
            if isinstance(item, PendingOcr):
                guarded(item.page, path, item.job)
                item = item.page
            pages.append(item)
        return pages
    in_flight: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr-page") as pool:
        try:
            for item in items:
                if isinstance(item, PendingOcr):
                    while len(in_flight) >= 2 * workers:
                        in_flight.popleft().result()
                    in_flight.append(pool.submit(guarded, item.page, path, item.job))
                    item = item.page
                pages.append(item)
            for future in in_flight:
                future.result()
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
    return pages
