"""The one typed, versioned data model: Document → Page → Block → Chunk.

This module owns every structure that flows between extractors, stages and
writers. It imports nothing else from the project. Scores that were not
measured are NaN in memory and ``null`` in JSON; ids are derived from content
so that the same input and config produce byte-identical output.
"""

from __future__ import annotations

import hashlib
import math
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA_VERSION = "1.3"


def _none_to_nan(value: object) -> object:
    return math.nan if value is None else value


Score = Annotated[float, BeforeValidator(_none_to_nan)]
"""A float where NaN means "not measured"; serialised as ``null`` in JSON (by the
models' ``ser_json_inf_nan``, in pydantic's own serialiser: a Python serialiser
called for every score cost a third of writing a born-digital document's JSON).
``model_dump(mode="json")`` keeps NaN: use ``json.loads(model_dump_json())``."""


def stable_id(*parts: object, length: int = 16) -> str:
    """A short deterministic id from the given parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8"))
    return digest.hexdigest()[:length]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, ser_json_inf_nan="null")


class Layer(StrEnum):
    """Which content layer a block belongs to (as Docling's ``ContentLayer``)."""

    BODY = "body"
    FURNITURE = "furniture"
    NOTES = "notes"
    """Suspected handwriting: OCR of it is unreliable, so it stays out of chunk text."""


class ElementType(StrEnum):
    TITLE = "title"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    CAPTION = "caption"
    PAGE_NUMBER = "page_number"
    HEADER = "header"
    FOOTER = "footer"
    TEXT = "text"


class ExtractionMethod(StrEnum):
    """How a page's text was obtained."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    MIXED = "mixed"
    """The text layer, plus OCR of pictures on the page that carry no text layer."""
    NATIVE = "native"
    """Parsed from a structured format (DOCX, HTML, text, e-mail)."""
    NONE = "none"
    """Nothing could be extracted (blank page or failure)."""


class Status(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    """Converted, but some pages failed (each page records its error)."""
    FAILED = "failed"
    """Not converted; the error records say why and what to do."""
    SKIPPED = "skipped"
    """Not a kind of file doorstep reads (``UNSUPPORTED``); recorded, never lost."""


class Grade(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"


class ReasonCode(StrEnum):
    """Why a score is what it is; documented in the README."""

    LOW_OCR_CONFIDENCE = "LOW_OCR_CONFIDENCE"
    FEW_REAL_WORDS = "FEW_REAL_WORDS"
    GARBAGE_CHARACTERS = "GARBAGE_CHARACTERS"
    GARBLED_TEXT_LAYER = "GARBLED_TEXT_LAYER"
    NO_TEXT = "NO_TEXT"
    PAGE_FAILED = "PAGE_FAILED"
    LOW_RESOLUTION = "LOW_RESOLUTION"
    SKEWED = "SKEWED"
    ROTATED = "ROTATED"
    LOW_CONTRAST = "LOW_CONTRAST"
    HEAVY_NOISE = "HEAVY_NOISE"
    HANDWRITING_SUSPECTED = "HANDWRITING_SUSPECTED"
    UNREAD_INK = "UNREAD_INK"
    TABLE_UNCERTAIN = "TABLE_UNCERTAIN"
    HUMAN_CORRECTED = "HUMAN_CORRECTED"
    HUMAN_APPROVED = "HUMAN_APPROVED"
    HUMAN_REJECTED = "HUMAN_REJECTED"


class ReviewStatus(StrEnum):
    """A person's verdict on a page or chunk (``doorstep review``)."""

    CORRECTED = "corrected"
    """The text was edited by hand; the edited text replaces the extracted text."""
    APPROVED = "approved"
    """The extracted text was checked and is right."""
    REJECTED = "rejected"
    """The text is unusable; the chunk goes to review.jsonl."""


class CorrectionState(StrEnum):
    """Whether stored human corrections were applied to a document."""

    NONE = "none"
    APPLIED = "applied"
    STALE = "stale"
    """Corrections exist for an older version of the source file; not applied."""


class Review(_Model):
    """What a person decided about a page or chunk; see :mod:`pipelines.corrections`."""

    status: ReviewStatus


class BBox(_Model):
    """Axis-aligned box in page coordinates (see ``Page.unit``), origin top-left."""

    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: BBox) -> BBox:
        return BBox(
            x0=min(self.x0, other.x0),
            y0=min(self.y0, other.y0),
            x1=max(self.x1, other.x1),
            y1=max(self.y1, other.y1),
        )

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0


