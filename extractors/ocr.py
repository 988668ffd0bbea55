"""OCR behind the ``OcrEngine`` seam, and the page-image → blocks step.

``TesseractEngine`` calls Tesseract through pytesseract's ``image_to_data``
and keeps every word with its box and confidence. Tests inject other engines
(for failures) through the same protocol. ``ocr_page`` repairs the image,
recognises it (adaptively, see :mod:`extractors.adaptive`), reads its ruled
tables cell by cell (:mod:`extractors.table_read`) and groups the other words
into blocks in page coordinates, with each word's stroke weight
(:mod:`extractors.glyphs`).
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from extractors.base import Source, make_block
from extractors.glyphs import stroke_ratio
from extractors.handwriting import search_ink
from extractors.marks import OCR_EXTRACTOR, set_aside_marks
from extractors.repair import RepairResult, to_gray
from extractors.table_read import ScannedTable, scan_tables, table_block
from pipelines.config import ExtractConfig
from pipelines.errors import LanguagePackMissing, OcrEngineUnavailable, OcrError
from pipelines.model import BBox, Block, ElementType, ImageMeasurements, Layer, Word
from pipelines.offline import ensure_offline_env

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from extractors.adaptive import Reading

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = OCR_EXTRACTOR


@dataclass(frozen=True)
class OcrWord:
    """One recognised word in image pixel coordinates."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float
    """In [0, 1]."""
    block: int
    paragraph: int
    line: int


class OcrEngine(Protocol):
    """What doorstep needs from an OCR engine."""

    name: str

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        """Words found on a greyscale or RGB page image."""
        ...

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        """(degrees clockwise the page must be rotated to be upright, confidence), or None."""
        ...


@cache
def installed_languages() -> frozenset[str]:
    from extractors.tesseract_module import pytesseract

    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrEngineUnavailable("tesseract is not installed or not on PATH") from exc


def check_languages(languages: str) -> None:
    """Raise :class:`LanguagePackMissing` naming the apt package for a missing language."""
    have = installed_languages()
    for code in languages.split("+"):
        if code not in have:
            package = "tesseract-ocr-" + code.lower().replace("_", "-")
            raise LanguagePackMissing(
                f"Tesseract language {code!r} is not installed",
                hint=f"Install it: apt-get install {package}",
            )


def uncompressed(image: np.ndarray) -> Image.Image:
    """The page as a PIL image that pytesseract hands over as an uncompressed PNM file.

    pytesseract writes its input to a temporary file, as PNG unless told otherwise;
    zlib-compressing a 300 dpi page costs more than a tenth of a second for every
    Tesseract run. PNM (PGM/PPM) is written and read almost for free, and like a PNG
    without a pHYs chunk it carries no resolution, so Tesseract reads the same pixels
    the same way.
    """
    from PIL import Image

    pil = Image.fromarray(image)
    pil.format = "PPM"  # PIL writes P5 (PGM) for greyscale, P6 for RGB
    return pil


