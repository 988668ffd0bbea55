"""The run report: ``OUTDIR/report.html`` and the text of the Prefect artifacts.

No Prefect here (:mod:`pipelines.flows` turns :func:`markdown_summary` and
:func:`table_rows` into artifacts). :class:`ReportData` is filled one document
at a time while the combined outputs are rebuilt, so it holds numbers, never
whole documents. The HTML is self-contained: inline CSS, charts as inline SVG,
page thumbnails as base64 JPEG (a bounded number, rendered small).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.model import Status
from pipelines.outputs import DocResult, write_atomic

logger = logging.getLogger(__name__)

_BINS = 10
_THUMB_PX = 220


@dataclass(frozen=True)
class PageStat:
    source: str
    page: int
    method: str
    score: float
    grade: str
    reasons: str


@dataclass(frozen=True)
class DocStat:
    source: str
    kind: str
    status: str
    pages: int
    seconds: float
    quality: float
    error: str


@dataclass
class RunInfo:
    folder: str
    converted: int
    reused: int
    removed: list[str]
    seconds: float


@dataclass
class ReportData:
    """Numbers about every current document, collected as results stream past."""

    docs: list[DocStat] = field(default_factory=list)
    pages: list[PageStat] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, result: DocResult) -> None:
        doc = result.document
        first = doc.errors[0].code if doc.errors else ""
        self.docs.append(
            DocStat(
                result.source,
                doc.kind,
                str(doc.status),
                len(doc.pages),
                result.seconds,
                doc.quality.score,
                first,
            )
        )
        if doc.status is Status.FAILED:
            self.failures[first or "UNKNOWN"] += 1
        for p in doc.pages:
            if p.error is not None and doc.status is not Status.FAILED:
                self.failures[f"{p.error.code} (page)"] += 1
            self.pages.append(
                PageStat(
                    result.source,
                    p.number,
                    str(p.method),
                    p.quality.score,
                    str(p.quality.grade),
                    ", ".join(str(r) for r in p.quality.reasons),
                )
            )

    def status_counts(self) -> dict[str, int]:
        counts = Counter(d.status for d in self.docs)
        return {str(s): counts.get(str(s), 0) for s in Status}

    def methods(self) -> dict[str, int]:
        return dict(sorted(Counter(p.method for p in self.pages).items()))

    def slowest(self, n: int = 10) -> list[DocStat]:
        return sorted(self.docs, key=lambda d: (-d.seconds, d.source))[:n]

    def lowest_pages(self, n: int) -> list[PageStat]:
        scored = [p for p in self.pages if not math.isnan(p.score)]
        return sorted(scored, key=lambda p: (p.score, p.source, p.page))[:n]

    def histogram(self) -> list[int]:
        counts = [0] * _BINS
        for p in self.pages:
            if not math.isnan(p.score):
                counts[min(_BINS - 1, int(p.score * _BINS))] += 1
        return counts


# --------------------------------------------------------------------------- artifacts


def markdown_summary(data: ReportData, info: RunInfo) -> str:
    counts = data.status_counts()
    lines = [
        "# doorstep run",
        "",
        f"Folder `{info.folder}`: **{len(data.docs)}** documents, **{len(data.pages)}** pages "
        f"in {info.seconds:.1f} s.",
        "",
        "| converted | unchanged | removed | ok | partial | failed |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {info.converted} | {info.reused} | {len(info.removed)} | {counts['ok']} "
        f"| {counts['partial']} | {counts['failed']} |",
        "",
        "## Pages by method",
        "",
        "| method | pages |",
        "|---|---:|",
        *[f"| {m} | {n} |" for m, n in data.methods().items()],
    ]
    if data.failures:
        lines += ["", "## Failures", "", "| error | count |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(data.failures.items())]
    if info.removed:
        lines += ["", "## Removed since last run", ""] + [f"- `{s}`" for s in info.removed]
    return "\n".join(lines) + "\n"


def table_rows(data: ReportData, n: int = 20) -> list[dict[str, str | int | float]]:
    """The slowest documents, as rows for a Prefect table artifact."""
    return [
        {
            "source": d.source,
            "status": d.status,
            "pages": d.pages,
            "seconds": round(d.seconds, 3),
            "quality": "" if math.isnan(d.quality) else round(d.quality, 4),
            "error": d.error,
        }
        for d in data.slowest(n)
    ]


# --------------------------------------------------------------------------- thumbnails


def thumbnail(path: Path, page: int, px: int = _THUMB_PX) -> str | None:
    """A small JPEG of one page as a data URI, or None if it cannot be rendered."""
    from PIL import Image

    try:
        if path.suffix.lower() == ".pdf":
            import pymupdf

            with pymupdf.open(str(path)) as pdf:
                pg = pdf[page - 1]
                zoom = px / max(pg.rect.width, pg.rect.height, 1.0)
                pix = pg.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY)
                img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        else:
            with Image.open(path) as src:
                src.seek(page - 1)
                src.thumbnail((px, px))
                img = src.convert("L")
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=70)
    except Exception as exc:  # a thumbnail is decoration; never fail the report
        logger.debug("no thumbnail for %s page %d: %s", path, page, exc)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- html

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee}
th{text-align:left;background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{background:#f6f6f6;padding:.6em 1em;border-radius:6px}
.card b{display:block;font-size:1.4em}.thumbs{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;width:230px}figure img{border:1px solid #ccc;max-width:220px}
figcaption{font-size:12px;color:#555}.failed{color:#b00}
"""


