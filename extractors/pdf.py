"""PDF pages: the text layer via PyMuPDF where it is real text, OCR elsewhere.

Per page the extractor decides between the text layer and OCR and records the
decision and its reason on the page (``Page.method``, ``Page.method_reason``).
Pages are read one at a time, so memory does not grow with page count. A page
that fails is recorded on ``Page.error``; the document goes on.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from extractors.base import Source, make_block
from extractors.ocr import OcrEngine, ocr_page
from pipelines.config import ExtractConfig, OcrMode
from pipelines.errors import (
    CorruptDocument,
    DoorstepError,
    EncryptedDocument,
    LanguagePackMissing,
    OcrEngineUnavailable,
    to_record,
)
from pipelines.model import BBox, Block, ElementType, ExtractionMethod, Page
from pipelines.textmetrics import alnum_count, garbage_ratio, word_validity

if TYPE_CHECKING:
    import pymupdf

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "pymupdf"
_BOLD_FLAG = 16


@dataclass(frozen=True)
class TextLayerBlock:
    text: str
    bbox: tuple[float, float, float, float]
    size: float
    """Largest font size in the block."""
    bold: bool


@dataclass(frozen=True)
class Triage:
    use_ocr: bool
    reason: str


def read_text_layer(page: pymupdf.Page) -> list[TextLayerBlock]:
    """Text blocks of a page's text layer with their dominant font size."""
    data: dict[str, Any] = page.get_text("dict", sort=True)
    out: list[TextLayerBlock] = []
    for blk in data.get("blocks", []):
        if blk.get("type") != 0:
            continue
        lines: list[str] = []
        sizes: list[float] = []
        bold_chars = 0
        chars = 0
        for line in blk.get("lines", []):
            spans = line.get("spans", [])
            text = "".join(s.get("text", "") for s in spans)
            if text.strip():
                lines.append(text.strip())
            for s in spans:
                n = len(s.get("text", "").strip())
                if n:
                    sizes.append(float(s.get("size", 0.0)))
                    chars += n
                    if int(s.get("flags", 0)) & _BOLD_FLAG or "bold" in s.get("font", "").lower():
                        bold_chars += n
        if not lines:
            continue
        x0, y0, x1, y1 = blk["bbox"]
        out.append(
            TextLayerBlock(
                text="\n".join(lines),
                bbox=(float(x0), float(y0), float(x1), float(y1)),
                size=max(sizes) if sizes else 0.0,
                bold=chars > 0 and bold_chars / chars > 0.6,
            )
        )
    return out


def triage(page: pymupdf.Page, layer: list[TextLayerBlock], cfg: ExtractConfig) -> Triage:
    """Decide whether a page's text layer can be used or the page must be OCRed."""
    if cfg.ocr is OcrMode.FORCE:
        return Triage(True, "OCR forced (--ocr force)")
    text = "\n".join(b.text for b in layer)
    n_chars = alnum_count(text)
    has_images = bool(page.get_images(full=False))
    if cfg.ocr is OcrMode.NEVER:
        return Triage(False, "OCR disabled (--ocr never)")
    if n_chars < cfg.min_text_chars:
        if has_images or n_chars:
            return Triage(True, f"text layer has only {n_chars} characters")
        if page.get_drawings():
            return Triage(True, "no text layer; page has vector drawings")
        return Triage(False, "blank page")
    garbage = garbage_ratio(text)
    if garbage > 0.05:
        return Triage(True, f"text layer is garbled ({garbage:.0%} replacement characters)")
    validity = word_validity(text)
    if validity == validity and validity < cfg.min_text_validity and "eng" in cfg.languages:
        return Triage(True, f"text layer looks like nonsense ({validity:.0%} real words)")
    return Triage(False, f"text layer has {n_chars} characters of real text")


