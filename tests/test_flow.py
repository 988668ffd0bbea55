"""The batch flow against a real Prefect server (started here, on loopback, for this module):
every file accounted for, incremental reruns, kill -9 recovery, Dask scale-out, `serve`."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from pipelines.config import BatchConfig, PipelineConfig
from tests.imaging import render_text_page, text_pdf

COMBINED = ("chunks.jsonl", "chunks.parquet", "pages.parquet")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real ``prefect server start`` on a free loopback port, PREFECT_HOME in tmp."""
    from benchmarks.kill_rerun import start_server

    home = tmp_path_factory.mktemp("prefect-home")
    try:
        proc, env = start_server(home, timeout_s=150)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    url = env["PREFECT_API_URL"]
    try:
        from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

        client_env = {**env, "PREFECT_LOGGING_LEVEL": "WARNING"}
        with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_HOME: str(home)}):
            yield client_env
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=10)  # before the server goes away
            EventsWorker.drain_all(timeout=10)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "sub dir").mkdir(parents=True)
    text_pdf(str(src / "report.pdf"), pages=2)
    (src / "sub dir" / "notes.txt").write_text("NOTES\n\nFirst paragraph of notes.\n")
    (src / "empty.pdf").write_bytes(b"")
    (src / "garbage.bin").write_bytes(b"\x00\x01\x02" * 100)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    return src


def _manifest(out: Path, drop_seconds: bool = False) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO((out / "manifest.csv").read_text())))
    if drop_seconds:
        for r in rows:
            r.pop("seconds")
    return rows


def _same_outputs(a: Path, b: Path) -> None:
    """Byte-identical combined and per-document outputs; manifest equal but for `seconds`."""
    for name in COMBINED:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _manifest(a, drop_seconds=True) == _manifest(b, drop_seconds=True)
    for sub in ("documents", "docs"):
        files_a = sorted(p.relative_to(a) for p in (a / sub).rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b) for p in (b / sub).rglob("*") if p.is_file())
        assert files_a == files_b
        for rel in files_a:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_batch_flow_accounts_for_every_file(tmp_path: Path, prefect_server: dict[str, str]) -> None:
    from pipelines.flows import run_batch

    src = _folder(tmp_path)
    out = tmp_path / "out"
    seen: list[str] = []
    summary = run_batch(
        src, out, PipelineConfig(), workers=2, progress=lambda r: seen.append(r.source)
    )
    sources = sorted(r.source for r in summary.results)
    assert sources == ["broken.pdf", "empty.pdf", "garbage.bin", "report.pdf", "sub dir/notes.txt"]
    assert sorted(seen) == sources

    rows = {r["source"]: r for r in _manifest(out)}
    assert set(rows) == set(sources)
    assert rows["report.pdf"]["status"] == "ok" and rows["report.pdf"]["pages"] == "2"
    assert rows["empty.pdf"]["status"] == "failed" and rows["empty.pdf"]["error_type"] == "EMPTY"
    assert rows["garbage.bin"]["error_type"] == "UNSUPPORTED"
    assert rows["broken.pdf"]["error_type"] == "CORRUPT"
    assert rows["sub dir/notes.txt"]["status"] == "ok"

    chunks = [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]
    assert {c["source"] for c in chunks} == {"report.pdf", "sub dir/notes.txt"}
    for key in ("chunk_id", "doc_id", "source", "text", "page_start", "page_end", "headings"):
        assert all(key in c for c in chunks), key
    frame = pd.read_parquet(out / "chunks.parquet")
    assert list(frame["chunk_id"]) == [c["chunk_id"] for c in chunks]
    pages = pd.read_parquet(out / "pages.parquet")
    assert {"doc_id", "source", "page", "method", "quality", "text"} <= set(pages.columns)
    assert sorted(pages[pages.source == "report.pdf"]["page"]) == [1, 2]
    assert set(pages[pages.source == "report.pdf"]["method"]) == {"text_layer"}
    assert (out / "docs" / "report.pdf.md").is_file()
    assert (out / "docs" / "sub dir" / "notes.txt.txt").read_text().startswith("NOTES")
    assert (out / "documents" / "report.pdf.json").is_file()
    report = (out / "report.html").read_text()
    assert "Lowest-quality pages" in report and "CORRUPT" in report
    assert not list(out.rglob(".tmp-*"))

    # The run report is also a Prefect artifact.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    assert {"doorstep-run-report", "doorstep-documents"} <= keys


def test_incremental_reruns(tmp_path: Path, prefect_server: dict[str, str]) -> None:
    from pipelines.flows import run_batch

    src = _folder(tmp_path)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    first = run_batch(src, out, PipelineConfig(), workers=2)
    assert len(first.converted) == 5
    before = {name: (out / name).read_bytes() for name in (*COMBINED, "manifest.csv")}

    again = run_batch(src, out, PipelineConfig(), workers=2)
    assert again.converted == [] and len(again.reused) == 5 and again.removed == []
    for name, data in before.items():  # manifest too: stored `seconds` are reused
        assert (out / name).read_bytes() == data, name

    (src / "sub dir" / "notes.txt").write_text("NOTES\n\nA changed paragraph of notes.\n")
    (src / "report.pdf").unlink()
    (src / "new.txt").write_text("NEW\n\nA new file arrived.\n")
    third = run_batch(src, out, PipelineConfig(), workers=2)
    assert sorted(third.converted) == ["new.txt", "sub dir/notes.txt"]
    assert third.removed == ["report.pdf"]
    assert "report.pdf" not in {r["source"] for r in _manifest(out)}
    assert not (out / "docs" / "report.pdf.md").exists()
    assert "changed paragraph" in (out / "chunks.jsonl").read_text()

    # A config change invalidates everything.
    from pipelines.config import CleanConfig

    changed = PipelineConfig(clean=CleanConfig(fix_quotes=False))
    fourth = run_batch(src, out, changed, workers=2)
    assert len(fourth.converted) == 5

    # Same folder, same config, from scratch: the same bytes.
    run_batch(src, fresh, changed, workers=1)
    _same_outputs(out, fresh)


