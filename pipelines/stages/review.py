"""Applying human corrections to a document: a pure ``(doc, corrections) -> doc`` stage.

Corrected page text replaces the page's body text (its furniture and notes are kept, a
paragraph equal to a former heading stays a heading), then chunking and scoring
run again. Reviewed pages and chunks carry a typed :class:`~pipelines.model.Review`
and a quality of 1.0 (corrected, approved) or 0.0 (rejected) with a ``HUMAN_*``
reason code; a chunk that also covers pages no one reviewed keeps its measured
score and gains the reason code. Corrections made on other bytes (stale) are
never applied: the document is only marked. The records and their store live in
:mod:`pipelines.corrections`.
"""

from __future__ import annotations

import re

from pipelines.config import ChunkConfig, QualityConfig
from pipelines.corrections import DocCorrections
from pipelines.model import (
    Block,
    Chunk,
    CorrectionState,
    Document,
    ElementType,
    Grade,
    Layer,
    Page,
    QualityScores,
    ReasonCode,
    Review,
    ReviewStatus,
    stable_id,
)
from pipelines.stages.chunk import chunk
from pipelines.stages.quality import document_quality, score

HUMAN_EXTRACTOR = "human"
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")

_REASON = {
    ReviewStatus.CORRECTED: ReasonCode.HUMAN_CORRECTED,
    ReviewStatus.APPROVED: ReasonCode.HUMAN_APPROVED,
    ReviewStatus.REJECTED: ReasonCode.HUMAN_REJECTED,
}


def _corrected_blocks(page: Page, text: str, doc_id: str) -> list[Block]:
    """The page's furniture and notes kept in place, its body replaced by paragraphs of
    ``text``."""
    kinds = {b.text.strip(): (b.type, b.level) for b in page.body_blocks()}
    paragraphs = [p.strip() for p in _PARAGRAPH_RE.split(text.replace("\r\n", "\n"))]
    body = []
    for i, para in enumerate(p for p in paragraphs if p):
        kind, level = kinds.get(para, (ElementType.PARAGRAPH, None))
        body.append(
            Block(
                id=stable_id(doc_id, page.number, "corrected", i),
                page=page.number,
                text=para,
                type=kind,
                level=level,
                extractor=HUMAN_EXTRACTOR,
            )
        )
    first_body = next((i for i, b in enumerate(page.blocks) if b.layer is Layer.BODY), None)
    before = page.blocks[:first_body] if first_body is not None else page.blocks
    after = [b for b in page.blocks[len(before) :] if b.layer is not Layer.BODY]
    return [*before, *body, *after]


def reviewed_quality(quality: QualityScores, status: ReviewStatus) -> QualityScores:
    """A person's verdict overrides the estimate: 1.0 when right, 0.0 when rejected."""
    rejected = status is ReviewStatus.REJECTED
    return quality.model_copy(
        update={
            "score": 0.0 if rejected else 1.0,
            "grade": Grade.POOR if rejected else Grade.EXCELLENT,
            "reasons": [_REASON[status]],
        }
    )


def _chunk_status(
    c: Chunk, pages: dict[int, Page], verdicts: dict[str, ReviewStatus]
) -> tuple[ReviewStatus | None, bool]:
    """A chunk's review and whether it covers the whole chunk (else it only adds a reason):
    its own verdict, else rejected if any of its pages is, corrected if any is (complete
    when all are reviewed), approved if all are."""
    if c.id in verdicts:
        return verdicts[c.id], True
    span = [pages[n].review for n in range(c.page_start, c.page_end + 1) if n in pages]
    statuses = {r.status for r in span if r is not None}
    complete = bool(span) and None not in span
    if ReviewStatus.REJECTED in statuses:
        return ReviewStatus.REJECTED, True
    if ReviewStatus.CORRECTED in statuses:
        return ReviewStatus.CORRECTED, complete
    return (ReviewStatus.APPROVED, True) if complete else (None, False)


def apply_corrections(
    doc: Document,
    corrections: DocCorrections | None,
    *,
    stale: bool = False,
    chunk_cfg: ChunkConfig | None = None,
    quality_cfg: QualityConfig | None = None,
) -> Document:
    """``doc`` with ``corrections`` applied (pure, deterministic; ``doc`` is untouched).

    Stale corrections, or ones made for other bytes, are not applied: the document
    is only marked ``corrections = stale``.
    """
    if corrections is None:
        return doc
    if stale or corrections.sha256 != doc.sha256:
        return doc.model_copy(update={"corrections": CorrectionState.STALE})
    chunk_cfg = chunk_cfg or ChunkConfig()
    quality_cfg = quality_cfg or QualityConfig()
    pages = []
    for p in doc.pages:
        found = corrections.page(p.number)
        if found is None:
            pages.append(p)
            continue
        update: dict[str, object] = {"review": Review(status=found.status)}
        if found.text is not None:
            update["blocks"] = _corrected_blocks(p, found.text, doc.id)
        pages.append(p.model_copy(update=update))
    out = doc.model_copy(update={"pages": pages, "corrections": CorrectionState.APPLIED})
    if any(c.text is not None for c in corrections.pages):
        out = score(chunk(out, chunk_cfg), quality_cfg)  # pages keep their review
    by_number = {p.number: p for p in out.pages}
    reviewed_pages = [
        p.model_copy(update={"quality": reviewed_quality(p.quality, p.review.status)})
        if p.review is not None
        else p
        for p in out.pages
    ]
    verdicts = {v.chunk_id: v.status for v in corrections.chunks}
    chunks = []
    for c in out.chunks:
        status, complete = _chunk_status(c, by_number, verdicts)
        if status is not None:
            quality = (
                reviewed_quality(c.quality, status)
                if complete
                else c.quality.model_copy(
                    update={"reasons": sorted({*c.quality.reasons, _REASON[status]})}
                )
            )
            c = c.model_copy(update={"review": Review(status=status), "quality": quality})
        chunks.append(c)
    return out.model_copy(
        update={
            "pages": reviewed_pages,
            "chunks": chunks,
            "quality": document_quality(reviewed_pages, quality_cfg),
        }
    )