class Word(_Model):
    text: str
    bbox: BBox
    confidence: Score = Field(description="OCR confidence in [0, 1]; NaN when not OCR.")
    stroke: Score = Field(
        default=math.nan,
        description="Stroke width of the word's glyphs as a share of its box height "
        "(measured on OCR page images; bold type is heavier); NaN when not measured.",
    )


class ErrorRecord(_Model):
    """One problem met while converting a document, recorded instead of raised."""

    code: str = Field(description="Stable error code, e.g. ENCRYPTED or OCR_FAILED.")
    error_type: str = Field(description="Name of the doorstep error class.")
    message: str
    hint: str = Field(default="", description="What the user can do about it.")
    page: int | None = Field(default=None, description="1-based page, when page-specific.")


class QualityScores(_Model):
    """Per page / per chunk quality, with named components (NaN = not measured)."""

    score: Score = math.nan
    grade: Grade = Grade.UNKNOWN
    reasons: list[ReasonCode] = Field(default_factory=list)
    ocr_confidence: Score = Field(default=math.nan, description="Mean OCR word confidence.")
    ocr_confidence_p10: Score = Field(default=math.nan, description="10th pct OCR confidence.")
    word_validity: Score = Field(default=math.nan, description="Share of real-looking words.")
    garbage_ratio: Score = Field(default=math.nan, description="Share of garbage characters.")


STRONG_NOISE = 12.0
"""Pixel noise (grey-level standard deviation) from which a page needs strong
denoising; the quality stage reports such a page as HEAVY_NOISE."""
MANY_SPECKS = 3.0
"""Specks per glyph from which tiny components are painted out; the quality stage
reports such a page as HEAVY_NOISE."""


class ImageMeasurements(_Model):
    """What was measured on a page image before OCR."""

    width_px: int
    height_px: int
    dpi: Score = math.nan
    rotation_applied: int = Field(default=0, description="Degrees clockwise, 0/90/180/270.")
    skew_degrees: Score = math.nan
    contrast: Score = math.nan
    text_height_px: Score = math.nan
    noise: Score = Field(
        default=math.nan, description="Pixel noise, standard deviation in grey levels."
    )
    blur: Score = Field(
        default=math.nan, description="Variance of the Laplacian (sharpness; small = blurred)."
    )
    background_unevenness: Score = Field(
        default=math.nan, description="Spread of the paper brightness relative to its median."
    )
    specks_per_glyph: Score = Field(
        default=math.nan, description="Tiny dark components (dust, pepper) per glyph."
    )
    border_fraction: Score = Field(
        default=math.nan, description="Share of the image outside the paper (dark borders)."
    )
    repair_steps: list[str] = Field(
        default_factory=list,
        description="Repairs applied before OCR, in order, e.g. crop, deskew, rescale2.00.",
    )
    ocr_path: str = Field(
        default="", description="The OCR attempt whose text was kept, e.g. 'psm3 > binarised'."
    )
    ocr_attempts: int = Field(default=0, description="OCR passes run on the page.")
    osd_runs: int = Field(default=0, description="Orientation detection (OSD) calls.")
    handwriting_regions: int = Field(
        default=0, description="Regions of ink that look handwritten (no confident word there)."
    )
    unread_ink: Score = Field(
        default=math.nan,
        description="Share of the page's glyph-sized ink (specks, ruling lines and pictures "
        "left out) that no confidently read word covers: text OCR missed or read as unsure "
        "garbage, handwriting, stamps.",
    )


class TextLine(_Model):
    """One printed line of a block, with its box and (when known) its font."""

    text: str
    bbox: BBox | None = None
    font_size: Score = Field(default=math.nan, description="Font size in points; NaN if unknown.")
    bold: bool = False
    em: Score = Field(
        default=math.nan,
        description="Type size in page units estimated from OCR word boxes and the letters "
        "they hold (ascenders, descenders); NaN if unknown.",
    )
    stroke: Score = Field(
        default=math.nan,
        description="Stroke width of the line's glyphs as a share of its type size "
        "(OCR; bold type is heavier); NaN if not measured.",
    )


