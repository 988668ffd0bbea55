"""Human corrections as data: the store in ``OUTDIR/corrections/`` and applying it.

This module owns

- the typed correction records (:class:`DocCorrections`: one small JSON file per
  document, ``corrections/<sha256>.json``, keyed by the source's sha256 and by
  page; chunk verdicts keyed by chunk id);
- :class:`CorrectionStore`: atomic, locked writes (temporary file + ``os.replace``
  under a thread lock and an ``flock``), so concurrent saves never tear a file and
  the last save wins; file names are only ever validated sha256 hex digests, so
  no input can name a path outside ``OUTDIR``;
- :class:`CorrectionIndex`: which stored corrections apply to a document, and
  which are stale. Applying them is the pure stage
  :func:`pipelines.stages.review.apply_corrections`.

A correction made for another sha256 of the same source is *stale*: it is kept,
never applied, and the document says so (``Document.corrections``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.errors import InvalidCorrection
from pipelines.model import (
    Document,
    ReviewStatus,
)
from pipelines.outputs import write_atomic

logger = logging.getLogger(__name__)

CORRECTIONS_DIR = "corrections"
MAX_TEXT_CHARS = 1_000_000
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_TMP_PREFIX = ".corr-tmp-"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageCorrection(_Record):
    """A verdict on one page; ``text`` (corrected only) replaces its body text."""

    page: int = Field(ge=1, le=1_000_000)
    status: ReviewStatus
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)

    @model_validator(mode="after")
    def _text_iff_corrected(self) -> PageCorrection:
        if (self.status is ReviewStatus.CORRECTED) != (self.text is not None):
            raise ValueError("'text' is required for status 'corrected' and only for it")
        return self


class ChunkVerdict(_Record):
    """Approved or rejected, for one chunk id."""

    chunk_id: str = Field(pattern=_ID_RE.pattern)
    status: ReviewStatus

    @model_validator(mode="after")
    def _not_corrected(self) -> ChunkVerdict:
        if self.status is ReviewStatus.CORRECTED:
            raise ValueError("a chunk is approved or rejected; correct the text of its page")
        return self


class DocCorrections(_Record):
    """The content of one ``corrections/<sha256>.json``."""

    version: int = 1
    sha256: str = Field(pattern=_SHA256_RE.pattern)
    source: str = Field(description="The source path when the corrections were made.")
    doc_id: str = Field(pattern=_ID_RE.pattern)
    pages: list[PageCorrection] = Field(default_factory=list)
    chunks: list[ChunkVerdict] = Field(default_factory=list)

    def page(self, number: int) -> PageCorrection | None:
        return next((p for p in self.pages if p.page == number), None)


class PageEdit(_Record):
    """The body of ``POST /api/corrections/<doc>/page/<n>``; ``status`` null clears."""

    status: ReviewStatus | None
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class ChunkEdit(_Record):
    """The body of ``POST /api/corrections/<doc>/chunk/<id>``; ``status`` null clears."""

    status: ReviewStatus | None


_Edit = TypeVar("_Edit", PageEdit, ChunkEdit)


def parse_edit(model: type[_Edit], raw: bytes) -> _Edit:
    """Validate a JSON request body, or raise :class:`InvalidCorrection` saying why."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise InvalidCorrection(f"invalid {where}: {first['msg']}") from None


def check_id(value: str, what: str = "document id") -> str:
    """``value`` if it is a 16-hex-digit id (so it can never be a path), else raise."""
    if not _ID_RE.fullmatch(value):
        raise InvalidCorrection(f"invalid {what}: {value[:80]!r}")
    return value


# --------------------------------------------------------------------------- store


