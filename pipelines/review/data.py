"""What the review page shows: documents of an output folder, as stored and as corrected.

This module owns reading ``OUTDIR`` for the review server (no Prefect, no HTTP):
the stored results ``documents/*.json`` (cached by file stamp), the same
documents with their corrections applied, the worst-first list of pages and
chunks with its filters, one page's detail (text, furniture, word boxes,
quality, chunks) and its image, rendered on demand from the source file
(PyMuPDF for PDFs, Pillow for images) at a modest resolution.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.combined import input_folder, stage_configs
from pipelines.corrections import CorrectionIndex, CorrectionStore, check_id
from pipelines.errors import DoorstepError, NotReviewable
from pipelines.model import Chunk, Document, Layer, Page, QualityScores
from pipelines.outputs import safe_join
from pipelines.stages.review import apply_corrections
from pipelines.state import STATE_DIR, StateStore

logger = logging.getLogger(__name__)

IMAGE_DPI = 100
MAX_IMAGE_SIDE = 1800
_IMAGE_KINDS = ("pdf", "image")
_RENDER_LOCK = threading.Lock()
"""MuPDF is not thread-safe: the server's threads render one page at a time."""


@dataclass(frozen=True)
class Entry:
    """One document of the output folder: as stored, and as shown (corrected)."""

    raw: Document
    shown: Document


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _quality(q: QualityScores) -> dict[str, Any]:
    return {"score": _num(q.score), "grade": str(q.grade), "reasons": [str(r) for r in q.reasons]}


def _sort_score(value: float) -> float:
    return -1.0 if math.isnan(value) else value  # unmeasured first: nothing vouches for it


class ReviewData:
    """The documents of one output folder, reloaded when their files change."""

    def __init__(self, outdir: Path) -> None:
        if not (outdir / STATE_DIR / "state.sqlite").is_file():
            raise NotReviewable(
                f"{outdir} is not the output folder of a doorstep run",
                hint="Run `doorstep run FOLDER -o OUTDIR` first, then review OUTDIR.",
            )
        self.outdir = outdir
        self.store = CorrectionStore(outdir)
        self._lock = threading.Lock()
        self._raw: dict[Path, tuple[tuple[int, int], Document]] = {}
        self._shown: tuple[tuple[object, ...], dict[str, Entry]] | None = None

    def _state(self) -> StateStore:
        return StateStore(self.outdir)

    def _load_raw(self) -> list[Document]:
        docs = []
        seen = set()
        for path in sorted((self.outdir / "documents").rglob("*.json")):
            if path.name.startswith(".tmp-"):
                continue
            seen.add(path)
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            cached = self._raw.get(path)
            if cached is None or cached[0] != stamp:
                try:
                    cached = (stamp, Document.model_validate_json(path.read_bytes()))
                except ValueError as exc:
                    logger.warning("skipping unreadable result %s: %s", path, exc)
                    continue
                self._raw[path] = cached
            docs.append(cached[1])
        for gone in set(self._raw) - seen:
            del self._raw[gone]
        return docs

    def entries(self) -> dict[str, Entry]:
        """doc id → entry, with the current corrections applied."""
        with self._lock:
            raw = self._load_raw()
            key = (tuple((d.id, d.sha256) for d in raw), self.store.digest(), len(self._raw))
            if self._shown is not None and self._shown[0] == key:
                return self._shown[1]
            state = self._state()
            try:
                chunk_cfg, quality_cfg = stage_configs(state)
            finally:
                state.close()
            index = CorrectionIndex.load(self.outdir)
            entries = {}
            for doc in raw:
                found, stale = index.lookup(doc)
                shown = apply_corrections(
                    doc, found, stale=stale, chunk_cfg=chunk_cfg, quality_cfg=quality_cfg
                )
                entries[doc.id] = Entry(doc, shown)
            self._shown = (key, entries)
            return entries

    def entry(self, doc_id: str) -> Entry:
        found = self.entries().get(check_id(doc_id))
        if found is None:
            raise NotReviewable(f"no document {doc_id} in {self.outdir}")
        return found

    # ------------------------------------------------------------------ listing

    def items(
        self, grade: str = "", reason: str = "", source: str = "", kind: str = ""
    ) -> dict[str, Any]:
        """Pages and chunks, worst first, filtered; plus the values each filter can take."""
        rows: list[dict[str, Any]] = []
        for e in self.entries().values():
            doc = e.shown
            for p in doc.pages:
                rows.append(self._row(doc, "page", p.number, p.quality, p.review, p.body_text()))
            for c in doc.chunks:
                row = self._row(doc, "chunk", c.page_start, c.quality, c.review, c.text)
                row["chunk_id"] = c.id
                rows.append(row)
        facets = {
            "grades": sorted({r["grade"] for r in rows}),
            "reasons": sorted({x for r in rows for x in r["reasons"]}),
            "sources": sorted({r["source"] for r in rows}),
        }
        chosen = [
            r
            for r in rows
            if (not grade or r["grade"] == grade)
            and (not reason or reason in r["reasons"])
            and (not source or r["source"] == source)
            and (not kind or r["kind"] == kind)
        ]
        chosen.sort(key=lambda r: (r["sort"], r["source"], r["page"], r["kind"] != "page"))
        for r in chosen:
            del r["sort"]
        return {"items": chosen, "facets": facets, "total": len(rows)}

    @staticmethod
    def _row(
        doc: Document, kind: str, page: int, q: QualityScores, review: Any, text: str
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "doc_id": doc.id,
            "source": doc.source,
            "page": page,
            **_quality(q),
            "sort": _sort_score(q.score),
            "review": str(review.status) if review else None,
            "corrections": str(doc.corrections),
            "preview": " ".join(text.split())[:160],
        }

    # ------------------------------------------------------------------ one page

    @staticmethod
    def _page(doc: Document, number: int) -> Page:
        found = next((p for p in doc.pages if p.number == number), None)
        if found is None:
            raise NotReviewable(f"{doc.source} has no page {number}")
        return found

    def page(self, doc_id: str, number: int) -> dict[str, Any]:
        """Everything the page view shows for page ``number`` of a document."""
        e = self.entry(doc_id)
        raw, shown = self._page(e.raw, number), self._page(e.shown, number)
        found, stale = CorrectionIndex.load(self.outdir).lookup(e.raw)
        return {
            "doc_id": e.raw.id,
            "source": e.raw.source,
            "sha256": e.raw.sha256,
            "kind": e.raw.kind,
            "page": number,
            "pages": [p.number for p in e.raw.pages],
            "unit": raw.unit,
            "width": raw.width,
            "height": raw.height,
            "method": str(raw.method),
            "method_reason": raw.method_reason,
            "quality": _quality(shown.quality),
            "measured_quality": _quality(raw.quality),
            "review": str(shown.review.status) if shown.review else None,
            "corrections": str(e.shown.corrections),
            "stale_text": (p.text if stale and found and (p := found.page(number)) else None),
            "text": shown.body_text(),
            "original_text": raw.body_text(),
            "furniture": [  # furniture, and notes (suspected handwriting): not in chunks
                {"text": b.text, "type": str(b.type) if b.layer is Layer.FURNITURE else "notes"}
                for b in raw.blocks
                if b.layer is not Layer.BODY and b.text
            ],
            "boxes": _boxes(raw),
            "chunks": [_chunk(c) for c in e.shown.chunks if c.page_start <= number <= c.page_end],
            "has_image": e.raw.kind in _IMAGE_KINDS,
        }

    def image(self, doc_id: str, number: int) -> bytes:
        """A PNG of the page, rendered from the source file."""
        e = self.entry(doc_id)
        self._page(e.raw, number)
        if e.raw.kind not in _IMAGE_KINDS:
            raise NotReviewable(f"{e.raw.source} ({e.raw.kind}) has no page images")
        state = self._state()
        try:
            folder = input_folder(state)
        finally:
            state.close()
        if folder is None:
            raise NotReviewable("the input folder of the last run is not recorded")
        try:
            path = safe_join(folder, e.raw.source)
        except DoorstepError as exc:
            raise NotReviewable(exc.message) from None
        if not path.is_file():
            raise NotReviewable(f"the source file {e.raw.source} is gone")
        try:
            with _RENDER_LOCK:
                return _render(path, e.raw.kind, number)
        except Exception as exc:  # a library error on a bad file: 404, never a dead server
            logger.debug("cannot render %s page %d", path, number, exc_info=True)
            raise NotReviewable(f"cannot render page {number} of {e.raw.source}: {exc}") from None