def _classify(blocks: list[TextLayerBlock]) -> list[tuple[ElementType, int | None]]:
    """Headings from font size relative to the page's body size."""
    sized = [b.size for b in blocks for _ in range(max(1, len(b.text) // 20))]
    body = statistics.median(sized) if sized else 0.0
    out: list[tuple[ElementType, int | None]] = []
    for b in blocks:
        short = len(b.text) < 120 and b.text.count("\n") <= 1
        if body and b.size >= body * 1.6 and short:
            out.append((ElementType.HEADING, 1))
        elif body and b.size >= body * 1.15 and short:
            out.append((ElementType.HEADING, 2))
        elif b.bold and short and not b.text.rstrip().endswith((".", ",", ";")):
            out.append((ElementType.HEADING, 3))
        else:
            out.append((ElementType.PARAGRAPH, None))
    return out


def text_layer_blocks(source: Source, number: int, layer: list[TextLayerBlock]) -> list[Block]:
    kinds = _classify(layer)
    blocks: list[Block] = []
    for i, (b, (kind, level)) in enumerate(zip(layer, kinds, strict=True)):
        x0, y0, x1, y1 = b.bbox
        blocks.append(
            make_block(
                source,
                number,
                i,
                b.text,
                extractor=EXTRACTOR_NAME,
                bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1),
                type=kind,
                level=level,
            )
        )
    return blocks


def open_pdf(source: Source, cfg: ExtractConfig) -> pymupdf.Document:
    import pymupdf

    try:
        doc = pymupdf.open(source.path, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        raise CorruptDocument(f"cannot open PDF {source.path.name}: {exc}") from exc
    if doc.needs_pass:
        if not cfg.password:
            doc.close()
            raise EncryptedDocument(f"{source.path.name} is encrypted and needs a password")
        if not doc.authenticate(cfg.password):
            doc.close()
            raise EncryptedDocument(
                f"the password given does not open {source.path.name}",
                hint="Check the password passed with --password.",
            )
    return doc


class PdfExtractor:
    name = "pdf"

    def __init__(self, engine: OcrEngine | None = None) -> None:
        self.engine = engine

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        doc = open_pdf(source, cfg)
        try:
            if doc.page_count == 0:
                raise CorruptDocument(f"{source.path.name} has no pages")
            return [self._page(doc, i, source, cfg) for i in range(doc.page_count)]
        finally:
            doc.close()

    def _page(self, doc: pymupdf.Document, index: int, source: Source, cfg: ExtractConfig) -> Page:
        number = index + 1
        page_out = Page(number=number)
        try:
            page = doc.load_page(index)
            rect = page.rect
            page_out.width, page_out.height = float(rect.width), float(rect.height)
            layer = read_text_layer(page)
            decision = triage(page, layer, cfg)
            page_out.method_reason = decision.reason
            if decision.use_ocr:
                self._ocr(page, page_out, source, cfg)
            elif layer:
                page_out.blocks = text_layer_blocks(source, number, layer)
                page_out.method = ExtractionMethod.TEXT_LAYER
        except (OcrEngineUnavailable, LanguagePackMissing):
            raise
        except DoorstepError as exc:
            page_out.error = to_record(exc, page=number)
        except (RuntimeError, ValueError) as exc:  # MuPDF errors on a damaged page
            logger.debug("page %d of %s failed", number, source.path, exc_info=True)
            page_out.error = to_record(
                CorruptDocument(f"page {number} cannot be read: {exc}"), page=number
            )
        return page_out

    def _ocr(self, page: pymupdf.Page, out: Page, source: Source, cfg: ExtractConfig) -> None:
        import numpy as np
        import pymupdf

        dpi = cfg.dpi
        # Never render more than ~100 megapixels, whatever the page size.
        area_in2 = max(1.0, (out.width / 72.0) * (out.height / 72.0))
        dpi = int(min(dpi, (100e6 / area_in2) ** 0.5))
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
        pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
        result = ocr_page(
            pixels, source, out.number, cfg, scale=72.0 / dpi, dpi=float(dpi), engine=self.engine
        )
        out.blocks = result.blocks
        out.image = result.measurements
        out.method = ExtractionMethod.OCR
