"""Pure stages over the data model: ``stage(doc, section_cfg) -> doc``.

No I/O, no globals, no Prefect. Each stage returns a new Document and leaves
its input untouched.
"""

from pipelines.stages.chunk import chunk
from pipelines.stages.clean import clean
from pipelines.stages.elements import classify_elements
from pipelines.stages.paragraphs import join_continuations, split_paragraphs
from pipelines.stages.quality import score
from pipelines.stages.reading_order import reading_order
from pipelines.stages.rows import join_rows
from pipelines.stages.structure import mark_furniture

__all__ = [
    "chunk",
    "classify_elements",
    "clean",
    "join_continuations",
    "join_rows",
    "mark_furniture",
    "reading_order",
    "score",
    "split_paragraphs",
]