def _boxes(page: Page) -> list[dict[str, Any]]:
    """Word boxes (OCR, with confidence) or, without words, block boxes, in page units."""
    out: list[dict[str, Any]] = []
    for b in page.blocks:
        layer = str(b.layer)
        if b.words:
            for w in b.words:
                box = w.bbox
                out.append(
                    {
                        "box": [box.x0, box.y0, box.x1, box.y1],
                        "text": w.text,
                        "confidence": _num(w.confidence),
                        "layer": layer,
                    }
                )
        elif b.bbox is not None:
            box = b.bbox
            out.append(
                {
                    "box": [box.x0, box.y0, box.x1, box.y1],
                    "text": b.text[:80],
                    "confidence": None,
                    "layer": layer,
                }
            )
    return out


def _chunk(c: Chunk) -> dict[str, Any]:
    return {
        "id": c.id,
        "index": c.index,
        "text": c.text,
        "review": str(c.review.status) if c.review else None,
        **_quality(c.quality),
    }


def _render(path: Path, kind: str, number: int) -> bytes:
    if kind == "pdf":
        import pymupdf

        with pymupdf.open(path) as pdf:
            if not 1 <= number <= pdf.page_count:
                raise ValueError(f"no page {number}")
            page = pdf.load_page(number - 1)
            longest = max(page.rect.width, page.rect.height) or 1.0
            dpi = min(IMAGE_DPI, int(MAX_IMAGE_SIDE * 72 / longest)) or 1
            return bytes(page.get_pixmap(dpi=dpi).tobytes("png"))
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        for i, frame in enumerate(ImageSequence.Iterator(im), start=1):
            if i == number:
                picture = frame.convert("RGB")
                picture.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
                buf = io.BytesIO()
                picture.save(buf, format="PNG")
                return buf.getvalue()
    raise ValueError(f"no frame {number}")
