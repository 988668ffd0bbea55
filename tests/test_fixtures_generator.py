"""Tests for the seeded degraded-scan generator in ``fixtures/``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pymupdf
import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein

from fixtures import degrade as dg
from fixtures import generate as gen


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


# The default corpus plan (60 pages, seed 7) rendered at 150 dpi to keep the suite fast: the
# plan - documents, templates, degradation kinds, severities - does not depend on the dpi.
FAST_DPI = 150


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus60")
    gen.generate(out, seed=7, n_pages=60, dpi=FAST_DPI, jobs=2)
    return out


def test_same_seed_is_byte_identical_and_seeds_differ(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    args = ["--out", str(a), "--seed", "7", "--pages", "6", "--dpi", str(FAST_DPI)]
    assert gen.main(args) == 0
    gen.generate(b, seed=7, n_pages=6, dpi=FAST_DPI)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    assert [n for n in fa if fa[n] != fb[n]] == []
    gen.generate(c, seed=8, n_pages=6, dpi=FAST_DPI)
    fc = _files(c)
    txt_a = sorted(v for k, v in fa.items() if k.endswith(".txt"))
    txt_c = sorted(v for k, v in fc.items() if k.endswith(".txt"))
    assert txt_a != txt_c
    assert json.loads(fa["index.json"])["n_pages"] == 6


def test_full_resolution_document_is_reproducible(tmp_path: Path) -> None:
    plan = next(p for p in gen.plan_corpus(7, 60) if p.kinds and p.n_pages == 1)
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        gen.build_doc(plan, tmp_path / sub, 300)
    fx, fy = _files(tmp_path / "x"), _files(tmp_path / "y")
    assert fx == fy and len(fx) == 3
    side = json.loads(fx[f"{plan.name}.json"])
    assert side["dpi"] == 300 and side["pages"][0]["image_size_px"][0] >= 2550


def test_plan_covers_everything_in_exact_page_count() -> None:
    for n in (1, 6, 17, 60):
        assert sum(d.n_pages for d in gen.plan_corpus(7, n)) == n


def test_every_document_has_gt_and_sidecar(corpus: Path) -> None:
    index = json.loads((corpus / "index.json").read_text())
    assert index["n_pages"] == 60
    for doc in index["documents"]:
        for key in ("file", "gt", "sidecar"):
            assert (corpus / doc[key]).is_file(), doc[key]
        side = json.loads((corpus / doc["sidecar"]).read_text())
        gt = (corpus / doc["gt"]).read_text(encoding="utf-8")
        assert gt.endswith("\n")
        pages_txt = gt.split("\n\f\n")
        assert len(pages_txt) == len(side["pages"]) == doc["pages"]
        # one GT line per recorded line, page by page
        for page_txt, page in zip(pages_txt, side["pages"], strict=True):
            got = [ln for ln in page_txt.splitlines() if ln.strip()]
            want = [ln["text"] for ln in page["lines"] if ln["text"].strip()]
            assert got == want
            for ln in page["lines"]:
                assert ln["role"] in {
                    "title",
                    "heading",
                    "body",
                    "header",
                    "footer",
                    "page_number",
                    "list_item",
                    "table_cell",
                    "caption",
                }
                x0, y0, x1, y1 = ln["bbox"]
                assert 0 <= x0 < x1 <= page["width_pt"] and 0 <= y0 < y1 <= page["height_pt"]
        non_blank = sum(1 for ln in gt.splitlines() if ln.strip() and ln != "\f")
        assert non_blank == sum(len(p["lines"]) for p in side["pages"])


def test_corpus_covers_templates_kinds_and_severities(corpus: Path) -> None:
    index = json.loads((corpus / "index.json").read_text())
    docs = index["documents"]
    assert {d["template"] for d in docs} == set(gen.TEMPLATES)
    seen = {(k, d["severity"]) for d in docs for kinds in d["page_degradations"] for k in kinds}
    for kind in dg.KINDS:
        for sev in dg.SEVERITIES:
            assert (kind, sev) in seen, (kind, sev)
            assert index["coverage_pages"][kind][sev] >= 1
    assert index["clean_pages"] >= 2
    assert {d["fmt"] for d in docs} == {"pdf", "png", "tif"}
    multi_tif = [d for d in docs if d["fmt"] == "tif" and d["pages"] > 1]
    assert multi_tif
    with Image.open(corpus / multi_tif[0]["file"]) as im:
        assert im.n_frames == multi_tif[0]["pages"]


def test_hyphen_breaks_recorded(corpus: Path) -> None:
    index = json.loads((corpus / "index.json").read_text())
    report = next(d for d in index["documents"] if d["template"] == "report")
    side = json.loads((corpus / report["sidecar"]).read_text())
    breaks = [ln for p in side["pages"] for ln in p["lines"] if "hyphen" in ln]
    assert breaks
    for ln in breaks:
        hy = ln["hyphen"]
        assert ln["text"].endswith(hy["prefix"]) and hy["prefix"].endswith("-")
        if hy["compound"]:
            assert hy["joined"] == hy["prefix"] + hy["suffix"]
        else:
            assert hy["joined"] == hy["prefix"][:-1] + hy["suffix"]


def test_pdfs_are_image_only(corpus: Path) -> None:
    pdf = next(corpus.glob("*.pdf"))
    with pymupdf.open(pdf) as doc:
        assert all(p.get_text().strip() == "" and p.get_images() for p in doc)
        assert doc.metadata["creationDate"] == gen.FIXED_DATE


@pytest.mark.tesseract
def test_tesseract_reads_clean_page(corpus: Path, tmp_path: Path, tesseract: str) -> None:
    index = json.loads((corpus / "index.json").read_text())
    doc = next(
        d
        for d in index["documents"]
        if d["severity"] == "clean" and d["template"] in {"letter", "typewriter", "two_column"}
    )
    side = json.loads((corpus / doc["sidecar"]).read_text())["pages"][0]
    # OCR only the top part of the page (speed): lines down to ~300 pt, cut between lines
    lines = [ln for ln in side["lines"] if ln["bbox"][3] < 300]
    nxt = side["lines"][len(lines)]["bbox"][1]
    cut_pt = (lines[-1]["bbox"][3] + nxt) / 2
    path = corpus / doc["file"]
    png = tmp_path / "page.png"
    if path.suffix == ".pdf":
        with pymupdf.open(path) as pdf:
            pix = pymupdf.Pixmap(pdf, pdf[0].get_images()[0][0])
            im = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    else:
        im = Image.open(path).convert("L")
    scale = side["pt_to_px"][0][0]
    im.crop((0, 0, im.width, round(cut_pt * scale))).resize(
        (im.width * 2, round(cut_pt * scale) * 2)
    ).save(png)
    ocr = subprocess.run(
        ["tesseract", str(png), "-", "--psm", "3"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    ).stdout
    gt = "\n".join(ln["text"] for ln in lines)
    norm_ocr, norm_gt = " ".join(ocr.split()), " ".join(gt.split())
    cer = Levenshtein.distance(norm_ocr, norm_gt) / len(norm_gt)
    print(f"CER {cer:.4f} on {doc['name']}")
    assert cer < 0.05, (cer, norm_ocr, norm_gt)


def test_committed_samples() -> None:
    d = gen.SAMPLES_DIR
    expected = [
        "born_digital_report.pdf",
        "scanned_letter.pdf",
        "scanned_report.pdf",
        "fax_memo.png",
        "rotated_invoice.tif",
        "memo.docx",
        "notice.html",
    ]
    for name in expected:
        assert (d / name).is_file(), name
        assert (gen.GROUNDTRUTH_DIR / name).with_suffix(".txt").is_file(), name
    assert sorted(p.name for p in d.iterdir()) == sorted(expected)  # documents only
    assert sum(p.stat().st_size for p in d.iterdir()) < 5_000_000
    with pymupdf.open(d / "born_digital_report.pdf") as pdf:
        text = " ".join(" ".join(p.get_text().replace("•", " ").split()) for p in pdf)
    gt = (gen.GROUNDTRUTH_DIR / "born_digital_report.txt").read_text(encoding="utf-8")
    assert text == " ".join(gt.replace("\f", " ").split())


def test_receipt_is_a_narrow_roll_whose_totals_add_up() -> None:
    import random

    from fixtures.receipt import WIDTH, receipt

    (page,) = receipt(random.Random(5))
    assert page.width == WIDTH and page.height < 800
    lines = {ln.text.rsplit(" ", 1)[0]: ln.text.rsplit(" ", 1)[1] for ln in page.lines if ln.words}
    cents = {
        k: round(float(v.replace(",", "")) * 100)
        for k, v in lines.items()
        if k in {"SUB-TOTAL", "TOTAL", "CASH", "CHANGE"}
    }
    assert cents["CASH"] - cents["TOTAL"] == cents["CHANGE"]
    assert all(ln.bbox()[0] > 0 and ln.bbox()[2] < WIDTH for ln in page.lines)


def test_ensure_corpus_rebuilds_an_older_corpus_and_refuses_foreign_folders(tmp_path: Path) -> None:
    out = tmp_path / "c"
    gen.generate(out, seed=7, n_pages=2, dpi=FAST_DPI)
    index = json.loads((out / "index.json").read_text())
    (out / "stale_from_v1.pdf").write_bytes(b"%PDF-1.4")
    index["version"] = gen.VERSION - 1
    (out / "index.json").write_text(json.dumps(index))
    gen.ensure_corpus(out, seed=7, n_pages=2, jobs=1)
    assert json.loads((out / "index.json").read_text())["version"] == gen.VERSION
    assert not (out / "stale_from_v1.pdf").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(ValueError):
        gen.ensure_corpus(mine, seed=7, n_pages=2)
    assert (mine / "thesis.pdf").exists()
