"""Pure stages over the data model: ``stage(doc, section_cfg) -> doc``.

No I/O, no globals, no Prefect. Each stage returns a new Document and leaves
its input untouched.
"""

from pipelines.stages.chunk import chunk
from pipelines.stages.clean import clean
from pipelines.stages.quality import score
from pipelines.stages.structure import mark_furniture

__all__ = ["chunk", "clean", "mark_furniture", "score"]
