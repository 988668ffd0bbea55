"""Scanned images (PNG, JPEG, TIFF including multi-page, BMP, GIF, WebP) → OCR pages.

Each frame of the image is one page, measured in pixels. The pixel count is
checked before any pixel is decoded, so decompression bombs are refused.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from extractors.base import Source
from extractors.ocr import OcrEngine, ocr_page
from extractors.pages import PendingOcr, run_pages
from pipelines.config import ExtractConfig, OcrMode
from pipelines.errors import (
    CorruptDocument,
    ImageTooLarge,
)
from pipelines.model import ExtractionMethod, Page

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image as PILImage

logger = logging.getLogger(__name__)

DEFAULT_DPI = 300.0


def _dpi_of(frame: PILImage.Image) -> float:
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else math.nan
    except (TypeError, ValueError, IndexError):
        value = math.nan
    return value if 20 <= value <= 2400 else math.nan


def iter_frames(source: Source, cfg: ExtractConfig) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (pixels, dpi) for each frame; dpi NaN when the file does not say."""
    import numpy as np
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(source.path) as im:
            for frame in ImageSequence.Iterator(im):
                w, h = frame.size
                if w * h > cfg.max_image_pixels:
                    raise ImageTooLarge(
                        f"image is {w}x{h} = {w * h:,} pixels, over the limit of "
                        f"{cfg.max_image_pixels:,}"
                    )
                dpi = _dpi_of(frame)
                if frame.mode not in ("L", "RGB", "RGBA", "1"):
                    frame = frame.convert("RGB")
                elif frame.mode == "1":
                    frame = frame.convert("L")
                yield np.asarray(frame), dpi
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            f"image {source.path.name} is too large to decode safely: {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocument(f"cannot decode image {source.path.name}: {exc}") from exc


class ImageExtractor:
    name = "image"

    def __init__(self, engine: OcrEngine | None = None) -> None:
        self.engine = engine

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        items = (
            self._page(number, pixels, dpi, source, cfg)
            for number, (pixels, dpi) in enumerate(iter_frames(source, cfg), start=1)
        )
        pages = run_pages(items, source.path, cfg.page_workers)
        if not pages:
            raise CorruptDocument(f"image {source.path.name} has no frames")
        return pages

    def _page(
        self, number: int, pixels: np.ndarray, dpi: float, source: Source, cfg: ExtractConfig
    ) -> Page | PendingOcr:
        """One frame as a page; its OCR is left pending for :func:`run_pages`."""
        h, w = pixels.shape[:2]
        page = Page(number=number, width=float(w), height=float(h), unit="px")
        if cfg.ocr is OcrMode.NEVER:
            page.method_reason = "image page and OCR disabled (--ocr never)"
            return page

        def job() -> None:
            result = ocr_page(
                pixels,
                source,
                number,
                cfg,
                scale=1.0,
                dpi=dpi if not math.isnan(dpi) else DEFAULT_DPI,
                engine=self.engine,
            )
            page.blocks = result.blocks
            page.image = result.measurements
            page.image.dpi = dpi
            page.method = ExtractionMethod.OCR
            page.method_reason = "image page"

        return PendingOcr(page, job)
