"""OCR accuracy and speed benchmark: CER / WER / pages per second, per corpus and group.

Every document is converted in this process, one after the other, with
:func:`pipelines.convert.convert` and the default :class:`PipelineConfig`; its
text (:func:`pipelines.outputs.to_text`) is scored against the ground truth with
:mod:`benchmarks.textdist`. Corpora:

* ``generated`` — made by ``python -m fixtures.generate --out DIR --seed 7 --pages 60``
  (built on first use into ``.bench/generated``). Groups: template, severity and
  degradation kind (a document counts in every kind it has). Line-end hyphens
  the sidecar marks as hyphenation breaks are joined in the GT.
* ``real`` — ``../shared/corpus/real`` (``MANIFEST.tsv``). Groups: ``kind``.
  Receipts are compared case-insensitively. Files without GT are converted (for
  speed and failures) but not scored.

A failed document scores CER = WER = 100 % against its GT.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import textdist
from benchmarks.textdist import Distance

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GENERATED = ROOT / ".bench" / "generated"
DEFAULT_REAL = ROOT.parent / "shared" / "corpus" / "real"
SAMPLES = ROOT / "fixtures" / "samples"
SEED = 7
DEFAULT_PAGES = 60
CLI_TARGET_S = 2.0
DOC_SUFFIXES = {
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".gif",
    ".webp",
    ".docx",
    ".html",
    ".htm",
    ".eml",
    ".md",
}


# --------------------------------------------------------------------------- specs


@dataclass
class DocSpec:
    """One document to convert, with its GT (if any) and the groups it counts in."""

    corpus: str
    path: Path
    groups: list[str]
    gt: str | None = None
    casefold: bool = False
    expected_pages: int = 0

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class DocResult:
    corpus: str
    file: str
    groups: list[str]
    status: str
    pages: int
    seconds: float
    scored: bool
    errors: list[dict[str, Any]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    quality: list[float | None] = field(default_factory=list)
    char_edits: int = 0
    gt_chars: int = 0
    word_edits: int = 0
    gt_words: int = 0
    cer: float | None = None
    wer: float | None = None

    @property
    def distance(self) -> Distance:
        return Distance(self.char_edits, self.gt_chars, self.word_edits, self.gt_words)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def load_real(
    root: Path, *, names: Iterable[str] | None = None, limit: int | None = None
) -> list[DocSpec]:
    """Documents of the real corpus from its ``MANIFEST.tsv`` (sorted by file name)."""
    wanted = set(names) if names is not None else None
    specs: list[DocSpec] = []
    with (root / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            file = row["file"].strip()
            if wanted is not None and file not in wanted:
                continue
            path = root / file
            kind = row.get("kind", "").strip() or "unknown"
            gt = None
            if row.get("has_gt", "").strip().lower() == "yes":
                gt_path = path.with_suffix(".txt")
                if gt_path.is_file():
                    gt = gt_path.read_text(encoding="utf-8")
            try:
                pages = int(row.get("pages") or 0)
            except ValueError:
                pages = 0
            specs.append(
                DocSpec(
                    corpus="real",
                    path=path,
                    groups=[f"kind={kind}"],
                    gt=gt,
                    casefold=kind == "receipt",
                    expected_pages=pages,
                )
            )
    specs.sort(key=lambda s: s.name)
    return specs[:limit] if limit is not None else specs


def _entries(index: Any) -> list[dict[str, Any]]:
    if isinstance(index, dict):
        for key in ("documents", "docs", "items", "files"):
            if isinstance(index.get(key), list):
                return [e for e in index[key] if isinstance(e, dict)]
        return [dict(v, name=k) for k, v in index.items() if isinstance(v, dict)]
    if isinstance(index, list):
        return [e for e in index if isinstance(e, dict)]
    return []


def _degradation_kinds(entry: dict[str, Any]) -> list[str]:
    """Every degradation kind of a document (document-level and per-page records)."""
    raw = list(entry.get("degradations") or entry.get("kinds") or [])
    raw += list(entry.get("page_degradations") or [])
    kinds: list[str] = []
    if isinstance(raw, dict):
        raw = list(raw)
    for item in raw or []:
        if isinstance(item, str):
            kinds.append(item)
        elif isinstance(item, dict):
            k = item.get("kind") or item.get("name") or item.get("type")
            if k:
                kinds.append(str(k))
        elif isinstance(item, list | tuple):  # per-page lists
            kinds.extend(_degradation_kinds({"degradations": item}))
    return sorted(set(kinds))


def _find_document(root: Path, entry: dict[str, Any]) -> Path | None:
    for key in ("file", "path", "document", "filename"):
        if entry.get(key):
            p = root / str(entry[key])
            if p.is_file():
                return p
    name = str(entry.get("name") or entry.get("id") or entry.get("stem") or "")
    if not name:
        return None
    for p in sorted(root.glob(f"{Path(name).stem}.*")):
        if p.suffix.lower() in DOC_SUFFIXES:
            return p
    return None


def _sidecar_lines(sidecar: Any) -> list[dict[str, Any]]:
    """Every printed line of a generator sidecar, in reading order."""
    if not isinstance(sidecar, dict):
        return []
    pages = sidecar.get("pages")
    if isinstance(pages, list):
        out: list[dict[str, Any]] = []
        for page in pages:
            if isinstance(page, dict) and isinstance(page.get("lines"), list):
                out.extend(ln for ln in page["lines"] if isinstance(ln, dict))
        return out
    lines = sidecar.get("lines")
    return [ln for ln in lines if isinstance(ln, dict)] if isinstance(lines, list) else []


def load_generated(root: Path, *, limit: int | None = None) -> list[DocSpec]:
    """Documents of a generated corpus from its ``index.json``."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    specs: list[DocSpec] = []
    for entry in _entries(index):
        path = _find_document(root, entry)
        if path is None:
            continue
        groups = []
        if entry.get("template"):
            groups.append(f"template={entry['template']}")
        if entry.get("severity"):
            groups.append(f"severity={entry['severity']}")
        kinds = _degradation_kinds(entry)
        groups += [f"degradation={k}" for k in kinds] or ["degradation=none"]
        gt = None
        gt_path = root / str(entry.get("gt") or path.with_suffix(".txt").name)
        if gt_path.is_file():
            gt = gt_path.read_text(encoding="utf-8")
            side_path = root / str(entry.get("sidecar") or path.with_suffix(".json").name)
            if side_path.is_file():
                side = json.loads(side_path.read_text(encoding="utf-8"))
                # `--format text` is the body: score against the body GT.
                gt = textdist.body_gt_from_sidecar(side)
        pages = entry.get("pages") or entry.get("n_pages") or 0
        specs.append(
            DocSpec(
                corpus="generated",
                path=path,
                groups=groups,
                gt=gt,
                expected_pages=pages if isinstance(pages, int) else len(pages),
            )
        )
    specs.sort(key=lambda s: s.name)
    return specs[:limit] if limit is not None else specs


