"""Quality scores per page, per chunk and per document, with named components and reasons.

The score estimates the share of characters that are right, in [0, 1]:

* OCR text: the calibrated model of :mod:`pipelines.stages.quality_model` over
  named features (OCR confidence distribution, real-word share, garbage and
  symbol shares, page image measurements), fitted against ground truth;
* a PDF text layer: exact characters unless it reads as nonsense or garbage;
* native formats (DOCX, HTML, text, e-mail): exact characters unless garbage.

Components that were not measured stay NaN and do not count. Reasons say why
a score is low; the grade follows configurable thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pipelines.config import QualityConfig
from pipelines.model import (
    MANY_SPECKS,
    STRONG_NOISE,
    Block,
    Document,
    ElementType,
    ExtractionMethod,
    Grade,
    ImageMeasurements,
    Layer,
    Page,
    QualityScores,
    ReasonCode,
)
from pipelines.stages.quality_model import QualityModel, load_model
from pipelines.textmetrics import TextStats, word_class

_SKEW_REASON_DEGREES = 2.0
_LOW_CONTRAST = 0.35
_LOW_DPI = 150.0
_SMALL_TEXT_PX = 14.0


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float:
    total = 0.0
    weight = 0.0
    for value, w in pairs:
        if not math.isnan(value) and w > 0:
            total += value * w
            weight += w
    return total / weight if weight else math.nan


def percentile(values: list[float], q: float) -> float:
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


# --------------------------------------------------------------------------- features


def text_features(stats: TextStats) -> dict[str, float]:
    return {
        "validity": stats.validity,
        "garbage": stats.garbage_ratio,
        "symbol_share": stats.symbol_share,
        "short_token_share": stats.short_token_share,
        "log_words": math.log1p(stats.n_tokens),
    }


_UNSURE_CONFIDENCE = 0.7
"""A word read less confidently than this counts as unsure (``conf_unsure_share``)."""

_SURE_CONFIDENCE = 0.85
"""An OCR word read at least this confidently counts as plausible even when no
dictionary knows it (names, codes, other languages: most of a receipt)."""


def ocr_features(blocks: list[Block]) -> dict[str, float]:
    """OCR confidence distribution, and the share of *suspect* words: words no
    dictionary knows that the OCR engine was also unsure of.

    The distribution is described by its length-weighted mean, its median, its
    10th percentile and the shares of words read below 0.5 (low) and below 0.7
    (unsure): a page with a few very bad words and one read mediocrely
    throughout can have the same mean."""
    confs: list[float] = []
    weighted = weight = 0.0
    counted = suspect = 0
    for b in blocks:
        for w in b.words:
            c = w.confidence
            if math.isnan(c):
                continue
            confs.append(c)
            weighted += c * len(w.text)
            weight += len(w.text)
            kind = word_class(w.text)
            if kind >= 0:
                counted += 1
                suspect += kind == 0 and c < _SURE_CONFIDENCE
    if not confs:
        return {
            "conf_mean": math.nan,
            "conf_p10": math.nan,
            "conf_low_share": math.nan,
            "conf_unsure_share": math.nan,
            "conf_median": math.nan,
            "suspect_share": math.nan,
        }
    return {
        "conf_mean": weighted / weight if weight else math.nan,
        "conf_p10": percentile(confs, 0.10),
        "conf_low_share": sum(1 for c in confs if c < 0.5) / len(confs),
        "conf_unsure_share": sum(1 for c in confs if c < _UNSURE_CONFIDENCE) / len(confs),
        "conf_median": percentile(confs, 0.5),
        "suspect_share": suspect / counted if counted else math.nan,
    }


def image_features(image: ImageMeasurements | None) -> dict[str, float]:
    if image is None:
        return {}
    return {
        "skew_abs": abs(image.skew_degrees),
        "contrast": image.contrast,
        "text_height": image.text_height_px,
        "unread_ink": image.unread_ink,
    }


def features(
    blocks: list[Block],
    image: ImageMeasurements | None,
    stats: Mapping[str, TextStats] | None = None,
) -> dict[str, float]:
    """Every named feature of a run of blocks (a page body or a chunk).

    ``stats`` holds each block's text counts when the caller has them already
    (keyed by block id); counts are additive, so the run's are their sum.
    """
    total = TextStats.total(
        stats[b.id] if stats is not None and b.id in stats else TextStats.of(b.text) for b in blocks
    )
    return {**text_features(total), **ocr_features(blocks), **image_features(image)}


# --------------------------------------------------------------------------- scoring


def _penalty(feats: dict[str, float]) -> float:
    """The factor garbage characters take off any estimate."""
    garbage = feats.get("garbage", math.nan)
    return 1.0 if math.isnan(garbage) else max(0.0, 1.0 - 4.0 * garbage)


def ocr_estimate(feats: dict[str, float], model: QualityModel | None) -> float:
    """Estimated character accuracy of OCR text: ``model`` blended with the heuristic."""
    heuristic = confidence_heuristic(feats)
    if model is None:
        return heuristic * _penalty(feats)
    fitted = model.predict(feats)
    if math.isnan(heuristic):
        return fitted * _penalty(feats)
    heuristic = model.calibrate_heuristic(heuristic)
    return (model.blend * fitted + (1.0 - model.blend) * heuristic) * _penalty(feats)


def _estimate(method: ExtractionMethod, feats: dict[str, float]) -> float:
    """Estimated character accuracy for text made by ``method``."""
    if math.isnan(feats.get("validity", math.nan)) and math.isnan(feats.get("garbage", math.nan)):
        return math.nan  # no text to judge
    if method is ExtractionMethod.OCR:
        return ocr_estimate(feats, load_model())
    if method is ExtractionMethod.TEXT_LAYER:
        validity = feats.get("validity", math.nan)
        base = 1.0 if math.isnan(validity) else min(1.0, 0.4 + validity * 0.65)
        return base * _penalty(feats)
    return _penalty(feats)  # native formats: the characters are the file's own


def confidence_heuristic(feats: dict[str, float]) -> float:
    """Confidence and plausible-word share, blended with the fitted model.

    A word counts against the page only when no dictionary knows it *and* the
    OCR engine was unsure of it (``suspect_share``): names, codes and other
    languages read confidently are not errors. Fitted on synthetic pages, the
    model leans on the plain real-word share, which transfers badly to real
    receipts and non-English pages; this part keeps the estimate honest there.
    """
    suspect = feats.get("suspect_share", math.nan)
    plausible = 1.0 - suspect if not math.isnan(suspect) else feats.get("validity", math.nan)
    parts = [(feats.get("conf_mean", math.nan), 0.6), (plausible, 0.4)]
    return _weighted_mean(parts)


def _reasons(feats: dict[str, float], cfg: QualityConfig) -> list[ReasonCode]:
    reasons: list[ReasonCode] = []
    conf = feats.get("conf_mean", math.nan)
    validity = feats.get("validity", math.nan)
    garbage = feats.get("garbage", math.nan)
    if not math.isnan(conf) and conf < cfg.low_confidence:
        reasons.append(ReasonCode.LOW_OCR_CONFIDENCE)
    if not math.isnan(validity) and validity < cfg.low_word_validity:
        reasons.append(ReasonCode.FEW_REAL_WORDS)
    if not math.isnan(garbage) and garbage > 0.02:
        reasons.append(ReasonCode.GARBAGE_CHARACTERS)
    return reasons


_UNREAD_INK_REASON = 0.3
"""Share of a page's text-like ink under no confidently read word from which
``UNREAD_INK`` is given: text may be missing from the output or misread."""


def _image_reasons(image: ImageMeasurements | None) -> list[ReasonCode]:
    if image is None:
        return []
    reasons: list[ReasonCode] = []
    if image.rotation_applied:
        reasons.append(ReasonCode.ROTATED)
    if abs(image.skew_degrees) >= _SKEW_REASON_DEGREES:
        reasons.append(ReasonCode.SKEWED)
    if image.contrast < _LOW_CONTRAST:
        reasons.append(ReasonCode.LOW_CONTRAST)
    if (not math.isnan(image.dpi) and image.dpi < _LOW_DPI) or (
        image.text_height_px < _SMALL_TEXT_PX
    ):
        reasons.append(ReasonCode.LOW_RESOLUTION)
    if image.noise >= STRONG_NOISE or image.specks_per_glyph >= MANY_SPECKS:
        reasons.append(ReasonCode.HEAVY_NOISE)  # NaN compares False: not measured, no reason
    if image.handwriting_regions:
        reasons.append(ReasonCode.HANDWRITING_SUSPECTED)
    if image.unread_ink >= _UNREAD_INK_REASON:  # NaN compares False
        reasons.append(ReasonCode.UNREAD_INK)
    return reasons


_TABLE_SURE = 0.6
"""Scanned table cells read less confidently than this on average make a table uncertain."""
_TABLE_EMPTY = 0.3
"""...as does this share of empty cells."""


def _table_reasons(blocks: list[Block]) -> list[ReasonCode]:
    """TABLE_UNCERTAIN when a scanned table's cells were read unsurely or left empty."""
    for b in blocks:
        if b.type is not ElementType.TABLE or not b.cells:
            continue
        confs = [c.confidence for c in b.cells if not math.isnan(c.confidence)]
        empty = sum(1 for c in b.cells if not c.text.strip()) / len(b.cells)
        unsure = bool(confs) and sum(confs) / len(confs) < _TABLE_SURE
        if unsure or (confs and empty > _TABLE_EMPTY):
            return [ReasonCode.TABLE_UNCERTAIN]
    return []


