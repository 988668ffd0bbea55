"""The one validated configuration object, split into one section per stage.

Each stage receives only its own section. ``PipelineConfig.config_hash()`` is a
stable digest of everything that can change the output; it is recorded on
every document so reruns can tell when results are stale.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OcrMode(StrEnum):
    AUTO = "auto"
    """Text layer where it is real text, OCR elsewhere."""
    FORCE = "force"
    """OCR every page, ignoring any text layer."""
    NEVER = "never"
    """Never OCR: text layers and native formats only."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractConfig(_Section):
    ocr: OcrMode = Field(default=OcrMode.AUTO, description="When to OCR PDF pages.")
    languages: str = Field(
        default="eng",
        pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
        description="Tesseract language codes joined by '+', e.g. 'eng+deu'.",
    )
    dpi: int = Field(default=300, ge=72, le=600, description="Render DPI for OCR of PDF pages.")
    min_text_chars: int = Field(
        default=20,
        ge=0,
        description="A PDF page whose text layer has fewer characters than this is OCRed.",
    )
    min_text_validity: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A text layer whose share of real-looking words is below this is re-OCRed.",
    )
    password: str | None = Field(default=None, description="Password for encrypted PDFs.")
    passwords: list[str] = Field(
        default_factory=list,
        description="More passwords to try, in order (from --passwords-file); never hashed.",
    )
    max_image_pixels: int = Field(
        default=200_000_000,
        gt=0,
        description="Images larger than this many pixels are refused (decompression bombs).",
    )
    ocr_timeout_s: float = Field(default=120.0, gt=0, description="Time limit per OCR call.")
    repair_images: bool = Field(
        default=True,
        description="Measure page images and repair them before OCR (orientation, skew, "
        "borders, background, noise, ruling lines, scale).",
    )
    detect_handwriting: bool = Field(
        default=True,
        description="Look for handwriting on OCRed pages (ink no confident printed word "
        "explains, in slanted, curved strokes) and move it to the 'notes' layer. The same "
        "search measures the page's unread ink for the quality score (not measured when off).",
    )
    max_ocr_attempts: int = Field(
        default=3,
        ge=1,
        le=8,
        description="Readings of one page at most: the first and up to this minus one "
        "alternatives; the search also stops after an alternative that does not help.",
    )
    page_time_budget_s: float = Field(
        default=20.0,
        ge=0,
        description="CPU seconds per page (doorstep's and Tesseract's, so the result "
        "does not depend on the machine's load) after which no further OCR alternative "
        "is tried for a page whose first reading is poor (0: first reading only).",
    )
    scan_tables: bool = Field(
        default=True,
        description="Find ruled tables on OCRed pages and read them cell by cell into "
        "table blocks.",
    )
    page_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Pages of one document OCRed in parallel (1 inside a batch; "
        "a single conversion may use the CPU count).",
    )


class CleanConfig(_Section):
    unicode_form: str = Field(
        default="NFKC", pattern=r"^NFK?[CD]$", description="Unicode normal form."
    )
    fix_quotes: bool = Field(default=True, description="Curly quotes to straight quotes.")
    fix_dashes: bool = Field(default=True, description="Unicode dashes to '-' (em dash kept).")
    join_hyphenated: bool = Field(
        default=True, description="Join words split by a hyphen at a line end inside a block."
    )


class LayoutConfig(_Section):
    """Lines → paragraphs, reading order and element types (sizes in points)."""

    reorder: bool = Field(
        default=True, description="Put the blocks of each page in reading order (XY-cut)."
    )
    reorder_ocr: bool = Field(
        default=False,
        description="Also reorder OCR pages (Tesseract's own order is kept by default).",
    )
    join_rows: bool = Field(
        default=True,
        description="On OCR pages, read label/value columns that Tesseract split apart "
        "(receipts, totals, forms) row by row again.",
    )
    column_gap: float = Field(
        default=9.0, gt=0, description="Narrowest vertical gutter between two columns (pt)."
    )
    band_gap: float = Field(
        default=2.0, ge=0, description="Vertical gap between blocks that starts a new band (pt)."
    )
    row_gap: float = Field(
        default=15.0,
        gt=0,
        description="A block on one side of a two-column region starts a new row, not the "
        "column's next paragraph, when that side ended this far (pt) above both it and the "
        "other side.",
    )
    paragraph_gap: float = Field(
        default=0.75,
        gt=0,
        description="A gap between two lines wider than this share of the line height "
        "starts a new paragraph.",
    )
    size_change: float = Field(
        default=1.25,
        gt=1,
        description="Consecutive lines whose font sizes differ by this ratio are split apart.",
    )
    join_across_blocks: bool = Field(
        default=True,
        description="Join a paragraph (and a word hyphenated at its end) that continues in "
        "the next block, column or page.",
    )
    heading_size: float = Field(
        default=1.1, gt=1, description="A short block this many times the body size is a heading."
    )
    title_size: float = Field(
        default=1.5, gt=1, description="A block this many times the body size on page 1 is a title."
    )


