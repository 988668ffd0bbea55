"""Every file of ../shared/corpus/real converts or fails with a clear typed error.

Skips when the corpus is absent. Text is compared to ground truth by edit
distance, with thresholds set from measured values plus a margin, so a
regression in extraction fails here.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from pipelines.config import ExtractConfig, PipelineConfig
from pipelines.convert import convert
from pipelines.model import Status
from pipelines.outputs import to_text
from tests.conftest import REAL

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "‐": "-"})


def _norm(text: str, casefold: bool = False) -> str:
    text = " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split())
    return text.casefold() if casefold else text


def cer(hyp: str, ref: str, casefold: bool = False) -> float:
    h, r = _norm(hyp, casefold), _norm(ref, casefold)
    return Levenshtein.distance(h, r) / max(1, len(r))


def _manifest() -> list[dict[str, str]]:
    if not (REAL / "MANIFEST.tsv").is_file():
        return []
    with (REAL / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _manifest()
# Files whose correct answer is a typed failure, and the code.
EXPECTED_FAILURES = {"robustness_password.pdf": "ENCRYPTED"}
# Upper bounds on CER for files that doorstep reads well today (measured + margin).
CER_BOUNDS = {
    "report_tess_phototest.tif": 0.05,
    "robustness_tess_phototest_rot90.tif": 0.05,
    "robustness_tess_phototest_rgb72dpi.tif": 0.10,
    "report_tess_eurotext.tif": 0.15,
    "robustness_docling_ocr_test.pdf": 0.10,
    "robustness_docling_ocr_test_rotated_90.pdf": 0.10,
    "robustness_docling_ocr_test_rotated_180.pdf": 0.10,
    "robustness_docling_ocr_test_rotated_270.pdf": 0.10,
}


@pytest.mark.realcorpus
@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_every_real_file_is_answered(row: dict[str, str], real_corpus: Path) -> None:
    path = real_corpus / row["file"]
    doc = convert(path, PipelineConfig(), source_name=row["file"])
    expected = EXPECTED_FAILURES.get(row["file"])
    if expected:
        assert doc.status is Status.FAILED
        assert doc.errors[0].code == expected and doc.errors[0].hint
        return
    assert doc.status is Status.OK, doc.errors
    assert len(doc.pages) == int(row["pages"])
    assert doc.text().strip(), "no text at all"
    bound = CER_BOUNDS.get(row["file"])
    if bound is not None:
        gt = (real_corpus / row["file"]).with_suffix(".txt").read_text(encoding="utf-8")
        score = cer(to_text(doc), gt, casefold=row["kind"] == "receipt")
        assert score <= bound, f"CER {score:.3f} > {bound}"


@pytest.mark.realcorpus
def test_password_opens_the_encrypted_file(real_corpus: Path) -> None:
    cfg = PipelineConfig(extract=ExtractConfig(password="password"))
    doc = convert(real_corpus / "robustness_password.pdf", cfg)
    assert doc.status is Status.OK
    gt = (real_corpus / "robustness_password.txt").read_text(encoding="utf-8")
    assert cer(to_text(doc), gt) < 0.05
