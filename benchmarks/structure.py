"""Structure benchmark: furniture, hyphenation, headings, tables, reading order.

Usage::

    python -m benchmarks.structure [--corpus .bench/generated] [--limit N] [--cache DIR]

Runs the stages (``pipelines.convert.run_stages``) on extracted Documents
cached in ``.bench/structure/`` (OCR runs once per corpus document) and
scores them against the generator's sidecars, which know every line's role:

* scanned: the generated corpus (``python -m fixtures.generate --out
  .bench/generated --seed 7 --pages 60``, built when missing);
* digital: born-digital PDFs read through ``extractors.pdf_text`` (the
  committed ``fixtures/samples/born_digital_report.pdf`` plus one vector PDF
  per template made with ``fixtures.generate.vector_pdf``).

Rows "raw" score the extracted Documents before any stage, for comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import textdist

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench" / "structure"
FURNITURE = {"header", "footer", "page_number"}
_WORD_RE = re.compile(r"[\w'-]+")


@dataclass
class Case:
    name: str
    template: str
    doc: Any  # pipelines.model.Document, extracted
    sidecar: dict[str, Any]


@dataclass
class Tally:
    counts: dict[str, list[int]] = field(default_factory=dict)
    dist: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, key: str, hit: int, total: int) -> None:
        c = self.counts.setdefault(key, [0, 0])
        c[0] += hit
        c[1] += total

    def rate(self, key: str) -> str:
        hit, total = self.counts.get(key, [0, 0])
        return f"{100 * hit / total:5.1f} ({hit}/{total})" if total else "  n/a"

    def cer(self, key: str) -> str:
        ds = self.dist.get(key, [])
        if not ds:
            return "  n/a"
        return f"{100 * textdist.micro(ds)[0]:5.1f}"


# --------------------------------------------------------------------------- corpora


def _extract(path: Path) -> Any:
    from extractors.detect import identify
    from extractors.registry import extractor_for
    from pipelines.config import ExtractConfig
    from pipelines.model import Document

    src = identify(path)
    pages = extractor_for(src.kind).extract(src, ExtractConfig())
    return Document(id=src.doc_id, sha256=src.sha256, kind=src.kind, source=path.name, pages=pages)


def scanned_cases(corpus: Path, limit: int | None, cache: Path = CACHE / "extracted") -> list[Case]:
    from fixtures.generate import ensure_corpus
    from pipelines.model import Document

    ensure_corpus(corpus, 7, 60)
    index = json.loads((corpus / "index.json").read_text(encoding="utf-8"))
    out_dir = cache
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for entry in index["documents"][:limit]:
        cached = out_dir / f"{entry['name']}.json"
        doc = None
        if cached.is_file():
            doc = Document.model_validate_json(cached.read_text(encoding="utf-8"))
            sha = hashlib.sha256((corpus / entry["file"]).read_bytes()).hexdigest()
            doc = doc if doc.sha256 == sha else None  # a document of an older corpus
        if doc is None:
            print(f"  extracting {entry['file']} (cached in {cached})", flush=True)
            doc = _extract(corpus / entry["file"])
            cached.write_text(doc.model_dump_json(), encoding="utf-8")
        side = json.loads((corpus / entry["sidecar"]).read_text(encoding="utf-8"))
        cases.append(Case(entry["name"], entry["template"], doc, side))
    return cases


def _digital_doc(pdf: Any, name: str) -> Any:
    from extractors.base import Source
    from extractors.pdf_text import read_page, text_layer_blocks
    from pipelines.model import Document, ExtractionMethod, Page, stable_id

    src = Source(path=Path(name), kind="pdf", sha256=stable_id(name, length=64))
    pages = []
    for i, page in enumerate(pdf):
        blocks = text_layer_blocks(src, i + 1, read_page(page))
        pages.append(
            Page(
                number=i + 1,
                width=float(page.rect.width),
                height=float(page.rect.height),
                method=ExtractionMethod.TEXT_LAYER,
                blocks=blocks,
            )
        )
    return Document(id=src.doc_id, sha256=src.sha256, kind="pdf", source=name, pages=pages)


def digital_cases() -> list[Case]:
    import pymupdf

    from fixtures.generate import GROUNDTRUTH_DIR, SAMPLES_DIR, layout, sidecar, vector_pdf

    cases = []
    pdf = pymupdf.open(SAMPLES_DIR / "born_digital_report.pdf")
    side = json.loads((GROUNDTRUTH_DIR / "born_digital_report.json").read_text(encoding="utf-8"))
    cases.append(Case("born_digital_report", "report", _digital_doc(pdf, "born_digital"), side))
    for k, template in enumerate(["report", "two_column", "invoice", "letter", "report"]):
        rng = random.Random(f"structure-bench:{k}")
        pages = layout(template, rng, 3) if template == "report" else layout(template, rng)
        doc = vector_pdf(pages, rng)
        recs: list[dict[str, Any]] = [{} for _ in pages]
        side = sidecar(f"vector_{k}", "", pages, recs, {"template": template})
        name = f"vector_{k}_{template}"
        cases.append(Case(name, template, _digital_doc(doc, name), side))
    return cases


# --------------------------------------------------------------------------- scoring


def _norm(text: str) -> str:
    return " ".join(textdist.normalize(text).lower().split())


def _lines_of(doc: Any, body: bool) -> list[list[str]]:
    """Per page: normalised printed lines of body (or furniture) blocks."""
    from pipelines.model import Layer
    from pipelines.stages.layout import block_lines

    out = []
    for page in doc.pages:
        lines: list[str] = []
        for b in page.blocks:
            if (b.layer is Layer.BODY) != body:
                continue
            src = [ln.text for ln in block_lines(b)] if b.lines else b.text.split("\n")
            lines.extend(_norm(t) for t in src if t.strip())
        out.append(lines)
    return out


def _count(line: str, candidates: Iterable[str]) -> int:
    """How many of ``candidates`` read as ``line`` (fuzzily, or containing it)."""
    from rapidfuzz import fuzz

    return sum(1 for c in candidates if fuzz.ratio(line, c) >= 85 or f" {line} " in f" {c} ")


def _found(line: str, candidates: Iterable[str]) -> bool:
    from rapidfuzz import fuzz

    return any(fuzz.ratio(line, c) >= 85 for c in candidates)


def _placed_cells(doc: Any, page: int) -> dict[tuple[int, int], str]:
    """Cell texts by (row, column) of the first TABLE block with cells on a page."""
    from pipelines.model import ElementType

    for b in doc.blocks():
        if b.page == page and b.type is ElementType.TABLE and b.cells:
            return {(c.row, c.col): _norm(c.text) for c in b.cells}
    return {}


def score_case(case: Case, doc: Any, tally: Tally, prefix: str) -> None:
    from rapidfuzz import fuzz

    from pipelines.model import ElementType, Layer

    body_lines = _lines_of(doc, body=True)
    furn_lines = _lines_of(doc, body=False)
    body_text = _norm(doc.text())
    tokens = set(_WORD_RE.findall(body_text))
    gt_body = [
        [_norm(ln["text"]) for ln in page["lines"] if ln["role"] not in FURNITURE]
        for page in case.sidecar["pages"]
    ]
    for pi, page in enumerate(case.sidecar["pages"]):
        if pi >= len(doc.pages):
            break
        for ln in page["lines"]:
            text = _norm(ln["text"])
            if not text:
                continue
            if ln["role"] in FURNITURE:
                # Text the page also prints as body (a sender's town that is the
                # addressee's town too) leaks only if the body has it more often.
                in_gt_body = _count(text, gt_body[pi])
                leaked = _count(text, body_lines[pi]) > in_gt_body
                tally.add(f"{prefix}leak", int(leaked), 1)
            else:
                removed = _found(text, furn_lines[pi]) and not _found(text, body_lines[pi])
                tally.add(f"{prefix}false_removal", int(removed), 1)
            hy = ln.get("hyphen")
            if hy and ln["role"] not in FURNITURE:
                head = _norm(hy["prefix"]).rstrip("-")
                tail = _norm(hy["suffix"])
                if hy.get("compound"):
                    right, wrong = f"{head}-{tail}" in tokens, f"{head}{tail}" in tokens
                    if right or wrong:
                        tally.add(f"{prefix}wrong_join", int(wrong and not right), 1)
                else:
                    broken = f"{head}- {tail}" in body_text or f"{head}-{tail}" in tokens
                    joined = f"{head}{tail}" in tokens
                    if broken or joined:
                        tally.add(f"{prefix}hyphen_left", int(broken), 1)
    # headings: GT heading/title lines vs TITLE/HEADING body blocks
    gt_heads = [
        _norm(ln["text"])
        for p in case.sidecar["pages"]
        for ln in p["lines"]
        if ln["role"] in ("heading", "title")
    ]
    pred = [
        _norm(b.text)
        for b in doc.blocks()
        if b.layer is Layer.BODY and b.type in (ElementType.TITLE, ElementType.HEADING)
    ]
    tally.add(f"{prefix}head_p", sum(_found(p, gt_heads) for p in pred), len(pred))
    tally.add(f"{prefix}head_r", sum(_found(g, pred) for g in gt_heads), len(gt_heads))
    # tables: every GT cell text as a cell of a TABLE block
    cells_pred: list[str] = []
    for b in doc.blocks():
        if b.type is ElementType.TABLE:
            if b.cells:
                cells_pred += [_norm(c.text) for c in b.cells]
            else:
                cells_pred += [_norm(c) for r in b.text.split("\n") for c in r.split("\t")]
    severity = case.sidecar.get("severity", "")
    for pi, p in enumerate(case.sidecar["pages"]):
        placed = _placed_cells(doc, pi + 1)
        for t in p.get("tables", []):
            for row in t["cells"]:
                for cell in row:
                    gt = _norm(cell["text"])
                    ok = any(fuzz.ratio(gt, c) >= 90 for c in cells_pred)
                    tally.add(f"{prefix}cells", int(ok), 1)
                    if severity:
                        tally.add(f"{prefix}cells_{severity}", int(ok), 1)
                    there = placed.get((cell["row"], cell["col"]), "")
                    tally.add(f"{prefix}cells_placed", int(fuzz.ratio(gt, there) >= 90), 1)
    gt_body = textdist.normalize(textdist.body_gt_from_sidecar(case.sidecar))
    d = textdist.distance(textdist.normalize(doc.text()), gt_body)
    group = "two_column" if case.template == "two_column" else "one_column"
    tally.dist.setdefault(f"{prefix}cer_{group}", []).append(d)


def run(cases: list[Case], stages: Callable[[Any], Any], tally: Tally, prefix: str) -> None:
    for case in cases:
        score_case(case, stages(case.doc), tally, prefix)


ROWS = [
    ("header/footer leak rate % (GT furniture lines left in body)", "leak", "rate"),
    ("header/footer false-removal rate % (body lines moved out)", "false_removal", "rate"),
    ("hyphen breaks left %", "hyphen_left", "rate"),
    ("real hyphens wrongly joined %", "wrong_join", "rate"),
    ("heading precision %", "head_p", "rate"),
    ("heading recall %", "head_r", "rate"),
    ("table cell text accuracy % (ruled tables)", "cells", "rate"),
    ("  scanned clean pages", "cells_clean", "rate"),
    ("  scanned light degradation", "cells_light", "rate"),
    ("  scanned medium degradation", "cells_medium", "rate"),
    ("  scanned heavy degradation", "cells_heavy", "rate"),
    ("table cells read at their row and column %", "cells_placed", "rate"),
    ("CER % two-column pages", "cer_two_column", "cer"),
    ("CER % one-column pages", "cer_one_column", "cer"),
]


def render(tally: Tally, columns: list[tuple[str, str]]) -> str:
    width = max(len(r[0]) for r in ROWS)
    head = f"{'metric':<{width}}  " + "  ".join(f"{c:>20}" for c, _ in columns)
    lines = [head, "-" * len(head)]
    for label, key, kind in ROWS:
        cells = []
        for _, prefix in columns:
            cells.append(tally.rate(prefix + key) if kind == "rate" else tally.cer(prefix + key))
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.structure", description=__doc__)
    ap.add_argument("--corpus", type=Path, default=ROOT / ".bench" / "generated")
    ap.add_argument("--limit", type=int, default=None, help="first N corpus documents only")
    ap.add_argument(
        "--cache",
        type=Path,
        default=CACHE / "extracted",
        help="extracted Documents (delete it, or give another, after changing an extractor)",
    )
    args = ap.parse_args(argv)
    from pipelines.config import PipelineConfig
    from pipelines.convert import run_stages
    from pipelines.offline import ensure_offline_env

    ensure_offline_env()
    cfg = PipelineConfig()
    scanned = scanned_cases(args.corpus, args.limit, args.cache)
    digital = digital_cases()
    tally = Tally()
    run(scanned, lambda d: d, tally, "scan_raw_")
    run(scanned, lambda d: run_stages(d, cfg), tally, "scan_")
    run(digital, lambda d: d, tally, "dig_raw_")
    run(digital, lambda d: run_stages(d, cfg), tally, "dig_")
    n_scan = sum(len(c.doc.pages) for c in scanned)
    n_dig = sum(len(c.doc.pages) for c in digital)
    print(
        f"doorstep structure benchmark: {len(scanned)} scanned docs / {n_scan} pages (OCR), "
        f"{len(digital)} digital docs / {n_dig} pages (text layer)"
    )
    cols = [
        ("scanned raw", "scan_raw_"),
        ("scanned stages", "scan_"),
        ("digital raw", "dig_raw_"),
        ("digital stages", "dig_"),
    ]
    print(render(tally, cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