def _scans(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        lines = [f"Scanned page number {i} of the batch.", "The quick brown fox jumps."]
        Image.fromarray(render_text_page(lines, dpi=150)).save(folder / f"scan{i:02d}.png")
    (folder / "note.txt").write_text("NOTE\n\nA plain note.\n")


@pytest.mark.tesseract
def test_kill_9_then_rerun_is_complete_and_identical(
    tmp_path: Path, prefect_server: dict[str, str], tesseract: str
) -> None:
    from pipelines.flows import run_batch

    src, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    _scans(src, 6)
    run_batch(src, ref, PipelineConfig(), workers=2)

    cmd = [sys.executable, "-m", "pipelines", "run", str(src), "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen(
        cmd,
        env=prefect_server,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = out / ".doorstep" / "state.sqlite"
    deadline = time.monotonic() + 120
    done = 0
    while done < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.is_file():
            try:
                with sqlite3.connect(db) as con:
                    done = con.execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                pass
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert done >= 2 and not (out / "manifest.csv").exists()

    res = subprocess.run([*cmd[:-2], "--workers", "2"], env=prefect_server, capture_output=True)
    assert res.returncode == 0, res.stderr.decode()
    _same_outputs(out, ref)
    sources = [r["source"] for r in _manifest(out)]
    assert sources == sorted(set(sources)) and len(sources) == 7
    assert not list(out.rglob(".tmp-*"))

    # Unchanged rerun: answered from the state store without Prefect, manifest unchanged.
    manifest = (out / "manifest.csv").read_bytes()
    res = subprocess.run(cmd, env=prefect_server, capture_output=True, text=True)
    assert res.returncode == 0 and "up to date" in res.stderr
    assert (out / "manifest.csv").read_bytes() == manifest


def test_dask_cluster_gives_the_same_outputs(
    tmp_path: Path, prefect_server: dict[str, str]
) -> None:
    from distributed import LocalCluster

    from pipelines.flows import run_batch

    src = _folder(tmp_path)
    local, dask = tmp_path / "local", tmp_path / "dask"
    run_batch(src, local, PipelineConfig(), workers=2)
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        summary = run_batch(
            src, dask, PipelineConfig(), batch=BatchConfig(dask_address=cluster.scheduler_address)
        )
    assert len(summary.results) == 5
    _same_outputs(local, dask)


def test_serve_ingests_dropped_files(tmp_path: Path, prefect_server: dict[str, str]) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    env = {**prefect_server, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    cmd = [sys.executable, "-m", "pipelines", "serve", str(inbox), "-o", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--interval", "2", "--workers", "1", "--name", f"test-{tmp_path.name}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
        start_new_session=True,
    )

    def wait_for(text: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            chunks = out / "chunks.jsonl"
            if chunks.is_file() and text in chunks.read_text():
                return
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        pytest.fail(f"{text!r} not ingested in time: {(tmp_path / 'serve.log').read_text()}")

    try:
        (inbox / "first.txt").write_text("FIRST\n\nThe first dropped document.\n")
        wait_for("first dropped document")
        (inbox / "second.txt").write_text("SECOND\n\nThe second dropped document.\n")
        wait_for("second dropped document")
        deadline = time.monotonic() + 30  # manifest.csv is written right after the chunks
        while [r["source"] for r in _manifest(out)] != ["first.txt", "second.txt"]:
            assert time.monotonic() < deadline, _manifest(out)
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_robustness_corpus_is_fully_accounted_for(
    tmp_path: Path, prefect_server: dict[str, str]
) -> None:
    """Every hostile input of fixtures/robust (plus symlink loops, newline names...) gets a
    manifest row with its expected status and error code; the batch goes on."""
    from fixtures.robust import build, make_filesystem_cases
    from pipelines.config import ExtractConfig, OcrMode
    from pipelines.flows import run_batch

    src, out = tmp_path / "robust", tmp_path / "out"
    expected = build(src)
    expected.pop("many_pages.pdf")  # 2,000 pages: covered by tests/test_robustness.py
    (src / "many_pages.pdf").unlink()
    fs_cases = make_filesystem_cases(src / "fs")
    expected.update({f"fs/{k}": v for k, v in fs_cases.items()})
    (src / "expected.json").unlink()
    cfg = PipelineConfig(extract=ExtractConfig(ocr=OcrMode.NEVER))
    summary = run_batch(src, out, cfg, workers=2)
    rows = {r["source"]: r for r in _manifest(out)}
    assert set(rows) == set(expected), set(rows) ^ set(expected)
    assert len(summary.results) == len(expected)
    for source, want in expected.items():
        got = (rows[source]["status"], rows[source]["error_type"] or None)
        assert got == (want["status"], want["error"]), source
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