class TableCell(_Model):
    """One cell of a table block (0-based row and column)."""

    row: int
    col: int
    text: str
    bbox: BBox | None = None
    row_span: int = 1
    col_span: int = 1
    header: bool = Field(default=False, description="The cell is in a header row.")
    confidence: Score = Field(
        default=math.nan, description="Mean OCR confidence of the cell's words; NaN if not OCR."
    )


class Block(_Model):
    id: str
    page: int = Field(description="1-based page number.")
    bbox: BBox | None = None
    text: str
    type: ElementType = ElementType.PARAGRAPH
    level: int | None = Field(default=None, description="Heading level, 1 = top.")
    layer: Layer = Layer.BODY
    confidence: Score = Field(default=math.nan, description="Mean OCR confidence; NaN if not OCR.")
    extractor: str
    words: list[Word] = Field(default_factory=list)
    lines: list[TextLine] = Field(
        default_factory=list, description="Printed lines with boxes, before unwrapping."
    )
    font_size: Score = Field(
        default=math.nan, description="Dominant font size (pt); NaN if unknown."
    )
    bold: bool = Field(default=False, description="Most of the block is set in bold.")
    cells: list[TableCell] = Field(default_factory=list, description="Cells of a TABLE block.")


class Page(_Model):
    number: int = Field(description="1-based page number.")
    width: float = 0.0
    height: float = 0.0
    unit: str = Field(default="pt", description="Unit of boxes: 'pt' (PDF) or 'px' (image).")
    method: ExtractionMethod = ExtractionMethod.NONE
    method_reason: str = ""
    blocks: list[Block] = Field(default_factory=list)
    image: ImageMeasurements | None = None
    quality: QualityScores = Field(default_factory=QualityScores)
    error: ErrorRecord | None = None
    review: Review | None = Field(default=None, description="Human review, when any.")

    def body_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.layer is Layer.BODY]

    def body_text(self) -> str:
        return "\n\n".join(b.text for b in self.body_blocks() if b.text)


class BlockRef(_Model):
    """Provenance of one block inside a chunk."""

    block_id: str
    page: int
    bbox: BBox | None = None


class Chunk(_Model):
    id: str
    doc_id: str
    index: int
    text: str
    page_start: int
    page_end: int
    headings: list[str] = Field(default_factory=list)
    blocks: list[BlockRef] = Field(default_factory=list)
    element_types: list[ElementType] = Field(default_factory=list)
    char_start: int = Field(
        description="Offset in Document.text() where the chunk's own text starts (-1: none)."
    )
    char_end: int = Field(description="Offset in Document.text() where its own text ends.")
    overlap_chars: int = Field(
        default=0, description="Leading characters of text repeated from the previous chunk."
    )
    tokens: int = Field(default=0, description="Token count of text (see ChunkConfig).")
    source: str = ""
    sha256: str = ""
    extractors: list[str] = Field(default_factory=list)
    pipeline_version: str = ""
    config_hash: str = ""
    quality: QualityScores = Field(default_factory=QualityScores)
    review: Review | None = Field(default=None, description="Human review, when any.")


class Document(_Model):
    schema_version: str = SCHEMA_VERSION
    id: str
    source: str = Field(description="Path as given / relative to the batch folder.")
    sha256: str
    kind: str = Field(default="", description="Detected source kind, e.g. pdf, image, docx.")
    status: Status = Status.OK
    errors: list[ErrorRecord] = Field(default_factory=list)
    pages: list[Page] = Field(default_factory=list)
    chunks: list[Chunk] = Field(default_factory=list)
    quality: QualityScores = Field(default_factory=QualityScores)
    pipeline_version: str = ""
    config_hash: str = ""
    corrections: CorrectionState = Field(
        default=CorrectionState.NONE,
        description="Whether human corrections were applied, or exist but are stale.",
    )

    def blocks(self) -> list[Block]:
        return [b for p in self.pages for b in p.blocks]

    def text(self) -> str:
        """Body text in reading order; pages separated by a form feed."""
        return "\f".join(p.body_text() for p in self.pages)

    def extractors(self) -> list[str]:
        return sorted({b.extractor for b in self.blocks()})