def build_generated(out: Path, *, pages: int, seed: int = SEED) -> bool:
    """Run the generator into ``out`` unless it is already there; False if impossible."""
    if (out / "index.json").is_file():
        index = json.loads((out / "index.json").read_text(encoding="utf-8"))
        if isinstance(index, dict) and (index.get("seed"), index.get("n_pages")) != (seed, pages):
            print(
                f"note: {out} holds seed {index.get('seed')}, {index.get('n_pages')} pages "
                f"(asked: seed {seed}, {pages} pages); using it as is - delete it to rebuild"
            )
        return True
    if not (ROOT / "fixtures" / "generate.py").is_file():
        print(f"note: fixtures/generate.py is absent; generated corpus skipped ({out})")
        return False
    print(f"building generated corpus: seed {seed}, {pages} pages → {out}", flush=True)
    cmd = [
        sys.executable,
        "-m",
        "fixtures.generate",
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--pages",
        str(pages),
        "--jobs",
        str(min(4, os.cpu_count() or 1)),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    if proc.returncode != 0 or not (out / "index.json").is_file():
        print(f"note: generator failed (exit {proc.returncode}); generated corpus skipped")
        return False
    return True


# --------------------------------------------------------------------------- running


def run_docs(
    specs: Sequence[DocSpec], *, progress: Callable[[DocResult], None] | None = None
) -> list[DocResult]:
    """Convert and score every document, sequentially, in this process."""
    from pipelines.config import PipelineConfig
    from pipelines.convert import convert
    from pipelines.offline import ensure_offline_env
    from pipelines.outputs import to_text

    ensure_offline_env()
    cfg = PipelineConfig()
    results = []
    for spec in specs:
        t0 = time.perf_counter()
        doc = convert(spec.path, cfg, source_name=spec.name)
        seconds = time.perf_counter() - t0
        status = str(doc.status)
        res = DocResult(
            corpus=spec.corpus,
            file=spec.name,
            groups=list(spec.groups),
            status=status,
            pages=len(doc.pages) or spec.expected_pages,
            seconds=seconds,
            scored=spec.gt is not None,
            errors=[e.model_dump() for e in doc.errors],
            methods=[str(p.method) for p in doc.pages],
            quality=[
                None if p.quality.score != p.quality.score else p.quality.score for p in doc.pages
            ],
        )
        if spec.gt is not None:
            gt = textdist.normalize(spec.gt, casefold=spec.casefold)
            if status == "failed":
                d = textdist.failed_distance(gt)
            else:
                d = textdist.distance(textdist.normalize(to_text(doc), casefold=spec.casefold), gt)
            res.char_edits, res.gt_chars = d.char_edits, d.gt_chars
            res.word_edits, res.gt_words = d.word_edits, d.gt_words
            res.cer, res.wer = d.cer, d.wer
        results.append(res)
        if progress is not None:
            progress(res)
    return results


# --------------------------------------------------------------------------- table


@dataclass
class Row:
    label: str
    corpus: str
    group: str
    docs: int
    scored: int
    pages: int
    seconds: float
    failed: int
    cer: float | None
    wer: float | None
    median_cer: float | None

    @property
    def pages_per_s(self) -> float | None:
        return self.pages / self.seconds if self.seconds > 0 else None


def summarize(label: str, corpus: str, group: str, results: Sequence[DocResult]) -> Row:
    scored = [r for r in results if r.scored]
    cer = wer = med = None
    if scored:
        cer, wer = textdist.micro(r.distance for r in scored)
        med = statistics.median(r.distance.cer for r in scored)
    return Row(
        label=label,
        corpus=corpus,
        group=group,
        docs=len(results),
        scored=len(scored),
        pages=sum(r.pages for r in results),
        seconds=sum(r.seconds for r in results),
        failed=sum(r.failed for r in results),
        cer=cer,
        wer=wer,
        median_cer=med,
    )


_GROUP_ORDER = {"template": 0, "severity": 1, "degradation": 2, "kind": 3}
_SEVERITY_ORDER = {"clean": 0, "light": 1, "medium": 2, "heavy": 3, "none": -1}


def _group_key(group: str) -> tuple[int, int, str]:
    dim, _, value = group.partition("=")
    return _GROUP_ORDER.get(dim, 9), _SEVERITY_ORDER.get(value, 9), value


def build_rows(results: Sequence[DocResult]) -> list[Row]:
    """One row per corpus, then one per group of that corpus; an overall row if several."""
    rows: list[Row] = []
    corpora = [c for c in ("generated", "real") if any(r.corpus == c for r in results)]
    corpora += sorted({r.corpus for r in results} - set(corpora))
    for corpus in corpora:
        mine = [r for r in results if r.corpus == corpus]
        rows.append(summarize(corpus, corpus, "", mine))
        for group in sorted({g for r in mine for g in r.groups}, key=_group_key):
            members = [r for r in mine if group in r.groups]
            rows.append(summarize(f"  {group}", corpus, group, members))
    if len(corpora) > 1:
        rows.append(summarize("all", "all", "", results))
    return rows


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


COLUMNS = [
    "group",
    "docs",
    "w/ GT",
    "pages",
    "CER %",
    "WER %",
    "median CER %",
    "pages/s",
    "failed docs",
]


def row_cells(row: Row) -> list[str]:
    pps = row.pages_per_s
    return [
        row.label,
        str(row.docs),
        str(row.scored),
        str(row.pages),
        _pct(row.cer),
        _pct(row.wer),
        _pct(row.median_cer),
        "-" if pps is None else f"{pps:.2f}",
        str(row.failed),
    ]


def render_table(rows: Sequence[Row], title: str = "doorstep OCR benchmark") -> str:
    """The table as plain aligned text (what ``python -m benchmarks`` prints)."""
    cells = [COLUMNS] + [row_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]

    def fmt(c: list[str]) -> str:
        first = c[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(c[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(fmt(COLUMNS))
    lines = [title, rule, fmt(COLUMNS), rule]
    prev_corpus = None
    for r, c in zip(rows, cells[1:], strict=True):
        if prev_corpus is not None and r.corpus != prev_corpus:
            lines.append(rule)
        lines.append(fmt(c))
        prev_corpus = r.corpus
    lines.append(rule)
    return "\n".join(lines)


def failure_lines(results: Sequence[DocResult]) -> list[str]:
    out = []
    for r in results:
        if r.failed:
            errs = "; ".join(f"{e['code']}: {e['message']}" for e in r.errors) or "(no error)"
            out.append(f"  {r.corpus}/{r.file}: {errs}")
    return out


# --------------------------------------------------------------------------- cold CLI


def _one_page_text_pdf(pdf: Path) -> bool:
    import pymupdf

    try:
        with pymupdf.open(pdf) as doc:
            return bool(doc.page_count == 1 and doc[0].get_text().strip())
    except Exception:
        return False


def cli_probe_file() -> Path:
    """A one-page born-digital PDF: from fixtures/samples/ if any, else made in .bench/."""
    if SAMPLES.is_dir():
        for pdf in sorted(SAMPLES.rglob("*.pdf")):
            if _one_page_text_pdf(pdf):
                return pdf
    import pymupdf

    probe = ROOT / ".bench" / "cli_probe.pdf"
    if not probe.is_file():
        probe.parent.mkdir(parents=True, exist_ok=True)
        doc = pymupdf.open()
        page = doc.new_page()
        text = (
            "Quarterly report\n\n" + "The committee reviewed the annual budget and the "
            "supply contract with the regional office.\n" * 12
        )
        page.insert_textbox(pymupdf.Rect(72, 72, 540, 720), text, fontsize=11, fontname="helv")
        doc.save(probe)
        doc.close()
    return probe


def cold_cli(pdf: Path) -> dict[str, Any]:
    """Wall time of one fresh ``doorstep convert PDF --format text`` process."""
    exe = Path(sys.executable).parent / "doorstep"
    cmd = [str(exe) if exe.exists() else (shutil.which("doorstep") or "doorstep")]
    cmd += ["convert", str(pdf), "--format", "text"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    return {
        "file": str(pdf.relative_to(ROOT) if pdf.is_relative_to(ROOT) else pdf),
        "seconds": seconds,
        "exit_code": proc.returncode,
        "chars": len(proc.stdout),
        "target_s": CLI_TARGET_S,
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="OCR accuracy (CER/WER) and speed of doorstep on the generated and "
        "real corpora.",
    )
    p.add_argument("--corpus", choices=["generated", "real", "all"], default="all")
    p.add_argument(
        "--generated-dir",
        type=Path,
        default=DEFAULT_GENERATED,
        help="generated corpus (built here when absent; default .bench/generated)",
    )
    p.add_argument(
        "--real-dir",
        type=Path,
        default=DEFAULT_REAL,
        help="real corpus with MANIFEST.tsv (default ../shared/corpus/real)",
    )
    p.add_argument(
        "--pages",
        type=int,
        default=DEFAULT_PAGES,
        help="pages of the generated corpus when it is built (default 60)",
    )
    p.add_argument("--limit", type=int, default=None, help="at most N documents per corpus")
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        dest="json_out",
        help="also write rows and per-document results here",
    )
    p.add_argument("--no-cli", action="store_true", help="skip the cold CLI timing")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-document progress")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    specs: list[DocSpec] = []
    notes: list[str] = []
    if args.corpus in ("generated", "all"):
        gen = args.generated_dir.resolve()
        if build_generated(gen, pages=args.pages):
            found = load_generated(gen, limit=args.limit)
            specs += found
            notes.append(f"generated: {gen} ({len(found)} documents)")
        else:
            notes.append("generated: skipped (no corpus, no generator)")
    if args.corpus in ("real", "all"):
        real = args.real_dir.resolve()
        if (real / "MANIFEST.tsv").is_file():
            found = load_real(real, limit=args.limit)
            specs += found
            notes.append(f"real: {real} ({len(found)} documents)")
        else:
            print(f"note: real corpus not found at {real}; skipped")
            notes.append("real: skipped (absent)")
    if not specs:
        print("nothing to benchmark")
        return 1

    def progress(r: DocResult) -> None:
        if not args.quiet:
            cer = "" if r.cer is None else f" CER {100 * r.cer:5.1f}%"
            print(
                f"  {r.corpus}/{r.file}: {r.status}, {r.pages} p, {r.seconds:.2f}s{cer}",
                file=sys.stderr,
                flush=True,
            )

    results = run_docs(specs, progress=progress)
    rows = build_rows(results)
    print()
    print(render_table(rows))
    print("CER/WER micro-averaged over documents with GT (w/ GT); failed documents count 100 %.")
    print(
        "pages/s = pages / wall time of in-process sequential convert() (OMP_THREAD_LIMIT="
        f"{os.environ.get('OMP_THREAD_LIMIT', 'unset')})."
    )
    for n in notes:
        print(f"  {n}")
    failures = failure_lines(results)
    if failures:
        print(f"failed documents ({len(failures)}):")
        print("\n".join(failures))
    cli = None
    if not args.no_cli:
        cli = cold_cli(cli_probe_file())
        verdict = "ok" if cli["exit_code"] == 0 and cli["seconds"] < CLI_TARGET_S else "MISSED"
        print(
            f"cold CLI `doorstep convert {cli['file']} --format text`: {cli['seconds']:.2f} s "
            f"(exit {cli['exit_code']}; target < {CLI_TARGET_S:.0f} s: {verdict})"
        )
    if args.json_out is not None:
        payload = {
            "meta": {
                "python": platform.python_version(),
                "seed": SEED,
                "pages": args.pages,
                "corpus": args.corpus,
                "limit": args.limit,
                "notes": notes,
            },
            "rows": [asdict(r) | {"pages_per_s": r.pages_per_s} for r in rows],
            "documents": [asdict(r) for r in results],
            "cold_cli": cli,
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json_out}")
    return 0
