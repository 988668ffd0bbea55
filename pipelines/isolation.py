"""Convert documents in isolated, recycled worker processes (no Prefect here).

Each worker is a long-lived child process (``python -m pipelines.isolation``)
that converts one document at a time, talking to its parent over
stdin/stdout with length-prefixed pickles. The parent enforces the limits:

- a per-document wall-clock timeout (the worker's whole process group,
  tesseract included, is killed: :class:`DocumentTimeout`);
- a memory cap on the RSS of the worker and its children, sampled while it
  works (over the cap → killed: :class:`ResourceLimitExceeded`; a
  ``MemoryError`` inside the worker is reported the same way);
- a crash (the pipe closes) is :class:`WorkerCrashed`, which is transient and
  retried a bounded number of times, as are OS errors (:class:`TransientIOError`).

Given an output folder, a worker also stores its result there (the per-document
files, atomically: :func:`pipelines.outputs.store_document`) and sends back only
the document's outline and its rows of the combined outputs: the parent, which
handles every worker's results, then neither unpickles the blocks nor writes
and fsyncs the files. The parent records the result in the state store only
after that, so a run killed at any point still leaves a store a rerun can trust.

A killed or failed worker is never reused; a fresh one is started on demand.
Workers are pooled per process, so the same code works in the flow process
(thread task runner) and inside Dask worker processes. Children exit when
their stdin closes, so they never outlive the process that started them.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipelines.config import BatchConfig, PipelineConfig
from pipelines.errors import (
    DocumentTimeout,
    DoorstepError,
    ResourceLimitExceeded,
    TransientError,
    TransientIOError,
    WorkerCrashed,
    to_record,
)
from pipelines.model import Document, Status, stable_id
from pipelines.outputs import DocResult, DocRows

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
_SAMPLE_S = 0.1


@dataclass(frozen=True)
class Limits:
    """The per-document limits a worker runs under (picklable, sent to Dask workers)."""

    timeout_s: float = 900.0
    memory_mb: int = 1536
    retries: int = 1
    recycle_after: int = 200

    @classmethod
    def from_batch(cls, batch: BatchConfig) -> Limits:
        return cls(batch.timeout_s, batch.memory_mb, batch.retries, batch.recycle_after)


@dataclass(frozen=True)
class Outcome:
    """What one conversion produced: the document, its conversion time, the worker's peak
    RSS; with ``rows``, the worker stored the result and ``document`` is its outline."""

    document: Document
    seconds: float
    peak_rss_mb: float
    rows: DocRows | None = None


# --------------------------------------------------------------------------- framing


def _send(stream: IO[bytes], obj: object) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)  # not header + payload: a second copy of a whole document
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("worker pipe closed")
        buf += chunk
    return bytes(buf)


def _recv(stream: IO[bytes]) -> Any:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))


# --------------------------------------------------------------------------- parent side


_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _proc_tree_rss(pid: int) -> int | None:
    """RSS bytes of ``pid`` and its descendants from ``/proc`` (children lists of every
    thread), or None where the kernel has no ``children`` files. Much cheaper than
    psutil's ``children()``, which reads every process of the machine. A descendant
    still running the worker's own command line has not exec'd tesseract yet and
    shares the worker's memory: it is not counted (see :func:`_tree_rss_mb`)."""
    total = 0
    own = _cmdline(pid)
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if p == pid or _cmdline(p) != own:
                with open(f"/proc/{p}/statm", "rb") as fh:
                    total += int(fh.read().split()[1]) * _PAGE_BYTES
            tasks = os.listdir(f"/proc/{p}/task")
        except (OSError, IndexError, ValueError):
            continue  # it has just exited
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children", "rb") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except FileNotFoundError:
                if not os.path.exists(f"/proc/{p}/task/{tid}"):
                    continue  # the thread has just exited
                return None
            except OSError:
                continue
    return total


def _tree_rss_mb(pid: int) -> float:
    """RSS of the worker and its children, each page counted once.

    A child that has not exec'd yet (tesseract being started: ``vfork`` shares the
    worker's memory, ``fork`` shares it copy-on-write) shows the worker's own RSS
    and the worker's command line; it is not counted, or a sample taken in that
    instant would count the worker twice.
    """
    found = _proc_tree_rss(pid)
    if found is not None:
        return found / 2**20
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        own_cmdline = proc.cmdline()
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if p is not proc and p.cmdline() == own_cmdline:
                continue
            total += p.memory_info().rss
    return total / 2**20