class TesseractEngine:
    """Tesseract 4/5 (LSTM) via pytesseract."""

    name = EXTRACTOR_NAME

    def __init__(self, psm: int = 3) -> None:
        self.psm = psm

    def with_psm(self, psm: int) -> TesseractEngine:
        """The same engine with another page segmentation mode."""
        return TesseractEngine(psm)

    def recognize(self, image: np.ndarray, languages: str, timeout_s: float) -> list[OcrWord]:
        from extractors.tesseract_module import pytesseract

        ensure_offline_env()  # OMP_THREAD_LIMIT=1: one thread per tesseract process

        if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
            raise OcrEngineUnavailable("tesseract is not installed or not on PATH")
        check_languages(languages)
        try:
            data = pytesseract.image_to_data(
                uncompressed(image),
                lang=languages,
                config=f"--psm {self.psm}",
                output_type=pytesseract.Output.DICT,
                timeout=timeout_s,
            )
        except pytesseract.TesseractError as exc:
            raise OcrError(f"tesseract failed: {exc.message or exc.status}") from exc
        except RuntimeError as exc:  # pytesseract's timeout
            raise OcrError(f"OCR took longer than {timeout_s:.0f}s and was stopped") from exc
        words: list[OcrWord] = []
        for i, text in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if conf < 0 or not str(text).strip():
                continue
            words.append(
                OcrWord(
                    text=str(text).strip(),
                    left=int(data["left"][i]),
                    top=int(data["top"][i]),
                    width=int(data["width"][i]),
                    height=int(data["height"][i]),
                    confidence=max(0.0, min(1.0, conf / 100.0)),
                    block=int(data["block_num"][i]),
                    paragraph=int(data["par_num"][i]),
                    line=int(data["line_num"][i]),
                )
            )
        return words

    def orientation(self, image: np.ndarray, timeout_s: float) -> tuple[int, float] | None:
        from extractors.tesseract_module import pytesseract

        ensure_offline_env()
        if "osd" not in installed_languages():
            return None
        try:
            osd = pytesseract.image_to_osd(
                uncompressed(image),
                config="--psm 0",
                output_type=pytesseract.Output.DICT,
                timeout=timeout_s,
            )
        except (pytesseract.TesseractError, RuntimeError):
            return None  # too little text to tell: keep the page as it is
        return int(osd["rotate"]) % 360, float(osd["orientation_conf"])


@cache
def default_engine() -> OcrEngine:
    return TesseractEngine()


@dataclass(frozen=True)
class OcrPage:
    blocks: list[Block]
    measurements: ImageMeasurements
    mean_confidence: float


def _word_bbox(w: OcrWord, repair: RepairResult, scale: float) -> BBox:
    return repair.page_box(w.left, w.top, w.left + w.width, w.top + w.height, scale)


def paragraphs(words: list[OcrWord]) -> list[list[OcrWord]]:
    """Words grouped by Tesseract paragraph, in Tesseract's order."""
    groups: dict[tuple[int, int], list[OcrWord]] = {}
    for w in words:
        groups.setdefault((w.block, w.paragraph), []).append(w)
    return list(groups.values())


def words_to_blocks(
    words: list[OcrWord],
    source: Source,
    page: int,
    repair: RepairResult,
    scale: float,
    first_index: int = 0,
    image: np.ndarray | None = None,
) -> list[Block]:
    """Group Tesseract words into blocks (one per Tesseract paragraph), lines kept.

    With ``image`` (the page that was read) each word's stroke width is measured.
    """
    blocks: list[Block] = []
    for group in paragraphs(words):
        lines: dict[int, list[OcrWord]] = {}
        for w in group:
            lines.setdefault(w.line, []).append(w)
        text = "\n".join(" ".join(w.text for w in ws) for _, ws in sorted(lines.items()))
        model_words = [
            Word(
                text=w.text,
                bbox=_word_bbox(w, repair, scale),
                confidence=w.confidence,
                stroke=math.nan
                if image is None
                else stroke_ratio(image, w.left, w.top, w.width, w.height),
            )
            for w in group
        ]
        box = model_words[0].bbox
        for mw in model_words[1:]:
            box = box.union(mw.bbox)
        block = make_block(
            source,
            page,
            first_index + len(blocks),
            text,
            extractor=EXTRACTOR_NAME,
            bbox=box,
            type=ElementType.PARAGRAPH,
        )
        block.confidence = sum(w.confidence for w in group) / len(group)
        block.words = model_words
        blocks.append(block)
    return blocks