class CorrectionStore:
    """``OUTDIR/corrections/``: one JSON file per source sha256, written atomically."""

    _thread_lock = threading.Lock()

    def __init__(self, outdir: Path) -> None:
        self.dir = outdir / CORRECTIONS_DIR

    def path_for(self, sha256: str) -> Path:
        if not _SHA256_RE.fullmatch(sha256):
            raise InvalidCorrection(f"invalid document sha256: {sha256[:80]!r}")
        return self.dir / f"{sha256}.json"

    def load(self, sha256: str) -> DocCorrections | None:
        path = self.path_for(sha256)
        try:
            return DocCorrections.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValidationError as exc:
            logger.warning("ignoring malformed corrections file %s: %s", path, exc)
            return None

    def all(self) -> list[DocCorrections]:
        """Every valid corrections file, by file name; malformed ones are logged."""
        found = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            if _SHA256_RE.fullmatch(path.stem) and (loaded := self.load(path.stem)):
                found.append(loaded)
        return found

    def digest(self) -> str:
        """Digest of every corrections file: part of the combined outputs' fingerprint."""
        h = hashlib.sha256()
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()[:16]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: threads of this process, then other processes."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, (self.dir / ".lock").open("a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write(self, record: DocCorrections) -> None:
        path = self.path_for(record.sha256)
        if not record.pages and not record.chunks:
            path.unlink(missing_ok=True)
            return
        write_atomic(path, record.model_dump_json(indent=2) + "\n", tmp_prefix=_TMP_PREFIX)

    def _update(
        self,
        doc: Document,
        pages: dict[int, PageCorrection | None] | None = None,
        chunks: dict[str, ChunkVerdict | None] | None = None,
    ) -> DocCorrections:
        with self._locked():
            old = self.load(doc.sha256)
            by_page = {p.page: p for p in (old.pages if old else [])}
            by_chunk = {c.chunk_id: c for c in (old.chunks if old else [])}
            _merge(by_page, pages or {})
            _merge(by_chunk, chunks or {})
            record = DocCorrections(
                sha256=doc.sha256,
                source=doc.source,
                doc_id=doc.id,
                pages=[by_page[n] for n in sorted(by_page)],
                chunks=[by_chunk[c] for c in sorted(by_chunk)],
            )
            self._write(record)
            logger.info("saved corrections of %s (%s)", doc.source, doc.sha256[:12])
            return record

    def save_page(self, doc: Document, page: int, edit: PageEdit) -> DocCorrections:
        """Store (or with ``status`` null, clear) the verdict on one page of ``doc``."""
        if not any(p.number == page for p in doc.pages):
            raise InvalidCorrection(f"{doc.source} has no page {page}")
        if edit.status is None:
            return self._update(doc, pages={page: None})
        try:
            value = PageCorrection(page=page, status=edit.status, text=edit.text)
        except ValidationError as exc:
            raise InvalidCorrection(exc.errors()[0]["msg"]) from None
        return self._update(doc, pages={page: value})

    def save_chunk(self, doc: Document, chunk_id: str, edit: ChunkEdit) -> DocCorrections:
        """Store (or clear) the verdict on one chunk; ``doc`` is as shown (corrected)."""
        check_id(chunk_id, "chunk id")
        if not any(c.id == chunk_id for c in doc.chunks):
            raise InvalidCorrection(f"{doc.source} has no chunk {chunk_id}")
        if edit.status is None:
            return self._update(doc, chunks={chunk_id: None})
        try:
            value = ChunkVerdict(chunk_id=chunk_id, status=edit.status)
        except ValidationError as exc:
            raise InvalidCorrection(exc.errors()[0]["msg"]) from None
        return self._update(doc, chunks={chunk_id: value})


_K = TypeVar("_K")
_V = TypeVar("_V")


def _merge(target: dict[_K, _V], changes: dict[_K, _V | None]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


@dataclass(frozen=True)
class CorrectionIndex:
    """Every stored correction, by sha256 and by source: what applies to a document."""

    by_sha256: dict[str, DocCorrections] = field(default_factory=dict)
    by_source: dict[str, DocCorrections] = field(default_factory=dict)

    @classmethod
    def load(cls, outdir: Path) -> CorrectionIndex:
        records = CorrectionStore(outdir).all()
        return cls({r.sha256: r for r in records}, {r.source: r for r in records})

    def lookup(self, doc: Document) -> tuple[DocCorrections | None, bool]:
        """The corrections of ``doc`` and whether they are stale (made on other bytes)."""
        if doc.sha256 and (found := self.by_sha256.get(doc.sha256)) is not None:
            return found, False
        stale = self.by_source.get(doc.source)
        return stale, stale is not None


def correction_summary(outdir: Path, current: dict[str, str]) -> tuple[list[str], list[str]]:
    """Sources (given ``source -> sha256``) whose corrections apply, and stale ones."""
    index = CorrectionIndex.load(outdir)
    applied, stale = [], []
    for source, sha in sorted(current.items()):
        if sha in index.by_sha256:
            applied.append(source)
        elif source in index.by_source:
            stale.append(source)
    return applied, stale


def dumps(record: DocCorrections) -> str:
    """Compact JSON of a record (API responses)."""
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False)