class StructureConfig(_Section):
    margin_zone: float = Field(
        default=0.12,
        gt=0,
        lt=0.5,
        description="Share of page height at top and bottom where headers/footers are sought.",
    )
    min_repeat_share: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="A margin block repeating on at least this share of pages is furniture.",
    )
    style_furniture: bool = Field(
        default=True,
        description="A short margin block in smaller type than the body and set apart by a gap "
        "is furniture even when it does not repeat (letterheads, one-page footers).",
    )


class TokenCounter(StrEnum):
    APPROX = "approx"
    """Built-in estimate: max(words x 1.33, characters / 4); no tokenizer needed."""
    TOKENIZER = "tokenizer"
    """Exact count with a local Hugging Face ``tokenizer.json`` (``tokenizers`` package)."""


class ChunkConfig(_Section):
    max_tokens: int = Field(default=400, ge=16, description="Token budget of one chunk.")
    min_tokens: int = Field(
        default=60,
        ge=0,
        description="A chunk smaller than this merges with its neighbour when they share headings.",
    )
    overlap_tokens: int = Field(
        default=0,
        ge=0,
        description="Tokens of the previous chunk's end (whole sentences) repeated at the start.",
    )
    token_counter: TokenCounter = Field(
        default=TokenCounter.APPROX, description="How tokens are counted."
    )
    tokenizer_path: str | None = Field(
        default=None,
        description="Path to a tokenizer.json for --token-counter tokenizer (never downloaded).",
    )
    include_furniture: bool = Field(
        default=False, description="Put headers/footers/page numbers into chunk text."
    )


class QualityConfig(_Section):
    excellent: float = Field(default=0.98, ge=0, le=1, description="Min score for 'excellent'.")
    good: float = Field(
        default=0.90,
        ge=0,
        le=1,
        description="Min score for 'good'; below it a page is flagged (fair or poor).",
    )
    fair: float = Field(default=0.75, ge=0, le=1, description="Min score for 'fair'.")
    low_confidence: float = Field(
        default=0.70, ge=0, le=1, description="Mean OCR confidence below this is flagged."
    )
    low_word_validity: float = Field(
        default=0.70, ge=0, le=1, description="Share of real words below this is flagged."
    )


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    extract: ExtractConfig = Field(default_factory=ExtractConfig, description="Extraction.")
    clean: CleanConfig = Field(default_factory=CleanConfig, description="Cleaning.")
    layout: LayoutConfig = Field(
        default_factory=LayoutConfig, description="Paragraphs, reading order, element types."
    )
    structure: StructureConfig = Field(
        default_factory=StructureConfig, description="Headers, footers, page numbers."
    )
    chunk: ChunkConfig = Field(default_factory=ChunkConfig, description="Chunking.")
    quality: QualityConfig = Field(default_factory=QualityConfig, description="Scoring.")

    def config_hash(self) -> str:
        """Digest of everything that changes output (not the password, not parallelism)."""
        payload = self.model_dump_json(
            exclude={"extract": {"password", "passwords", "page_workers"}}
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class BatchConfig(BaseModel):
    """How a batch runs (not what it produces): never part of ``config_hash``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default=0, ge=0, description="Documents converted in parallel; 0 = one per CPU core."
    )
    timeout_s: float = Field(
        default=900.0, gt=0, description="Wall-clock limit for converting one document."
    )
    memory_mb: int = Field(
        default=1536,
        ge=64,
        description="RSS cap of one worker process (with its OCR children); over it the "
        "worker is killed and recycled and the document fails with RESOURCE_LIMIT.",
    )
    retries: int = Field(
        default=1, ge=0, le=5, description="Extra attempts after a transient failure only."
    )
    recycle_after: int = Field(
        default=200, ge=1, description="A worker process is replaced after this many documents."
    )
    dask_address: str | None = Field(
        default=None,
        pattern=r"^(tcp|tls|inproc|ucx)://.+$",
        description="Run on an existing Dask cluster at this scheduler address.",
    )
    min_quality: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Quality gate: chunks scoring below this (or unscored) go to review.jsonl "
        "instead of chunks.jsonl; none are dropped.",
    )
    report: bool = Field(
        default=True, description="Write OUTDIR/report.html and Prefect artifacts."
    )
    thumbnails: int = Field(
        default=12, ge=0, le=100, description="Lowest-quality pages shown as thumbnails."
    )

    def effective_workers(self) -> int:
        import os

        return self.workers or max(1, os.cpu_count() or 1)