def score_blocks(
    blocks: list[Block],
    method: ExtractionMethod,
    image: ImageMeasurements | None,
    cfg: QualityConfig,
    stats: Mapping[str, TextStats] | None = None,
) -> QualityScores:
    """Quality of a run of blocks (a page body or a chunk) made by ``method``.

    On a mixed page (text layer plus OCR of pictures) each part is estimated
    by its own method and the estimates are weighted by their characters.
    """
    feats = features(blocks, image, stats)
    if method is ExtractionMethod.MIXED:
        read = [any(not math.isnan(w.confidence) for w in b.words) for b in blocks]
        ocr = [b for b, r in zip(blocks, read, strict=True) if r]
        layer = [b for b, r in zip(blocks, read, strict=True) if not r]
        parts = [
            (ExtractionMethod.OCR, ocr, image),
            (ExtractionMethod.TEXT_LAYER, layer, None),
        ]
        value = _weighted_mean(
            (_estimate(m, features(bs, im, stats)), sum(len(b.text) for b in bs))
            for m, bs, im in parts
            if bs
        )
    else:
        value = _estimate(method, feats)
    return QualityScores(
        score=value,
        grade=grade_for(value, cfg),
        reasons=_reasons(feats, cfg) + _image_reasons(image) + _table_reasons(blocks),
        ocr_confidence=feats["conf_mean"],
        ocr_confidence_p10=feats["conf_p10"],
        word_validity=feats["validity"],
        garbage_ratio=feats["garbage"],
    )


