"""The benchmark's metrics (normalisation, CER/WER, GT hyphen joins) and a small smoke run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import ocr_accuracy as bench
from benchmarks import textdist as td

REAL = Path(__file__).resolve().parents[1].parent / "shared/corpus/real"
SMOKE_FILES = ["fax_kcs.pdf", "report_tess_phototest.tif"]


# --------------------------------------------------------------------------- normalisation


def test_normalize_folds_quotes_dashes_ligatures_and_whitespace() -> None:
    raw = "  \u201cSmart\u201d \u2018quotes\u2019\u00a0\u2013 fig\u2012dash"
    raw += "\n\n\fof\ufb01ce  co\u00adop\t"
    assert td.normalize(raw) == "\"Smart\" 'quotes' - fig-dash office coop"


def test_normalize_keeps_em_dash_and_case_unless_casefold() -> None:
    assert td.normalize("A\u2014B") == "A\u2014B"
    assert td.normalize("TOTAL Stra\u00dfe") == "TOTAL Stra\u00dfe"
    assert td.normalize("TOTAL Stra\u00dfe", casefold=True) == "total strasse"


def test_normalize_empty() -> None:
    assert td.normalize(" \n\f\t ") == ""
    assert td.words("") == []


# --------------------------------------------------------------------------- CER / WER


def test_known_cer_and_wer() -> None:
    d = td.score("kitten sat", "sitting sat")
    assert (d.char_edits, d.gt_chars) == (3, 11)
    assert (d.word_edits, d.gt_words) == (1, 2)
    assert d.cer == pytest.approx(3 / 11)
    assert d.wer == pytest.approx(0.5)


def test_identical_after_normalisation_is_zero() -> None:
    hyp = "The \u201cquick\u201d brown\n\nfox\f"
    gt = 'The "quick"\nbrown fox\n'
    assert td.cer(hyp, gt) == 0.0
    assert td.wer(hyp, gt) == 0.0


def test_wer_counts_word_insertions_deletions_substitutions() -> None:
    assert td.wer("a b c d", "a x c") == pytest.approx(2 / 3)  # one sub, one insertion
    assert td.wer("", "one two three") == 1.0
    assert td.cer("", "abc") == 1.0


def test_receipts_are_casefolded() -> None:
    gt = "TOTAL RM 12.50\nTHANK YOU"
    hyp = "Total RM 12.50 Thank you"
    assert td.cer(hyp, gt) > 0
    assert td.cer(hyp, gt, casefold=True) == 0.0
    assert td.wer(hyp, gt, casefold=True) == 0.0


def test_empty_gt_rates() -> None:
    assert td.distance("", "").cer == 0.0
    assert td.distance("x", "").cer == 1.0


def test_failed_distance_is_full_loss() -> None:
    d = td.failed_distance("two words")
    assert (d.cer, d.wer) == (1.0, 1.0)


def test_micro_average_weights_by_length() -> None:
    a = td.Distance(char_edits=1, gt_chars=10, word_edits=1, gt_words=2)
    b = td.Distance(char_edits=9, gt_chars=90, word_edits=0, gt_words=18)
    assert td.micro([a, b]) == (pytest.approx(0.1), pytest.approx(0.05))
    assert td.micro([]) == (0.0, 0.0)


# --------------------------------------------------------------------------- GT hyphens

GT = "The capabili-\nties are well-\nknown and pre-\n\nnext para-\n\f\ngraph\nstays"


def test_join_marked_hyphens() -> None:
    joined = td.join_marked_hyphens(GT, {0: False, 1: True})
    assert joined.split("\n")[0] == "The capabilities are well-known and pre-"


def test_unmarked_hyphens_stay() -> None:
    assert td.join_marked_hyphens(GT, {}) == GT


def test_break_before_blank_line_or_page_is_not_joined() -> None:
    assert td.join_marked_hyphens(GT, {2: False, 4: False}) == GT


def test_hyphen_breaks_from_sidecar_lines() -> None:
    lines = [
        {"text": "The capabili-", "hyphen": {"joined": "capabilities", "compound": False}},
        {"text": "ties are well-", "hyphen": {"joined": "well-known", "compound": True}},
        {"text": "known and pre-"},
        {"text": "a line the GT does not have"},
        {"text": "next para-"},
        {"text": "graph"},
    ]
    assert td.hyphen_breaks_from_lines(GT, lines) == {0: False, 1: True}


def test_hyphen_join_then_score_matches_dehyphenated_text() -> None:
    breaks = td.hyphen_breaks_from_lines(
        "capabili-\nties",
        [{"text": "capabili-", "hyphen": {"joined": "capabilities"}}, {"text": "ties"}],
    )
    assert td.cer("capabilities", td.join_marked_hyphens("capabili-\nties", breaks)) == 0.0


# --------------------------------------------------------------------------- table


def _result(corpus: str, groups: list[str], edits: int, status: str = "ok") -> bench.DocResult:
    return bench.DocResult(
        corpus=corpus,
        file=f"{corpus}-{edits}.pdf",
        groups=groups,
        status=status,
        pages=2,
        seconds=1.0,
        scored=True,
        char_edits=edits,
        gt_chars=10,
        word_edits=0,
        gt_words=5,
        errors=[{"code": "CORRUPT", "message": "bad"}] if status == "failed" else [],
    )


def test_rows_per_corpus_and_group() -> None:
    results = [
        _result("generated", ["template=letter", "severity=light", "degradation=blur"], 1),
        _result(
            "generated",
            ["template=letter", "severity=heavy", "degradation=blur", "degradation=noise"],
            3,
        ),
        _result("real", ["kind=fax"], 10, status="failed"),
    ]
    rows = {r.label.strip(): r for r in bench.build_rows(results)}
    assert list(rows) == [
        "generated",
        "template=letter",
        "severity=light",
        "severity=heavy",
        "degradation=blur",
        "degradation=noise",
        "real",
        "kind=fax",
        "all",
    ]
    assert rows["generated"].cer == pytest.approx(0.2)
    assert rows["degradation=noise"].docs == 1
    assert rows["degradation=blur"].median_cer == pytest.approx(0.2)
    assert rows["kind=fax"].failed == 1
    assert rows["all"].pages_per_s == pytest.approx(2.0)
    text = bench.render_table(list(rows.values()))
    assert "median CER %" in text and "degradation=noise" in text
    assert bench.failure_lines(results) == ["  real/real-10.pdf: CORRUPT: bad"]


def test_load_generated_groups_and_hyphen_join(tmp_path: Path) -> None:
    gt = "Title\n\nThe capabili-\nties are well-\nknown.\n\f\nPage two\n"
    lines = [
        {"text": "Title", "role": "title"},
        {"text": "The capabili-", "hyphen": {"joined": "capabilities", "compound": False}},
        {"text": "ties are well-", "hyphen": {"joined": "well-known", "compound": True}},
        {"text": "known."},
    ]
    side = {
        "name": "000_letter_heavy",
        "pages": [{"lines": lines}, {"lines": [{"text": "Page two"}]}],
    }
    (tmp_path / "000_letter_heavy.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "000_letter_heavy.txt").write_text(gt, encoding="utf-8")
    (tmp_path / "000_letter_heavy.json").write_text(json.dumps(side), encoding="utf-8")
    (tmp_path / "001_invoice_clean.png").write_bytes(b"")
    entries = [
        {"name": "000_letter_heavy", "template": "letter", "severity": "heavy",
         "kinds": ["blur", "skew"], "page_degradations": [["blur", "skew"], ["blur", "noise"]],
         "file": "000_letter_heavy.pdf", "gt": "000_letter_heavy.txt",
         "sidecar": "000_letter_heavy.json", "pages": 2},
        {"name": "001_invoice_clean", "template": "invoice", "severity": "clean", "kinds": [],
         "file": "001_invoice_clean.png", "pages": 1},
    ]  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps({"seed": 7, "documents": entries}))
    specs = bench.load_generated(tmp_path)
    assert [s.name for s in specs] == ["000_letter_heavy.pdf", "001_invoice_clean.png"]
    first, second = specs
    assert first.groups == [
        "template=letter", "severity=heavy", "degradation=blur", "degradation=noise",
        "degradation=skew",
    ]  # fmt: skip
    assert first.expected_pages == 2 and not first.casefold
    assert first.gt is not None
    assert td.normalize(first.gt) == "Title The capabilities are well-known. Page two"
    assert second.groups == ["template=invoice", "severity=clean", "degradation=none"]
    assert second.gt is None


# --------------------------------------------------------------------------- smoke


@pytest.mark.realcorpus
@pytest.mark.slow
def test_smoke_on_two_real_files(tmp_path: Path) -> None:
    if not (REAL / "MANIFEST.tsv").is_file():
        pytest.skip("../shared/corpus/real is absent")
    specs = bench.load_real(REAL, names=SMOKE_FILES)
    assert [s.name for s in specs] == sorted(SMOKE_FILES)
    assert all(s.gt for s in specs)
    results = bench.run_docs(specs)
    assert all(r.scored and r.cer is not None for r in results)
    rows = bench.build_rows(results)
    assert [r.label.strip() for r in rows] == ["real", "kind=fax", "kind=report"]
    assert rows[0].docs == 2 and rows[0].pages == 2
    assert rows[0].cer is not None and 0.0 <= rows[0].cer < 1.0
    table = bench.render_table(rows)
    for label in ("real", "kind=fax", "kind=report", "CER %", "pages/s"):
        assert label in table


def test_cli_json_on_real_subset(tmp_path: Path) -> None:
    if not (REAL / "MANIFEST.tsv").is_file():
        pytest.skip("../shared/corpus/real is absent")
    real = tmp_path / "real"
    real.mkdir()
    with (REAL / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        header, *rows = fh.read().splitlines()
    keep = [r for r in rows if r.split("\t")[0] == "fax_kcs.pdf"]
    (real / "MANIFEST.tsv").write_text("\n".join([header, *keep]) + "\n", encoding="utf-8")
    for name in ("fax_kcs.pdf", "fax_kcs.txt"):
        (real / name).write_bytes((REAL / name).read_bytes())
    out = tmp_path / "bench.json"
    code = bench.main(
        ["--corpus", "real", "--real-dir", str(real), "--json", str(out), "--no-cli", "-q"]
    )
    assert code == 0
    payload = json.loads(out.read_text())
    assert [d["file"] for d in payload["documents"]] == ["fax_kcs.pdf"]
    assert [r["label"].strip() for r in payload["rows"]] == ["real", "kind=fax"]
