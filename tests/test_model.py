"""The data model: JSON round trip, NaN as null, deterministic ids, config hashing."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from pipelines.config import ExtractConfig, OcrMode, PipelineConfig
from pipelines.errors import (
    CorruptDocument,
    DoorstepError,
    EncryptedDocument,
    InputError,
    OcrError,
    to_record,
)
from pipelines.model import (
    SCHEMA_VERSION,
    BBox,
    Block,
    Chunk,
    Document,
    ErrorRecord,
    Layer,
    Page,
    QualityScores,
    Status,
    Word,
    stable_id,
)


def _doc() -> Document:
    block = Block(
        id="b1",
        page=1,
        bbox=BBox(x0=1, y0=2, x1=3, y1=4),
        text="Hello",
        extractor="tesseract",
        confidence=0.9,
        words=[Word(text="Hello", bbox=BBox(x0=1, y0=2, x1=3, y1=4), confidence=0.9)],
    )
    furniture = Block(id="b2", page=1, text="Page 1", extractor="pymupdf", layer=Layer.FURNITURE)
    page = Page(number=1, width=612, height=792, blocks=[block, furniture])
    chunk = Chunk(
        id="c1",
        doc_id="d",
        index=0,
        text="Hello",
        page_start=1,
        page_end=1,
        char_start=0,
        char_end=5,
    )
    return Document(
        id="d",
        source="a.pdf",
        sha256="0" * 64,
        status=Status.PARTIAL,
        pages=[page],
        chunks=[chunk],
        errors=[ErrorRecord(code="PAGE_FAILED", error_type="X", message="m", page=2)],
    )


def test_json_round_trip_is_exact() -> None:
    doc = _doc()
    text = doc.model_dump_json()
    back = Document.model_validate_json(text)
    assert back.model_dump_json() == text
    assert back.schema_version == SCHEMA_VERSION
    assert back.pages[0].blocks[1].layer is Layer.FURNITURE


def test_nan_means_not_measured_and_is_null_in_json() -> None:
    doc = _doc()
    raw = json.loads(doc.model_dump_json())
    assert raw["pages"][0]["blocks"][1]["confidence"] is None  # text layer: not OCR
    assert raw["pages"][0]["blocks"][0]["confidence"] == pytest.approx(0.9)
    back = Document.model_validate(raw)
    assert math.isnan(back.pages[0].blocks[1].confidence)
    assert math.isnan(QualityScores().score)


def test_body_and_text_exclude_furniture() -> None:
    doc = _doc()
    assert doc.text() == "Hello"
    assert doc.pages[0].body_blocks()[0].id == "b1"


def test_model_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Block(id="x", page=1, text="t", extractor="e", colour="red")  # type: ignore[call-arg]


def test_stable_id_is_deterministic() -> None:
    assert stable_id("a", 1) == stable_id("a", 1)
    assert stable_id("a", 1) != stable_id("a", 2)
    assert len(stable_id("a")) == 16


def test_config_is_validated_and_hash_ignores_password() -> None:
    with pytest.raises(ValidationError):
        PipelineConfig(extract=ExtractConfig(languages="eng; rm -rf /"))
    with pytest.raises(ValidationError):
        PipelineConfig.model_validate({"bogus": 1})
    a = PipelineConfig(extract=ExtractConfig(password="secret"))
    assert a.config_hash() == PipelineConfig().config_hash()
    assert PipelineConfig(extract=ExtractConfig(ocr=OcrMode.FORCE)).config_hash() != (
        a.config_hash()
    )


def test_error_tree_and_records() -> None:
    assert issubclass(EncryptedDocument, InputError)
    assert issubclass(OcrError, DoorstepError)
    rec = to_record(EncryptedDocument("locked"))
    assert (rec.code, rec.error_type) == ("ENCRYPTED", "EncryptedDocument")
    assert "--password" in rec.hint
    rec = to_record(CorruptDocument("bad", page=3))
    assert rec.page == 3
    rec = to_record(KeyError("boom"))
    assert rec.code == "INTERNAL" and rec.error_type == "KeyError"