_MALLOC_MMAP_THRESHOLD = "131072"


def worker_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a worker process.

    glibc raises its mmap threshold after each large block is freed, so page
    images (tens of MB, one after another) end up on the heap, which fragments
    and keeps growing with document length. A fixed threshold keeps every large
    array in its own mapping, returned to the system when freed: measured peak
    RSS of one worker on a 60-page scan, 806 MB → 582 MB. A user's own setting wins.
    """
    env = dict(base)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", _MALLOC_MMAP_THRESHOLD)
    return env


class Worker:
    """One isolated child process converting documents on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.isolation"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # its own process group: a kill takes tesseract too
            env=worker_env(os.environ),
        )
        self.done = 0

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """Ask politely (close stdin), then kill."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()

    def convert(
        self,
        path: Path,
        source: str,
        cfg: PipelineConfig,
        limits: Limits,
        outdir: Path | None = None,
    ) -> Outcome:
        """Convert one document under ``limits`` (storing it in ``outdir`` when given);
        raises a :class:`WorkerError` on a breach."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = (str(path), source, cfg, None if outdir is None else str(outdir))
        try:
            _send(self.proc.stdin, request)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed(f"worker exited before taking {source!r}: {exc}") from exc
        deadline = time.monotonic() + limits.timeout_s
        peak = 0.0
        fd = self.proc.stdout.fileno()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DocumentTimeout(
                    f"conversion took longer than {limits.timeout_s:g} s; the worker was stopped"
                )
            ready, _w, _x = select.select([fd], [], [], min(_SAMPLE_S, remaining))
            if ready:
                break
            peak = max(peak, _tree_rss_mb(self.proc.pid))
            if peak > limits.memory_mb:
                raise ResourceLimitExceeded(
                    f"worker memory {peak:.0f} MB went over the {limits.memory_mb} MB cap; "
                    "the worker was recycled"
                )
        try:
            reply = _recv(self.proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            code = self.proc.poll()
            raise WorkerCrashed(
                f"worker died while converting (exit status {code}): {exc}"
            ) from exc
        self.done += 1
        kind, value, seconds, child_peak = reply
        peak = max(peak, child_peak)
        if kind == "memory":
            raise ResourceLimitExceeded(f"worker ran out of memory: {value}")
        if kind == "error":
            raise WorkerCrashed(f"worker failed: {value}")
        if isinstance(value, DocResult):
            return Outcome(value.document, seconds, peak, value.rows)
        return Outcome(document=value, seconds=seconds, peak_rss_mb=peak)


class _Pool:
    """Idle workers of this process; grows to the number of concurrent callers."""

    def __init__(self) -> None:
        self.idle: list[Worker] = []
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def acquire(self) -> Worker:
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.proc.poll() is None:
                    return worker
                worker.kill()
        return Worker()

    def release(self, worker: Worker, limits: Limits) -> None:
        if worker.done >= limits.recycle_after or worker.proc.poll() is not None:
            worker.close()
            return
        with self.lock:
            self.idle.append(worker)

    def shutdown(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.close()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():  # fresh after a fork
            _pool = _Pool()
        return _pool


def shutdown_workers() -> None:
    """Stop this process's idle workers (also runs at interpreter exit)."""
    if _pool is not None and _pool.pid == os.getpid():
        _pool.shutdown()


atexit.register(shutdown_workers)


def prewarm(n: int) -> None:
    """Start ``n`` workers now so their imports overlap with planning."""
    pool = _get_pool()
    started = [Worker() for _ in range(max(0, n - len(pool.idle)))]
    with pool.lock:
        pool.idle.extend(started)


def _failed(source: str, sha256: str, exc: BaseException) -> Document:
    return Document(
        id=stable_id("failed", source),
        source=source,
        sha256=sha256,
        status=Status.FAILED,
        errors=[to_record(exc)],
    )


def convert_isolated(
    path: Path,
    source: str,
    cfg: PipelineConfig,
    limits: Limits,
    sha256: str = "",
    outdir: Path | None = None,
) -> Outcome:
    """Convert one file in a pooled worker; never raises.

    With ``outdir``, the worker stores the result there and the outcome holds its
    outline and rows (unless the worker could not write it: then the whole document).

    Transient failures are retried up to ``limits.retries`` times; the final
    failure, and every limit breach, becomes a failed document with a typed record.
    """
    pool = _get_pool()
    attempt = 0
    start = time.perf_counter()
    while True:
        worker: Worker | None = None
        try:
            worker = pool.acquire()
            outcome = worker.convert(path, source, cfg, limits, outdir)
            pool.release(worker, limits)
            return outcome
        except DoorstepError as exc:
            if worker is not None:
                worker.kill()
            error: DoorstepError = exc
        except OSError as exc:  # spawning or talking to the worker
            if worker is not None:
                worker.kill()
            error = TransientIOError(f"{type(exc).__name__}: {exc}")
        if isinstance(error, TransientError) and attempt < limits.retries:
            attempt += 1
            logger.warning("retrying %s after %s (attempt %d)", source, error.code, attempt + 1)
            time.sleep(min(2.0, 0.2 * 2**attempt))
            continue
        logger.warning("%s failed: %s: %s", source, error.code, error.message)
        return Outcome(_failed(source, sha256, error), time.perf_counter() - start, 0.0)


# --------------------------------------------------------------------------- child side


def _peak_rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return float(max(own, kids))


def _store(outdir: Path, source: str, doc: Document, seconds: float, parent: int) -> Any:
    """The stored result's outline and rows, or ``doc`` when it cannot be stored here
    (the parent then writes it, or records why it cannot)."""
    from pipelines.errors import OutputError
    from pipelines.outputs import store_document

    if os.getppid() != parent:  # the run was killed: its OUTDIR is no longer ours
        raise SystemExit(0)
    try:
        return store_document(outdir, DocResult(source, doc, seconds))
    except (OutputError, OSError) as exc:
        logger.debug("cannot store %s in the worker: %s", source, exc)
        return doc


def _worker_gc() -> None:
    """Cyclic garbage collection fitted to a worker: what is loaded by now (modules,
    schemas, tables) lives as long as the process, so it is frozen out of the
    collector's full passes.

    Young passes keep Python's threshold: a reference cycle may hold a page image
    (a frame kept by a caught exception), and with young passes only every 20,000
    new objects the peak RSS of a 20-page scanned PDF rose from 307 to 430 MB."""
    import gc

    gc.collect()
    gc.freeze()


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    from pipelines.convert import convert

    _worker_gc()
    parent = os.getppid()
    while True:
        try:
            path, source, cfg, outdir = _recv(inp)
        except EOFError:
            return
        start = time.perf_counter()
        try:
            doc = convert(Path(path), cfg, source_name=source)
            seconds = time.perf_counter() - start
            value = doc if outdir is None else _store(Path(outdir), source, doc, seconds, parent)
            reply: tuple[str, Any, float, float] = ("ok", value, seconds, _peak_rss_mb())
        except MemoryError as exc:
            _send(out, ("memory", str(exc) or "MemoryError", 0.0, _peak_rss_mb()))
            return  # a process that ran out of memory is not trusted again
        except Exception as exc:  # convert() never raises; this is a bug, record it
            reply = ("error", f"{type(exc).__name__}: {exc}", 0.0, _peak_rss_mb())
        _send(out, reply)


def single_threaded() -> None:
    """One thread per worker in numerical libraries (parallelism is one worker per core).

    OpenCV is made single-threaded, as ``cv2.setNumThreads(1)`` would make it, by
    its environment setting: a worker that only reads text layers then never imports
    cv2 and numpy (a fifth of a second of its start-up)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ["OPENCV_FOR_THREADS_NUM"] = "1"


def main() -> None:
    """Child entry point: the protocol owns fd 1, so stray prints go to stderr."""
    from pipelines.offline import ensure_offline_env

    ensure_offline_env()
    single_threaded()
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    _serve(sys.stdin.buffer, proto_out)


if __name__ == "__main__":
    main()
