"""Quality scores per page, per chunk and per document, with named components.

The score estimates the share of characters that are right, in [0, 1]. This
first version combines the mean OCR word confidence (OCR pages) and the share
of real words (all pages), penalised by garbage characters. Components that
were not measured stay NaN and do not count. Reasons say why a score is low.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pipelines.config import QualityConfig
from pipelines.model import (
    Block,
    Document,
    ExtractionMethod,
    Grade,
    Layer,
    Page,
    QualityScores,
    ReasonCode,
)
from pipelines.textmetrics import garbage_ratio, word_validity

_CONFIDENCE_WEIGHT = 0.6
_VALIDITY_WEIGHT = 0.4
_SKEW_REASON_DEGREES = 2.0


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float:
    total = 0.0
    weight = 0.0
    for value, w in pairs:
        if not math.isnan(value) and w > 0:
            total += value * w
            weight += w
    return total / weight if weight else math.nan


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def grade_for(score: float, cfg: QualityConfig) -> Grade:
    if math.isnan(score):
        return Grade.UNKNOWN
    if score >= cfg.excellent:
        return Grade.EXCELLENT
    if score >= cfg.good:
        return Grade.GOOD
    if score >= cfg.fair:
        return Grade.FAIR
    return Grade.POOR


def combine(
    confidence: float, validity: float, garbage: float, cfg: QualityConfig
) -> QualityScores:
    """The score and reasons from measured components (NaN = not measured)."""
    parts = [(confidence, _CONFIDENCE_WEIGHT), (validity, _VALIDITY_WEIGHT)]
    score = _weighted_mean(parts)
    if math.isnan(score) and not math.isnan(garbage):
        score = 1.0  # text with nothing to judge it by but its characters
    if not math.isnan(score) and not math.isnan(garbage):
        score *= max(0.0, 1.0 - 4.0 * garbage)
    reasons: list[ReasonCode] = []
    if not math.isnan(confidence) and confidence < cfg.low_confidence:
        reasons.append(ReasonCode.LOW_OCR_CONFIDENCE)
    if not math.isnan(validity) and validity < cfg.low_word_validity:
        reasons.append(ReasonCode.FEW_REAL_WORDS)
    if not math.isnan(garbage) and garbage > 0.02:
        reasons.append(ReasonCode.GARBAGE_CHARACTERS)
    score = min(1.0, max(0.0, score)) if not math.isnan(score) else score
    return QualityScores(
        score=score,
        grade=grade_for(score, cfg),
        reasons=reasons,
        ocr_confidence=confidence,
        word_validity=validity,
        garbage_ratio=garbage,
    )


def score_blocks(blocks: list[Block], cfg: QualityConfig) -> QualityScores:
    """Quality of a run of blocks (a page body or a chunk)."""
    text = "\n".join(b.text for b in blocks)
    confs = [w.confidence for b in blocks for w in b.words if not math.isnan(w.confidence)]
    confidence = _weighted_mean((b.confidence, len(b.text)) for b in blocks)
    scores = combine(confidence, word_validity(text), garbage_ratio(text), cfg)
    scores.ocr_confidence_p10 = _percentile(confs, 0.10)
    return scores


def score_page(page: Page, cfg: QualityConfig) -> QualityScores:
    body = [b for b in page.blocks if b.layer is Layer.BODY]
    scores = score_blocks(body, cfg)
    if page.error is not None:
        scores.reasons.append(ReasonCode.PAGE_FAILED)
        scores.score, scores.grade = 0.0, Grade.POOR
    elif not any(b.text for b in page.blocks):
        scores.reasons.append(ReasonCode.NO_TEXT)
    if page.image is not None:
        if page.image.rotation_applied:
            scores.reasons.append(ReasonCode.ROTATED)
        if abs(page.image.skew_degrees) >= _SKEW_REASON_DEGREES:
            scores.reasons.append(ReasonCode.SKEWED)
        if page.image.contrast < 0.35:
            scores.reasons.append(ReasonCode.LOW_CONTRAST)
        if not math.isnan(page.image.dpi) and page.image.dpi < 150:
            scores.reasons.append(ReasonCode.LOW_RESOLUTION)
    if page.method is ExtractionMethod.TEXT_LAYER and ReasonCode.FEW_REAL_WORDS in scores.reasons:
        scores.reasons.append(ReasonCode.GARBLED_TEXT_LAYER)
    return scores


def score(doc: Document, cfg: QualityConfig) -> Document:
    """A copy of ``doc`` with quality on every page, every chunk and the document."""
    pages = [p.model_copy(update={"quality": score_page(p, cfg)}) for p in doc.pages]
    by_id = {b.id: b for p in pages for b in p.blocks}
    chunks = []
    for c in doc.chunks:
        blocks = [by_id[r.block_id] for r in c.blocks if r.block_id in by_id]
        q = score_blocks(blocks, cfg)
        page_reasons = {
            r for p in pages if c.page_start <= p.number <= c.page_end for r in p.quality.reasons
        }
        q.reasons = sorted(set(q.reasons) | page_reasons)
        chunks.append(c.model_copy(update={"quality": q}))
    overall = _weighted_mean((p.quality.score, max(1, len(p.body_text()))) for p in pages)
    doc_quality = QualityScores(score=overall, grade=grade_for(overall, cfg))
    doc_quality.reasons = sorted({r for p in pages for r in p.quality.reasons})
    return doc.model_copy(update={"pages": pages, "chunks": chunks, "quality": doc_quality})