def _bar_svg(labels: list[str], values: list[int], width: int = 520, height: int = 180) -> str:
    if not values:
        return "<p>No data.</p>"
    top = max(max(values), 1)
    n = len(values)
    slot = width / n
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (height - 40) * value / top
        x = i * slot + 4
        y = height - 20 - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 8:.1f}" height="{h:.1f}" '
            f'fill="#4a7bb7"><title>{html.escape(label)}: {value}</title></rect>'
            f'<text x="{x + (slot - 8) / 2:.1f}" y="{y - 3:.1f}" font-size="11" '
            f'text-anchor="middle">{value}</text>'
            f'<text x="{x + (slot - 8) / 2:.1f}" y="{height - 5}" font-size="10" '
            f'text-anchor="middle">{html.escape(label)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img">{"".join(bars)}</svg>'
    )


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{html.escape(c)}</td>' if i in numeric else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"


def render_html(data: ReportData, info: RunInfo, folder: Path, thumbnails: int = 12) -> str:
    counts = data.status_counts()
    cards = [
        ("documents", len(data.docs)),
        ("pages", len(data.pages)),
        ("converted", info.converted),
        ("unchanged", info.reused),
        ("removed", len(info.removed)),
        ("ok", counts["ok"]),
        ("partial", counts["partial"]),
        ("failed", counts["failed"]),
    ]
    hist = data.histogram()
    hist_labels = [f"{i / _BINS:.1f}" for i in range(_BINS)]
    methods = data.methods()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>doorstep report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>doorstep run report</h1>",
        f"<p>Folder <code>{html.escape(info.folder)}</code>; run took {info.seconds:.1f} s.</p>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{v}</b>{html.escape(k)}</div>' for k, v in cards)
        + "</div>",
        "<h2>Page quality distribution</h2>",
        _bar_svg(hist_labels, hist),
        "<h2>Pages by extraction method</h2>",
        _bar_svg(list(methods), list(methods.values()), width=max(160, 130 * len(methods))),
        "<h2>Slowest documents</h2>",
        _table(
            ["source", "kind", "status", "pages", "seconds", "quality"],
            [
                [d.source, d.kind, d.status, str(d.pages), f"{d.seconds:.2f}", _fmt(d.quality)]
                for d in data.slowest(10)
            ],
            {3, 4, 5},
        ),
        "<h2>Failures by type</h2>",
        _table(["error", "count"], [[k, str(v)] for k, v in sorted(data.failures.items())], {1})
        if data.failures
        else "<p>None.</p>",
    ]
    failed = [d for d in data.docs if d.status == "failed"]
    if failed:
        parts.append(_table(["source", "error"], [[d.source, d.error] for d in failed[:50]], set()))
    if info.removed:
        parts.append("<h2>Removed since last run</h2><ul>")
        parts += [f"<li><code>{html.escape(s)}</code></li>" for s in info.removed]
        parts.append("</ul>")
    parts.append("<h2>Lowest-quality pages</h2>")
    low = data.lowest_pages(thumbnails)
    if not low:
        parts.append("<p>No scored pages.</p>")
    parts.append('<div class="thumbs">')
    for p in low:
        uri = thumbnail(folder / p.source, p.page)
        img = f'<img src="{uri}" alt="page thumbnail">' if uri else "<p>(no preview)</p>"
        parts.append(
            f"<figure>{img}<figcaption><b>{html.escape(p.source)}</b> p.{p.page} — "
            f"{p.score:.3f} ({html.escape(p.grade)}, {html.escape(p.method)})"
            f"<br>{html.escape(p.reasons)}</figcaption></figure>"
        )
    parts.append("</div></body></html>\n")
    return "\n".join(parts)


def write_report(
    outdir: Path, folder: Path, data: ReportData, info: RunInfo, thumbnails: int = 12
) -> Path:
    target = outdir / "report.html"
    write_atomic(target, render_html(data, info, folder, thumbnails))
    return target
