"""OCR quality: raw Tesseract against doorstep, on the same pages, in the same run.

Usage::

    python -m benchmarks.ocr_quality [--generated DIR] [--real DIR] [--limit N]
                                     [--corpus generated|real|both] [--jobs N]

For every scanned document with ground truth it measures

* **raw** Tesseract: each page rendered at 300 dpi (PDF) or decoded as is (images),
  ``pytesseract.image_to_string(img)`` with default settings;
* **doorstep**: ``convert`` with the default config, then the text of every block of
  every page (body and furniture, so running headers count for both systems; not
  the notes layer, which doorstep never emits as text).

Both are scored against the same ground truth (:mod:`benchmarks.textdist`):
normalised alike, and for the generated corpus the GT lines that the sidecar marks
as broken only to fit (``hyphen`` with ``compound`` false) are joined, as doorstep
joins them. Receipts are compared case-insensitively. The table gives micro-averaged
CER and WER per degradation kind (a document counts in each of its kinds), per
severity, per real-corpus kind and overall, and seconds per page for both systems.

The generated corpus is built first when it is missing
(``python -m fixtures.generate --out .bench/generated --seed 7 --pages 60``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import textdist

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GENERATED = ROOT / ".bench" / "generated"
DEFAULT_REAL = ROOT.parent / "shared" / "corpus" / "real"
RAW_DPI = 300
SCANNED_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}


@dataclass
class Spec:
    corpus: str
    path: Path
    gt: str
    groups: list[str]
    casefold: bool = False


@dataclass
class Result:
    spec: Spec
    pages: int
    raw: textdist.Distance
    door: textdist.Distance
    raw_s: float
    door_s: float
    raw_cpu: float = 0.0
    door_cpu: float = 0.0
    notes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    """Per OCR'd page: which reading won, and how many readings were made."""


# --------------------------------------------------------------------------- corpora


def _sidecar_lines(side: dict[str, Any]) -> list[dict[str, Any]]:
    return [ln for page in side.get("pages", []) for ln in page.get("lines", [])]


def load_generated(root: Path) -> list[Spec]:
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    specs = []
    for entry in index["documents"]:
        path = root / entry["file"]
        gt = (root / entry["gt"]).read_text(encoding="utf-8")
        side = json.loads((root / entry["sidecar"]).read_text(encoding="utf-8"))
        breaks = textdist.hyphen_breaks_from_lines(gt, _sidecar_lines(side))
        gt = textdist.join_marked_hyphens(gt, breaks)
        kinds = sorted({k for page in entry["page_degradations"] for k in page})
        groups = [f"kind={k}" for k in kinds] or ["kind=clean"]
        groups.append(f"severity={entry['severity']}")
        specs.append(Spec("generated", path, gt, groups))
    return sorted(specs, key=lambda s: s.path.name)