def score_page(
    page: Page, cfg: QualityConfig, stats: Mapping[str, TextStats] | None = None
) -> QualityScores:
    body = [b for b in page.blocks if b.layer is Layer.BODY]
    scores = score_blocks(body, page.method, page.image, cfg, stats)
    if page.error is not None:
        scores.reasons.append(ReasonCode.PAGE_FAILED)
        scores.score, scores.grade = 0.0, Grade.POOR
    elif not any(b.text for b in page.blocks):
        scores.reasons.append(ReasonCode.NO_TEXT)
        if page.method is ExtractionMethod.OCR or page.image is not None:
            # A scanned page where OCR found nothing: whatever was printed is lost.
            scores.score, scores.grade = 0.0, Grade.POOR
    elif not any(b.text for b in body) and any(
        b.text for b in page.blocks if b.layer is Layer.NOTES
    ):
        # Everything read was set aside as unreadable marks or handwriting: no body
        # text reaches the chunks, and what the page holds needs a person to read it.
        scores.score, scores.grade = 0.0, Grade.POOR
    if page.method is ExtractionMethod.TEXT_LAYER and ReasonCode.FEW_REAL_WORDS in scores.reasons:
        scores.reasons.append(ReasonCode.GARBLED_TEXT_LAYER)
    return scores


def score(doc: Document, cfg: QualityConfig) -> Document:
    """A copy of ``doc`` with quality on every page, every chunk and the document."""
    stats = {b.id: TextStats.of(b.text) for p in doc.pages for b in p.blocks}
    pages = [p.model_copy(update={"quality": score_page(p, cfg, stats)}) for p in doc.pages]
    by_page = {p.number: p for p in pages}
    by_id = {b.id: b for p in pages for b in p.blocks}
    chunks = []
    for c in doc.chunks:
        blocks = [by_id[r.block_id] for r in c.blocks if r.block_id in by_id]
        first = by_page.get(c.page_start)
        method = first.method if first is not None else ExtractionMethod.NONE
        image = first.image if first is not None else None
        q = score_blocks(blocks, method, image, cfg, stats)
        page_reasons = {
            r for p in pages if c.page_start <= p.number <= c.page_end for r in p.quality.reasons
        }
        q.reasons = sorted(set(q.reasons) | page_reasons)
        chunks.append(c.model_copy(update={"quality": q}))
    return doc.model_copy(
        update={"pages": pages, "chunks": chunks, "quality": document_quality(pages, cfg)}
    )


def document_quality(pages: list[Page], cfg: QualityConfig) -> QualityScores:
    """A document's quality: its pages' scores weighted by their body text length."""
    overall = _weighted_mean((p.quality.score, max(1, len(p.body_text()))) for p in pages)
    doc_quality = QualityScores(score=overall, grade=grade_for(overall, cfg))
    doc_quality.reasons = sorted({r for p in pages for r in p.quality.reasons})
    return doc_quality
