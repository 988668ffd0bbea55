"""The incremental-batch state store: ``OUTDIR/.doorstep/state.sqlite`` (no Prefect here).

It owns three things:

- a hash cache ``(path, size, mtime_ns, inode) → sha256``, so a rerun stats
  every file but reads only the ones that changed;
- one row per converted document, keyed by ``sha256 + config hash + pipeline
  version``, pointing at its stored result ``OUTDIR/documents/<source>.json``
  and keeping the measured ``seconds`` (so a rerun writes the same manifest) and
  its outline (status, errors, quality, pages without blocks: so an unchanged
  rerun summarises every document without parsing its stored result);
- the list of sources that disappeared, and a fingerprint of the last
  combined outputs written, so an unchanged rerun can skip all work.

Planning (:func:`plan_batch`) compares the input folder with the store and
says which files to convert, which stored results to reuse and which sources
were removed. An exclusive ``flock`` on ``OUTDIR/.doorstep/lock`` keeps two
runs from writing the same folder; it is released by the kernel if a run is
killed. Rows are written only after the result file is on disk, so a run
killed at any point leaves a store that a rerun can trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from extractors.detect import sha256_file
from pipelines import __version__
from pipelines.config import PipelineConfig
from pipelines.errors import BatchLocked, StateError
from pipelines.model import Document, Status
from pipelines.outputs import outline

logger = logging.getLogger(__name__)

STATE_DIR = ".doorstep"
COMBINED_FILES = ("chunks.jsonl", "chunks.parquet", "pages.parquet", "manifest.csv")
_RACY_NS = 2_000_000_000
"""A file modified this recently when it was hashed is hashed again next time."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, sha256 TEXT
);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY, sha256 TEXT, config_hash TEXT, pipeline_version TEXT,
    status TEXT, final INTEGER, seconds REAL, pages INTEGER, chunks INTEGER,
    quality REAL, error_code TEXT, inline_json TEXT, updated REAL, outline_json TEXT
);
CREATE TABLE IF NOT EXISTS removed (
    source TEXT PRIMARY KEY, sha256 TEXT, removed_at REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

RETRY_NEXT_RUN = frozenset({"RESOURCE_LIMIT", "TIMEOUT", "WORKER_CRASHED", "TRANSIENT_IO"})
"""Failures that may not happen again: their results are written but not reused."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    source: str
    sha256: str


@dataclass(frozen=True)
class StoredOutline:
    """What a summary needs of a stored document without reading its result file:
    its :func:`pipelines.outputs.outline` as JSON, its seconds and its chunk count."""

    json: str
    seconds: float
    chunks: int


@dataclass
class Plan:
    """What a run has to do."""

    todo: list[InputFile] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    hashed: int = 0
    """Files whose bytes were read (the hash cache missed)."""

    @property
    def has_work(self) -> bool:
        return bool(self.todo or self.removed)


def list_inputs(folder: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """Every file under ``folder`` (sorted; symlinked folders not followed), with
    its path relative to ``folder``. ``exclude`` (the output folder) is skipped."""
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, str]] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if excluded is None or (root_path / d).resolve() != excluded
        )
        for name in sorted(files):
            path = root_path / name
            found.append((path, path.relative_to(folder).as_posix()))
    return found


class StateStore:
    """The SQLite store of one output folder. Use :func:`open_state`."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.dir = outdir / STATE_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.dir / "state.sqlite", isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(documents)")}
            if "outline_json" not in columns:  # a store written before outlines were kept
                self.db.execute("ALTER TABLE documents ADD COLUMN outline_json TEXT")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot open the state store in {self.dir}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ hashing

    def file_sha256(self, path: Path) -> tuple[str, bool]:
        """The file's sha256 and whether it had to be read (cache miss)."""
        st = path.stat()
        key = str(path.resolve())
        row = self.db.execute(
            "SELECT size, mtime_ns, inode, sha256 FROM file_hashes WHERE path = ?", (key,)
        ).fetchone()
        if row is not None and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return str(row[3]), False
        sha = sha256_file(path)
        if time.time_ns() - st.st_mtime_ns > _RACY_NS:  # else it may change within the tick
            self.db.execute(
                "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?, ?)",
                (key, st.st_size, st.st_mtime_ns, st.st_ino, sha),
            )
        return sha, True

    # ------------------------------------------------------------------ documents

    def stored(self) -> dict[str, tuple[str, str, str, bool]]:
        """source → (sha256, config_hash, pipeline_version, final)."""
        rows = self.db.execute(
            "SELECT source, sha256, config_hash, pipeline_version, final FROM documents"
        )
        return {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in rows}

    def record(
        self,
        doc: Document,
        seconds: float,
        *,
        input_sha256: str = "",
        inline: bool = False,
        chunks: int | None = None,
    ) -> None:
        """Remember a converted document (its result file must already be written).

        It is keyed by the hash of the bytes it was converted from: the document's own
        when it has one, else ``input_sha256`` (from planning; e.g. for empty files).
        ``chunks`` is its chunk count when ``doc`` is an outline (see ``DocResult``)."""
        failed = doc.status in (Status.FAILED, Status.SKIPPED)
        code = doc.errors[0].code if doc.errors and failed else ""
        final = code not in RETRY_NEXT_RUN
        quality = None if doc.quality.score != doc.quality.score else doc.quality.score
        self.db.execute(
            "INSERT OR REPLACE INTO documents (source, sha256, config_hash, pipeline_version, "
            "status, final, seconds, pages, chunks, quality, error_code, inline_json, updated, "
            "outline_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.source,
                doc.sha256 or input_sha256,
                doc.config_hash,
                doc.pipeline_version,
                str(doc.status),
                int(final),
                seconds,
                len(doc.pages),
                len(doc.chunks) if chunks is None else chunks,
                quality,
                code,
                doc.model_dump_json() if inline else None,
                time.time(),
                outline(doc).model_dump_json(),
            ),
        )
        self.db.execute("DELETE FROM removed WHERE source = ?", (doc.source,))

    def seconds(self, source: str) -> float:
        row = self.db.execute("SELECT seconds FROM documents WHERE source = ?", (source,))
        found = row.fetchone()
        return float(found[0]) if found else 0.0

    def outlines(self, sources: list[str]) -> dict[str, StoredOutline]:
        """The stored outline, seconds and chunk count of each of ``sources`` that has
        an outline (one query; a store written before outlines were kept has none)."""
        wanted = set(sources)
        return {
            r[0]: StoredOutline(r[1], float(r[2]), int(r[3]))
            for r in self.db.execute(
                "SELECT source, outline_json, seconds, chunks FROM documents "
                "WHERE outline_json IS NOT NULL"
            )
            if r[0] in wanted
        }

    def inline_json(self, source: str) -> str | None:
        row = self.db.execute("SELECT inline_json FROM documents WHERE source = ?", (source,))
        found = row.fetchone()
        return None if found is None else found[0]

    def forget(self, source: str) -> None:
        """``source`` disappeared from the input folder."""
        row = self.db.execute("SELECT sha256 FROM documents WHERE source = ?", (source,))
        found = row.fetchone()
        self.db.execute("DELETE FROM documents WHERE source = ?", (source,))
        self.db.execute(
            "INSERT OR REPLACE INTO removed VALUES (?, ?, ?)",
            (source, found[0] if found else "", time.time()),
        )

    def removed_sources(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT source FROM removed ORDER BY source")]

    # ------------------------------------------------------------------ combined outputs

    def fingerprint(self, sources: list[str], routing: str = "") -> str:
        """Digest of everything the combined outputs are built from (``routing``: the
        quality gate, which decides which chunks go to review.jsonl)."""
        rows = {
            r[0]: r
            for r in self.db.execute(
                "SELECT source, sha256, config_hash, pipeline_version, status, seconds "
                "FROM documents"
            )
        }
        payload = json.dumps([routing, *[list(rows.get(s, (s,))) for s in sources]])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def combined_fingerprint(self) -> str | None:
        return self.meta("combined")

    def set_combined_fingerprint(self, value: str) -> None:
        self.set_meta("combined", value)

    def current_sha256(self) -> dict[str, str]:
        """source → sha256 of every current document."""
        return {r[0]: r[1] for r in self.db.execute("SELECT source, sha256 FROM documents")}

    def combined_current(self, sources: list[str], routing: str = "") -> bool:
        files_ok = all((self.outdir / name).is_file() for name in COMBINED_FILES)
        return files_ok and self.combined_fingerprint() == self.fingerprint(sources, routing)


def result_checker(outdir: Path) -> Callable[[str], bool]:
    """Whether the stored result file of a source exists."""
    from pipelines.errors import OutputError
    from pipelines.outputs import result_path

    def check(source: str) -> bool:
        try:
            return result_path(outdir, source).is_file()
        except OutputError:
            return False

    return check


def reusable(stored: tuple[str, str, str, bool] | None, sha256: str, cfg: PipelineConfig) -> bool:
    if stored is None:
        return False
    sha, config_hash, version, final = stored
    return final and (sha, config_hash, version) == (sha256, cfg.config_hash(), __version__)


def plan_batch(
    store: StateStore,
    folder: Path,
    cfg: PipelineConfig,
    result_exists: Callable[[str], bool] | None = None,
) -> Plan:
    """Compare ``folder`` with the store: what to convert, reuse and forget."""
    plan = Plan()
    stored = store.stored()
    seen: set[str] = set()
    store.db.execute("BEGIN")
    try:
        for path, source in list_inputs(folder, exclude=store.outdir):
            seen.add(source)
            plan.sources.append(source)
            try:
                sha, read = store.file_sha256(path)
            except OSError as exc:  # vanished or unreadable: let convert() record why
                logger.debug("cannot hash %s: %s", path, exc)
                sha, read = "", False
            plan.hashed += int(read)
            has_result = result_exists is None or result_exists(source)
            if sha and reusable(stored.get(source), sha, cfg) and has_result:
                plan.reused.append(source)
            else:
                plan.todo.append(InputFile(path, source, sha))
        store.db.execute("COMMIT")
    except BaseException:
        store.db.execute("ROLLBACK")
        raise
    plan.removed = sorted(set(stored) - seen)
    return plan


@contextlib.contextmanager
def open_state(outdir: Path) -> Iterator[StateStore]:
    """The locked state store of ``outdir``; raises :class:`BatchLocked` if in use."""
    (outdir / STATE_DIR).mkdir(parents=True, exist_ok=True)
    lock = (outdir / STATE_DIR / "lock").open("a+")
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchLocked(f"{outdir} is being written by another doorstep run") from None
        store = StateStore(outdir)
        try:
            yield store
        finally:
            store.close()
    finally:
        lock.close()


def remove_stale_temp_files(outdir: Path) -> int:
    """Delete ``.tmp-*`` files a killed run left behind (call with the lock held)."""
    count = 0
    for tmp in outdir.rglob(".tmp-*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            count += 1
    return count
