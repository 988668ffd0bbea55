"""Stages on saved Documents (tests/data/*.extracted.json): no Tesseract, no PDF parsing.

Golden outputs live in tests/golden/; a missing golden fails. Refresh them on
purpose with ``pytest tests/test_stages.py --update-goldens`` and review the diff.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fixtures.generate import GROUNDTRUTH_DIR
from pipelines.config import (
    ChunkConfig,
    PipelineConfig,
    QualityConfig,
    StructureConfig,
    TokenCounter,
)
from pipelines.convert import run_stages
from pipelines.model import (
    BBox,
    Block,
    Document,
    ElementType,
    ExtractionMethod,
    Grade,
    Layer,
    ReasonCode,
    Word,
)
from pipelines.outputs import to_jsonl, to_markdown, to_text
from pipelines.stages import chunk, clean, mark_furniture, score
from pipelines.stages.chunk import split_text
from pipelines.stages.quality import score_blocks, score_page
from tests.conftest import GOLDEN, ROOT

DATA = ROOT / "tests" / "data"
NAMES = ["born_digital_report.pdf", "scanned_report.pdf", "memo.docx"]


def load(name: str) -> Document:
    return Document.model_validate_json((DATA / f"{name}.extracted.json").read_text())


def check_golden(path: Path, actual: str, update: bool) -> None:
    if update:
        path.write_text(actual, encoding="utf-8")
    if not path.is_file():
        pytest.fail(f"missing golden {path.name}: run pytest --update-goldens and review it")
    assert actual == path.read_text(encoding="utf-8"), f"output differs from {path.name}"


@pytest.mark.parametrize("name", NAMES)
def test_pipeline_output_matches_golden(name: str, update_goldens: bool) -> None:
    doc = run_stages(load(name), PipelineConfig())
    check_golden(GOLDEN / f"{name}.chunks.jsonl", to_jsonl(doc), update_goldens)
    check_golden(GOLDEN / f"{name}.txt", to_text(doc), update_goldens)
    check_golden(GOLDEN / f"{name}.md", to_markdown(doc), update_goldens)


@pytest.mark.parametrize("name", NAMES)
def test_stages_are_pure_and_deterministic(name: str) -> None:
    doc = load(name)
    before = doc.model_dump_json()
    a = run_stages(doc, PipelineConfig())
    b = run_stages(load(name), PipelineConfig())
    assert doc.model_dump_json() == before  # input untouched
    assert a.model_dump_json() == b.model_dump_json()


def test_running_headers_and_page_numbers_go_to_furniture() -> None:
    doc = mark_furniture(
        clean(load("born_digital_report.pdf"), PipelineConfig().clean), StructureConfig()
    )
    truth = json.loads((GROUNDTRUTH_DIR / "born_digital_report.json").read_text())
    furniture_roles = {"header", "footer", "page_number"}
    expected = {
        " ".join(ln["text"].split())
        for p in truth["pages"]
        for ln in p["lines"]
        if ln["role"] in furniture_roles
    }
    body_lines = {
        " ".join(ln["text"].split())
        for p in truth["pages"]
        for ln in p["lines"]
        if ln["role"] not in furniture_roles
    }
    furniture = [b for b in doc.blocks() if b.layer is Layer.FURNITURE]
    got = {b.text for b in furniture}
    assert got == expected
    assert {b.type for b in furniture} <= {
        ElementType.HEADER,
        ElementType.FOOTER,
        ElementType.PAGE_NUMBER,
    }
    body = " ".join(b.text for b in doc.blocks() if b.layer is Layer.BODY)
    for line in body_lines:  # never drop text: every body line is still in the body
        assert line.split()[0].rstrip("-") in body
    assert all(t not in doc.text() for t in expected)


def test_headings_become_chunk_boundaries_with_paths() -> None:
    doc = run_stages(load("born_digital_report.pdf"), PipelineConfig())
    headings = [b.text for b in doc.blocks() if b.type is ElementType.HEADING]
    assert headings
    for c in doc.chunks:
        assert c.headings, c.text[:60]
        assert c.page_start <= c.page_end
        assert c.tokens <= PipelineConfig().chunk.max_tokens
    starts = {c.text.split("\n\n")[0] for c in doc.chunks}
    assert any(h in starts for h in headings)


def test_chunk_offsets_point_into_document_text() -> None:
    doc = run_stages(load("scanned_report.pdf"), PipelineConfig())
    text = doc.text()
    for c in doc.chunks:
        first = c.text.split("\n\n")[0]
        assert text[c.char_start : c.char_start + len(first)] == first


def test_chunks_respect_the_size_limit_and_never_split_words() -> None:
    doc = run_stages(
        load("scanned_report.pdf"), PipelineConfig(chunk=ChunkConfig(max_tokens=70, min_tokens=0))
    )
    words = set(doc.text().split())
    for c in doc.chunks:
        assert c.tokens <= 70
        for w in c.text.split():
            assert w in words, w


def test_split_text_cuts_at_sentences_then_spaces() -> None:
    text = "One two three. Four five six. Seven eight nine."
    spans = split_text(text, 20)
    parts = [text[a:b] for a, b in spans]
    assert parts == ["One two three.", "Four five six.", "Seven eight nine."]
    other = "aaaa bbbb cccc"
    assert [other[a:b] for a, b in split_text(other, 9)] == ["aaaa bbbb", "cccc"]


def test_include_furniture_option_puts_headers_into_chunks() -> None:
    cfg = PipelineConfig(chunk=ChunkConfig(include_furniture=True))
    doc = run_stages(load("born_digital_report.pdf"), cfg)
    furniture = {b.text for b in doc.blocks() if b.layer is Layer.FURNITURE}
    assert any(f in c.text for c in doc.chunks for f in furniture)


def test_quality_components_are_named_and_nan_when_not_measured() -> None:
    digital = run_stages(load("born_digital_report.pdf"), PipelineConfig())
    page = digital.pages[0].quality
    assert math.isnan(page.ocr_confidence)  # text layer: not OCR
    assert 0.0 <= page.word_validity <= 1.0 and 0.0 <= page.score <= 1.0
    scanned = run_stages(load("scanned_report.pdf"), PipelineConfig())
    for p in scanned.pages:
        assert 0.0 <= p.quality.ocr_confidence <= 1.0
        assert 0.0 <= p.quality.ocr_confidence_p10 <= p.quality.ocr_confidence
    for c in scanned.chunks:
        assert 0.0 <= c.quality.score <= 1.0 and c.quality.grade is not Grade.UNKNOWN


def _ocr_block(text: str, conf: float) -> Block:
    words = [Word(text=w, bbox=BBox(x0=0, y0=0, x1=1, y1=1), confidence=conf) for w in text.split()]
    return Block(id="b", page=1, text=text, extractor="tesseract", confidence=conf, words=words)


def test_quality_reasons_and_grades() -> None:
    cfg = QualityConfig()
    bad = score_blocks(
        [_ocr_block("Tbe qnlck hrown f0x jumqs ovcr", 0.4)], ExtractionMethod.OCR, None, cfg
    )
    assert {ReasonCode.LOW_OCR_CONFIDENCE, ReasonCode.FEW_REAL_WORDS} <= set(bad.reasons)
    assert bad.grade in (Grade.FAIR, Grade.POOR)
    good = score_blocks(
        [_ocr_block("The quick brown fox jumps over the lazy dog", 0.96)],
        ExtractionMethod.OCR,
        None,
        cfg,
    )
    assert good.reasons == [] and good.score > bad.score + 0.2
    garbled = score_blocks(
        [Block(id="g", page=1, text="ab\ufffd\ufffd cd\ufffd", extractor="pymupdf")],
        ExtractionMethod.TEXT_LAYER,
        None,
        cfg,
    )
    assert ReasonCode.GARBAGE_CHARACTERS in garbled.reasons and garbled.score < 0.5
    native = score_blocks(
        [Block(id="n", page=1, text="Plain words.", extractor="lxml")],
        ExtractionMethod.NATIVE,
        None,
        cfg,
    )
    assert native.score == 1.0 and native.grade is Grade.EXCELLENT
    assert math.isnan(native.ocr_confidence)


def test_unsure_or_empty_scanned_table_is_uncertain() -> None:
    from pipelines.model import ElementType, TableCell

    def table(cells: list[tuple[str, float]]) -> Block:
        return Block(
            id="t",
            page=1,
            text="\t".join(t for t, _ in cells),
            type=ElementType.TABLE,
            extractor="tesseract",
            cells=[TableCell(row=0, col=i, text=t, confidence=c) for i, (t, c) in enumerate(cells)],
        )

    cfg = QualityConfig()

    def reasons(block: Block) -> list[ReasonCode]:
        return score_blocks([block], ExtractionMethod.OCR, None, cfg).reasons

    assert ReasonCode.TABLE_UNCERTAIN not in reasons(table([("Qty", 0.95), ("12", 0.9)]))
    assert ReasonCode.TABLE_UNCERTAIN in reasons(table([("Qty", 0.4), ("l2", 0.5)]))
    assert ReasonCode.TABLE_UNCERTAIN in reasons(table([("Qty", 0.95), ("", 0.9), ("", 0.9)]))
    digital = table([("Qty", math.nan), ("", math.nan), ("", math.nan)])
    assert ReasonCode.TABLE_UNCERTAIN not in reasons(digital)  # no OCR: nothing to doubt


def test_scanned_page_with_no_text_scores_zero() -> None:
    from pipelines.model import ImageMeasurements, Page

    page = Page(
        number=1, method=ExtractionMethod.OCR, image=ImageMeasurements(width_px=10, height_px=10)
    )
    q = score_page(page, QualityConfig())
    assert q.score == 0.0 and ReasonCode.NO_TEXT in q.reasons


def test_scanned_page_whose_reading_all_went_to_notes_scores_zero() -> None:
    from pipelines.model import Block, ImageMeasurements, Layer, Page

    def page(*layers: Layer) -> Page:
        blocks = [
            Block(id=f"b{i}", page=1, text="Sat eet earn", layer=layer, extractor="tesseract")
            for i, layer in enumerate(layers)
        ]
        image = ImageMeasurements(width_px=10, height_px=10)
        return Page(number=1, method=ExtractionMethod.OCR, image=image, blocks=blocks)

    q = score_page(page(Layer.NOTES), QualityConfig())
    assert q.score == 0.0 and q.grade is Grade.POOR  # flagged, not "unknown"
    assert ReasonCode.NO_TEXT not in q.reasons  # something was read, just not print
    assert score_page(page(Layer.BODY, Layer.NOTES), QualityConfig()).score > 0.0


def test_ink_no_word_covers_lowers_the_score_and_says_why() -> None:
    """Text OCR dropped has no confidence to show: the unread-ink share carries it."""
    from pipelines.model import BBox, Block, ImageMeasurements, Page, Word

    words = [
        Word(text=t, bbox=BBox(x0=10 * i, y0=0, x1=10 * i + 8, y1=10), confidence=0.93)
        for i, t in enumerate(["the", "annual", "report", "of", "the", "board", "was", "approved"])
    ]
    block = Block(
        id="b0", page=1, text=" ".join(w.text for w in words), words=words, extractor="tesseract"
    )

    def page(unread: float) -> Page:
        image = ImageMeasurements(width_px=10, height_px=10, unread_ink=unread)
        return Page(number=1, method=ExtractionMethod.OCR, image=image, blocks=[block])

    cfg = QualityConfig()
    read, dropped = score_page(page(0.02), cfg), score_page(page(0.5), cfg)
    assert dropped.score < read.score
    assert ReasonCode.UNREAD_INK in dropped.reasons and ReasonCode.UNREAD_INK not in read.reasons
    assert ReasonCode.UNREAD_INK not in score_page(page(math.nan), cfg).reasons


def test_quality_orders_clean_above_garbled_text() -> None:
    doc = load("born_digital_report.pdf")
    garbled_pages = []
    for p in doc.pages:
        blocks = [
            b.model_copy(update={"text": b.text.translate(str.maketrans("aeiou", "0#1%9"))})
            for b in p.blocks
        ]
        garbled_pages.append(p.model_copy(update={"blocks": blocks}))
    garbled = doc.model_copy(update={"pages": garbled_pages})
    cfg = PipelineConfig()
    good = score(chunk(clean(doc, cfg.clean), cfg.chunk), cfg.quality)
    bad = score(chunk(clean(garbled, cfg.clean), cfg.chunk), cfg.quality)
    assert bad.quality.score < good.quality.score - 0.3
    assert ReasonCode.GARBLED_TEXT_LAYER in bad.pages[0].quality.reasons


def test_token_budget_and_overlap() -> None:
    cfg = PipelineConfig(chunk=ChunkConfig(max_tokens=80, min_tokens=0, overlap_tokens=25))
    doc = run_stages(load("born_digital_report.pdf"), cfg)
    text = doc.text()
    with_overlap = [c for c in doc.chunks if c.overlap_chars]
    assert with_overlap, "no chunk carried overlap"
    for c in doc.chunks:
        assert c.tokens <= 80 or ElementType.TABLE in c.element_types
        own = c.text[c.overlap_chars :]
        assert (
            text[c.char_start : c.char_start + len(own.split("\n\n")[0])] == (own.split("\n\n")[0])
        )
    for prev, c in zip(doc.chunks, doc.chunks[1:], strict=False):
        if c.overlap_chars:
            repeated = c.text[: c.overlap_chars].strip()
            assert prev.text.replace("\n\n", " ").endswith(repeated)


def test_chunks_carry_provenance() -> None:
    doc = run_stages(load("scanned_report.pdf"), PipelineConfig())
    for c in doc.chunks:
        assert (c.source, c.sha256, c.doc_id) == (doc.source, doc.sha256, doc.id)
        assert c.pipeline_version == doc.pipeline_version and c.config_hash == doc.config_hash
        assert c.blocks and all(r.bbox is not None for r in c.blocks)
        assert c.extractors == ["tesseract"]


def test_exact_token_counting_with_a_local_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        [load("memo.docx").text()], trainers.WordLevelTrainer(special_tokens=["[UNK]"])
    )
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    cfg = ChunkConfig(
        max_tokens=40, min_tokens=0, token_counter=TokenCounter.TOKENIZER, tokenizer_path=str(path)
    )
    doc = chunk(clean(load("memo.docx"), PipelineConfig().clean), cfg)
    for c in doc.chunks:
        assert c.tokens == len(tok.encode(c.text, add_special_tokens=False).ids)
        assert c.tokens <= 40 or ElementType.TABLE in c.element_types


def test_missing_tokenizer_file_is_a_config_error() -> None:
    from pipelines.errors import ConfigError

    cfg = ChunkConfig(token_counter=TokenCounter.TOKENIZER, tokenizer_path="/nonexistent.json")
    with pytest.raises(ConfigError):
        chunk(load("memo.docx"), cfg)


def test_table_rows_are_never_split() -> None:
    doc = load("memo.docx")
    table = next(b for b in doc.blocks() if b.type is ElementType.TABLE)
    rows = set(table.text.split("\n"))
    small = chunk(clean(doc, PipelineConfig().clean), ChunkConfig(max_tokens=16, min_tokens=0))
    for c in small.chunks:
        if ElementType.TABLE in c.element_types:
            for line in c.text.split("\n\n")[-1].split("\n"):
                assert line in rows


def test_no_chunk_is_only_headings() -> None:
    for name in NAMES:
        doc = run_stages(load(name), PipelineConfig())
        for c in doc.chunks:
            assert set(c.element_types) - {ElementType.HEADING, ElementType.TITLE}, c.text