def _set_aside_handwriting(blocks: list[Block], reading: Reading, scale: float) -> list[Block]:
    """Blocks whose text lies mostly in handwriting-like ink, moved to the notes layer;
    the page's unread ink share and handwriting regions are recorded on its measurements."""
    repair = reading.repair
    search = search_ink(repair.image, reading.words, repair.text_height)
    found = search.regions
    repair.measurements.handwriting_regions = len(found)
    repair.measurements.unread_ink = search.unread
    if not found:
        return blocks
    boxes = []
    for r in found:
        box = repair.page_box(r.x0, r.y0, r.x1, r.y1, scale)
        boxes.append((box.x0, box.y0, box.x1, box.y1))

    def inside(w: Word) -> bool:
        cx, cy = (w.bbox.x0 + w.bbox.x1) / 2, (w.bbox.y0 + w.bbox.y1) / 2
        return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in boxes)

    out = []
    for b in blocks:
        chars = sum(len(w.text) for w in b.words)
        written = sum(len(w.text) for w in b.words if inside(w))
        out.append(
            b.model_copy(update={"layer": Layer.NOTES}) if chars and written * 2 >= chars else b
        )
    return out


def shift_block(block: Block, dx: float, dy: float) -> Block:
    """``block`` moved by (dx, dy) page units: boxes of the block, its lines and words."""

    def move(b: BBox | None) -> BBox | None:
        return None if b is None else BBox(x0=b.x0 + dx, y0=b.y0 + dy, x1=b.x1 + dx, y1=b.y1 + dy)

    return block.model_copy(
        update={
            "bbox": move(block.bbox),
            "words": [w.model_copy(update={"bbox": move(w.bbox)}) for w in block.words],
            "lines": [ln.model_copy(update={"bbox": move(ln.bbox)}) for ln in block.lines],
        }
    )


def _scan_tables(
    repair: RepairResult, words: list[OcrWord], engine: OcrEngine, cfg: ExtractConfig
) -> list[ScannedTable]:
    """Ruled tables of the page, read cell by cell; none when reading them fails."""
    if not cfg.scan_tables:
        return []
    try:
        return scan_tables(repair, words, engine, cfg.languages, cfg.ocr_timeout_s)
    except (OcrEngineUnavailable, LanguagePackMissing):
        raise
    except OcrError as exc:  # the table stays as ordinary text
        logger.debug("reading the table cells failed: %s", exc)
        return []


def ocr_page(
    image: np.ndarray,
    source: Source,
    page: int,
    cfg: ExtractConfig,
    *,
    scale: float,
    dpi: float,
    engine: OcrEngine | None = None,
    first_index: int = 0,
) -> OcrPage:
    """Repair one page image, OCR it and return blocks in page units.

    Each ruled table becomes one TABLE block, placed before the first paragraph
    below it; its words are left out of the text blocks. ``scale`` converts
    original image pixels to page units (72/dpi for PDF points, 1.0 for images
    measured in pixels).
    """
    from extractors.adaptive import recognize_page

    engine = engine or default_engine()
    reading = recognize_page(image, cfg, engine, dpi=dpi)
    words = reading.words
    tables = _scan_tables(reading.repair, words, engine, cfg)
    text_words = [w for w in words if not any(t.holds(w) for t in tables)]
    gray = to_gray(reading.repair.image)
    blocks = words_to_blocks(
        text_words, source, page, reading.repair, scale, first_index, image=gray
    )
    # Each table goes before the first paragraph below its top on the page that was read
    # (upright, unlike page coordinates of a page scanned sideways).
    tops = [min(w.top for w in group) for group in paragraphs(text_words)]
    n_text = len(blocks)
    for t in sorted(tables, key=lambda t: t.grid.ys[0], reverse=True):
        block = table_block(
            t,
            source,
            page,
            first_index + n_text + tables.index(t),
            reading.repair,
            scale,
            EXTRACTOR_NAME,
        )
        at = next((i for i, top in enumerate(tops) if top >= t.grid.ys[0]), n_text)
        blocks.insert(at, block)
    if cfg.detect_handwriting and words:
        blocks = _set_aside_handwriting(blocks, reading, scale)
    blocks = [set_aside_marks(b) for b in blocks]
    mean = sum(w.confidence for w in words) / len(words) if words else math.nan
    logger.debug("page %d: %d words, mean confidence %.2f", page, len(words), mean)
    return OcrPage(blocks=blocks, measurements=reading.repair.measurements, mean_confidence=mean)
