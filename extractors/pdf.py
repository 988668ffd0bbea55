"""PDF pages: the text layer via PyMuPDF where it is real text, OCR elsewhere.

Per page the extractor decides between the text layer and OCR and records the
decision and its reason on the page (``Page.method``, ``Page.method_reason``).
Pages are read one at a time, so memory does not grow with page count. A page
that fails is recorded on ``Page.error``; the document goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from extractors.base import Source
from extractors.pages import PendingOcr, guarded, run_pages
from extractors.pdf_text import (
    EXTRACTOR_NAME as EXTRACTOR_NAME,  # re-exported: callers name the extractor by it
)
from extractors.pdf_text import (
    Box,
    TextLayerBlock,
    find_tables,
    read_text_and_images,
    text_layer_blocks,
    with_tables,
)
from extractors.pdf_triage import decide, picture_regions
from pipelines.config import ExtractConfig, OcrMode
from pipelines.errors import (
    CorruptDocument,
    EncryptedDocument,
)
from pipelines.model import Block, ExtractionMethod, Page

if TYPE_CHECKING:
    import numpy as np
    import pymupdf

    from extractors.ocr import OcrEngine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Triage:
    use_ocr: bool
    reason: str


def triage(
    page: pymupdf.Page,
    layer: list[TextLayerBlock],
    cfg: ExtractConfig,
    images: list[Box] | None = None,
) -> Triage:
    """Decide whether a page's text layer can be used or the page must be OCRed.

    See :mod:`extractors.pdf_triage` for the rules.
    """
    use_ocr, reason = decide(page, layer, cfg, images)
    return Triage(use_ocr, reason)


def open_pdf(source: Source, cfg: ExtractConfig) -> pymupdf.Document:
    import pymupdf

    # MuPDF prints repair messages on stdout, which would corrupt `convert` output:
    # keep them in its warning store (logged at debug level) instead.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        doc = pymupdf.open(source.path, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase) as exc:
        raise CorruptDocument(f"cannot open PDF {source.path.name}: {exc}") from exc
    if doc.needs_pass:
        candidates = [p for p in (cfg.password, *cfg.passwords) if p]
        if not candidates:
            doc.close()
            raise EncryptedDocument(f"{source.path.name} is encrypted and needs a password")
        if not any(doc.authenticate(p) for p in candidates):
            doc.close()
            raise EncryptedDocument(
                f"none of the {len(candidates)} password(s) given opens {source.path.name}",
                hint="Check --password / the --passwords-file entries for this file.",
            )
    return doc


def _empty_store() -> None:
    """Drop MuPDF's cache of decoded resources after a page was rendered.

    MuPDF keeps decoded images (a scanned page: tens of MB each) in its store,
    up to 256 MB, in case they are drawn again; a rendered page never is, so
    without this the worker's memory grows by each page image until the store
    is full.
    """
    import pymupdf

    pymupdf.TOOLS.store_shrink(100)


class PdfExtractor:
    name = "pdf"

    def __init__(self, engine: OcrEngine | None = None) -> None:
        self.engine = engine

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        import pymupdf

        doc = open_pdf(source, cfg)
        try:
            try:
                count = doc.page_count
            except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase) as exc:
                raise CorruptDocument(f"{source.path.name}: damaged page tree ({exc})") from exc
            if count == 0:
                raise CorruptDocument(f"{source.path.name} has no pages")
            items = (self._page(doc, i, source, cfg) for i in range(count))
            return run_pages(items, source.path, cfg.page_workers)
        finally:
            doc.close()

    def _page(
        self, doc: pymupdf.Document, index: int, source: Source, cfg: ExtractConfig
    ) -> Page | PendingOcr:
        """Read one page; an OCR page comes back rendered, its OCR still to run."""
        number = index + 1
        page_out = Page(number=number)
        pending: list[PendingOcr] = []

        def read() -> None:
            page = doc.load_page(index)
            rect = page.rect
            page_out.width, page_out.height = float(rect.width), float(rect.height)
            text = read_text_and_images(page)
            layer, images = text.layer, text.images
            decision = triage(page, layer, cfg, images)
            page_out.method_reason = decision.reason
            if decision.use_ocr:
                pixels, dpi = self._render(page, page_out, cfg)
                pending.append(
                    PendingOcr(page_out, lambda: self._ocr(pixels, dpi, page_out, source, cfg))
                )
            elif layer:
                tables = find_tables(page, text.vectors)
                page_out.blocks = text_layer_blocks(source, number, with_tables(layer, tables))
                page_out.method = ExtractionMethod.TEXT_LAYER
                pictures = (
                    picture_regions(page, layer, images) if cfg.ocr is not OcrMode.NEVER else []
                )
                if pictures:
                    page_out.method_reason += f"; OCR of {len(pictures)} picture(s) without text"
                    clips = [(box, *self._render(page, page_out, cfg, box)) for box in pictures]
                    pending.append(
                        PendingOcr(
                            page_out, lambda: self._ocr_pictures(clips, page_out, source, cfg)
                        )
                    )

        guarded(page_out, source.path, read)
        if pending:
            _empty_store()
        return pending[0] if pending and page_out.error is None else page_out

    def _render(
        self, page: pymupdf.Page, out: Page, cfg: ExtractConfig, clip: Box | None = None
    ) -> tuple[np.ndarray, int]:
        """The page (or the ``clip`` box of it) as a greyscale image for OCR, and its dpi."""
        import numpy as np
        import pymupdf

        dpi = cfg.dpi
        # Never render more than ~100 megapixels, whatever the page size.
        area_in2 = max(1.0, (out.width / 72.0) * (out.height / 72.0))
        dpi = int(min(dpi, (100e6 / area_in2) ** 0.5))
        pix = page.get_pixmap(
            dpi=dpi,
            colorspace=pymupdf.csGRAY,
            alpha=False,
            clip=pymupdf.Rect(clip) if clip is not None else None,
        )
        samples = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
        return np.ascontiguousarray(samples[:, : pix.width]), dpi

    def _ocr(
        self, pixels: np.ndarray, dpi: int, out: Page, source: Source, cfg: ExtractConfig
    ) -> None:
        from extractors.ocr import ocr_page  # numpy and OpenCV: not on a text page's path

        result = ocr_page(
            pixels, source, out.number, cfg, scale=72.0 / dpi, dpi=float(dpi), engine=self.engine
        )
        out.blocks = result.blocks
        out.image = result.measurements
        out.method = ExtractionMethod.OCR

    def _ocr_pictures(
        self,
        clips: list[tuple[Box, np.ndarray, int]],
        out: Page,
        source: Source,
        cfg: ExtractConfig,
    ) -> None:
        """OCR each picture of a text page; its blocks join the text layer's (mode both)."""
        from extractors.ocr import ocr_page, shift_block

        added: list[Block] = []
        for (x0, y0, _, _), pixels, dpi in clips:
            result = ocr_page(
                pixels,
                source,
                out.number,
                cfg,
                scale=72.0 / dpi,
                dpi=float(dpi),
                engine=self.engine,
                first_index=len(out.blocks) + len(added),
            )
            added.extend(shift_block(b, x0, y0) for b in result.blocks)
            if out.image is None or result.measurements.width_px > out.image.width_px:
                out.image = result.measurements  # the largest picture's measurements
        if added:
            out.blocks = [*out.blocks, *added]
            out.method = ExtractionMethod.MIXED