def load_real(root: Path) -> list[Spec]:
    specs = []
    with (root / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = root / row["file"]
            gt_path = path.with_suffix(".txt")
            if row.get("has_gt") != "yes" or not gt_path.is_file():
                continue
            if path.suffix.lower() not in SCANNED_SUFFIXES or row["file"].endswith("password.pdf"):
                continue
            kind = row["kind"]
            gt = gt_path.read_text(encoding="utf-8")
            specs.append(Spec("real", path, gt, [f"real={kind}"], casefold=kind == "receipt"))
    return sorted(specs, key=lambda s: s.path.name)


def build_generated(out: Path) -> None:
    from fixtures.generate import ensure_corpus

    ensure_corpus(out, 7, 60)


# --------------------------------------------------------------------------- systems


def raw_pages(path: Path) -> Iterator[Any]:
    """PIL images of every page, as a user of plain Tesseract would make them."""
    from PIL import Image, ImageSequence

    if path.suffix.lower() == ".pdf":
        import pymupdf

        with pymupdf.open(path) as doc:
            for page in doc:
                pix = page.get_pixmap(dpi=RAW_DPI)
                yield Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        return
    with Image.open(path) as im:
        for frame in ImageSequence.Iterator(im):
            yield frame.convert("RGB") if frame.mode not in ("L", "RGB") else frame.copy()


def raw_tesseract(path: Path) -> tuple[str, int]:
    import pytesseract

    texts = [pytesseract.image_to_string(img) for img in raw_pages(path)]
    return "\f".join(texts), len(texts)


def doorstep_text(path: Path) -> tuple[str, int, list[str], list[str]]:
    from pipelines.config import PipelineConfig
    from pipelines.convert import convert

    doc = convert(path, PipelineConfig())
    notes = [f"{e.code}: {e.message}" for e in doc.errors]
    from pipelines.model import Layer

    # Body and furniture, as printed; the notes layer (handwriting, unreadable
    # marks) is never emitted as text, so it is not scored as text either.
    pages = [
        "\n\n".join(b.text for b in p.blocks if b.text and b.layer is not Layer.NOTES)
        for p in doc.pages
    ]
    paths = [
        f"{p.image.ocr_path} ({p.image.ocr_attempts})"
        for p in doc.pages
        if p.image is not None and p.image.ocr_path
    ]
    return "\f".join(pages), len(doc.pages), notes, paths


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (tesseract runs), user + system.

    Unlike wall time it hardly moves when other work loads the machine, so the
    doorstep / raw ratio stays comparable between runs.
    """
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_one(spec: Spec) -> Result:
    from pipelines.offline import ensure_offline_env

    ensure_offline_env()  # OMP_THREAD_LIMIT=1 for both systems
    t0, c0 = time.perf_counter(), cpu_seconds()
    raw, n_raw = raw_tesseract(spec.path)
    t1, c1 = time.perf_counter(), cpu_seconds()
    door, n_door, notes, paths = doorstep_text(spec.path)
    t2, c2 = time.perf_counter(), cpu_seconds()
    cf = spec.casefold
    return Result(
        spec=spec,
        pages=max(n_raw, n_door, 1),
        raw=textdist.score(raw, spec.gt, casefold=cf),
        door=textdist.score(door, spec.gt, casefold=cf),
        raw_s=t1 - t0,
        door_s=t2 - t1,
        raw_cpu=c1 - c0,
        door_cpu=c2 - c1,
        notes=notes,
        paths=paths,
    )


# --------------------------------------------------------------------------- table


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def table(results: Sequence[Result]) -> str:
    groups: dict[str, list[Result]] = {}
    for r in results:
        for g in r.spec.groups:
            groups.setdefault(g, []).append(r)
        groups.setdefault(f"ALL {r.spec.corpus}", []).append(r)

    def order(name: str) -> tuple[int, str]:
        rank = {"kind": 0, "severity": 1, "ALL generated": 2, "real": 3, "ALL real": 4}
        return rank.get(name.split("=")[0], 5), name

    head = (
        f"{'group':<24} {'docs':>4} {'pages':>5} | {'raw CER':>7} {'raw WER':>7} {'s/page':>6}"
        f" {'cpu/pg':>6} | {'ds CER':>7} {'ds WER':>7} {'s/page':>6} {'cpu/pg':>6}"
        f" | {'cpu ds/raw':>10}"
    )
    lines = [head, "-" * len(head)]
    for name in sorted(groups, key=order):
        rs = groups[name]
        pages = sum(r.pages for r in rs)
        rc, rw = textdist.micro(r.raw for r in rs)
        dc, dw = textdist.micro(r.door for r in rs)
        raw_cpu = sum(r.raw_cpu for r in rs)
        door_cpu = sum(r.door_cpu for r in rs)
        lines.append(
            f"{name:<24} {len(rs):>4} {pages:>5} | {_pct(rc):>7} {_pct(rw):>7}"
            f" {sum(r.raw_s for r in rs) / pages:>6.2f} {raw_cpu / pages:>6.2f}"
            f" | {_pct(dc):>7} {_pct(dw):>7}"
            f" {sum(r.door_s for r in rs) / pages:>6.2f} {door_cpu / pages:>6.2f}"
            f" | {door_cpu / raw_cpu if raw_cpu else float('nan'):>9.2f}x"
        )
    lines.append(
        "targets: generated CER <= 0.5x raw; real CER <= 0.8x raw; clean pages <= raw + 0.5"
        " points; time per scanned page <= 1.3x raw (cpu ds/raw: CPU seconds, load-proof)"
    )
    return "\n".join(lines)


def per_document(results: Sequence[Result]) -> str:
    lines = []
    for r in sorted(results, key=lambda r: r.door.cer - r.raw.cer):
        note = f"  [{'; '.join(r.notes)}]" if r.notes else ""
        note += f"  ocr: {', '.join(r.paths)}" if r.paths else ""
        lines.append(
            f"  {r.spec.path.name:<46} raw {_pct(r.raw.cer)}  doorstep {_pct(r.door.cer)}"
            f"  ({r.raw_s / r.pages:.1f}s / {r.door_s / r.pages:.1f}s per page,"
            f" cpu {r.raw_cpu / r.pages:.1f}s / {r.door_cpu / r.pages:.1f}s){note}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ocr_quality", description=__doc__)
    p.add_argument("--generated", type=Path, default=DEFAULT_GENERATED)
    p.add_argument("--real", type=Path, default=DEFAULT_REAL)
    p.add_argument("--corpus", choices=["generated", "real", "both"], default="both")
    p.add_argument("--limit", type=int, default=None, help="documents per corpus (spread out)")
    p.add_argument("--only", default="", help="only documents whose name contains this")
    p.add_argument("--jobs", type=int, default=1, help="documents in parallel (skews s/page)")
    p.add_argument("--details", action="store_true", help="print per-document CER")
    return p.parse_args(argv)


def _spread(specs: list[Spec], limit: int | None) -> list[Spec]:
    if limit is None or limit >= len(specs):
        return specs
    step = len(specs) / limit
    return [specs[int(i * step)] for i in range(limit)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    specs: list[Spec] = []
    if args.corpus in ("generated", "both"):
        build_generated(args.generated)
        specs += _spread(load_generated(args.generated), args.limit)
    if args.corpus in ("real", "both"):
        if (args.real / "MANIFEST.tsv").is_file():
            specs += _spread(load_real(args.real), args.limit)
        else:
            print(f"note: {args.real} is absent; real corpus skipped")
    specs = [s for s in specs if args.only in s.path.name]
    if not specs:
        print("nothing to run")
        return 1
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            results = list(ex.map(run_one, specs))
    else:
        results = [run_one(s) for s in specs]
    print(
        f"OCR quality: raw Tesseract vs doorstep ({len(specs)} documents, "
        f"{time.perf_counter() - t0:.0f}s, jobs={args.jobs})"
    )
    print(table(results))
    if args.details:
        print("per document (CER; sorted by doorstep - raw):")
        print(per_document(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
