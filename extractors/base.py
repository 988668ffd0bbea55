"""The small protocol every extractor implements, and the source it reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipelines.config import ExtractConfig
from pipelines.model import BBox, Block, ElementType, Layer, Page, TableCell, TextLine, stable_id


@dataclass(frozen=True)
class Source:
    """One input file, already identified."""

    path: Path
    kind: str
    """Detected kind: pdf, image, docx, html, text, markdown, email."""
    sha256: str

    @property
    def doc_id(self) -> str:
        return self.sha256[:16]


class Extractor(Protocol):
    """Turns a source into pages.

    Raise a :class:`pipelines.errors.InputError` when the whole document cannot
    be read; record a failure of one page on ``Page.error`` and carry on.
    """

    name: str

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]: ...


def make_block(
    source: Source,
    page: int,
    index: int,
    text: str,
    *,
    extractor: str,
    bbox: BBox | None = None,
    type: ElementType = ElementType.PARAGRAPH,
    level: int | None = None,
    layer: Layer = Layer.BODY,
    lines: list[TextLine] | None = None,
    font_size: float = math.nan,
    bold: bool = False,
    cells: list[TableCell] | None = None,
) -> Block:
    """A block with a deterministic id (document, page, position), validated once."""
    return Block(
        id=stable_id(source.doc_id, page, index),
        page=page,
        bbox=bbox,
        text=text,
        type=type,
        level=level,
        layer=layer,
        extractor=extractor,
        lines=lines or [],
        font_size=font_size,
        bold=bold,
        cells=cells or [],
    )
