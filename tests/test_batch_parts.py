"""Batch ingestion parts without a flow: state store, isolated workers, report, prefect.yaml."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

from pipelines.config import PipelineConfig
from pipelines.isolation import Limits, convert_isolated, shutdown_workers
from pipelines.model import Status
from pipelines.outputs import DocResult
from pipelines.report import ReportData, RunInfo, render_html
from pipelines.state import open_state, plan_batch
from tests.imaging import render_text_page, text_pdf


def _age(path: Path, seconds: float = 60) -> None:
    """Make ``path`` look old enough for the hash cache to trust its mtime."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_hash_cache_reads_only_changed_files(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        (src / name).write_text(f"content of {name}\n")
        _age(src / name)
    out = tmp_path / "out"
    with open_state(out) as store:
        first = plan_batch(store, src, PipelineConfig())
        assert first.hashed == 2 and len(first.todo) == 2
        again = plan_batch(store, src, PipelineConfig())
        assert again.hashed == 0, "unchanged files must come from the hash cache"
        (src / "a.txt").write_text("new content of a.txt, a different size\n")
        _age(src / "a.txt", 30)
        third = plan_batch(store, src, PipelineConfig())
        assert third.hashed == 1
        assert [i.source for i in third.todo] == ["a.txt", "b.txt"]  # nothing recorded yet


def test_state_lock_refuses_a_second_writer(tmp_path: Path) -> None:
    from pipelines.errors import BatchLocked

    with open_state(tmp_path), pytest.raises(BatchLocked), open_state(tmp_path):
        pass
    with open_state(tmp_path):  # released again
        pass


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    Image.fromarray(render_text_page(dpi=200)).save(path)
    return path


@pytest.mark.tesseract
def test_isolated_worker_limits_are_typed_failures(scan: Path, tesseract: str) -> None:
    cfg = PipelineConfig()
    try:
        ok = convert_isolated(scan, "scan.png", cfg, Limits(timeout_s=120))
        assert ok.document.status is Status.OK, ok.document.errors
        assert ok.peak_rss_mb > 0

        slow = convert_isolated(scan, "scan.png", cfg, Limits(timeout_s=0.05))
        assert slow.document.status is Status.FAILED
        assert slow.document.errors[0].code == "TIMEOUT"

        fat = convert_isolated(scan, "scan.png", cfg, Limits(memory_mb=64))
        assert fat.document.status is Status.FAILED
        assert fat.document.errors[0].code == "RESOURCE_LIMIT"
        assert fat.document.errors[0].error_type == "ResourceLimitExceeded"

        again = convert_isolated(scan, "scan.png", cfg, Limits(timeout_s=120))
        assert again.document.status is Status.OK  # a fresh worker replaced the killed one
        assert again.document.model_dump_json() == ok.document.model_dump_json()
    finally:
        shutdown_workers()


def test_a_worker_stores_its_result_as_the_parent_would(tmp_path: Path) -> None:
    from pipelines.convert import convert
    from pipelines.outputs import doc_rows, write_document_files

    pdf = tmp_path / "in" / "r.pdf"
    pdf.parent.mkdir()
    text_pdf(str(pdf), pages=3)
    cfg = PipelineConfig()
    doc = convert(pdf, cfg, source_name="r.pdf")
    write_document_files(tmp_path / "parent", DocResult("r.pdf", doc, 0.0))
    try:
        stored = convert_isolated(pdf, "r.pdf", cfg, Limits(), outdir=tmp_path / "worker")
        unwritable = convert_isolated(pdf, "../r.pdf", cfg, Limits(), outdir=tmp_path / "worker")
    finally:
        shutdown_workers()

    def files(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())

    written = files(tmp_path / "worker")
    assert written == files(tmp_path / "parent") and len(written) == 3
    for rel in written:
        assert (tmp_path / "worker" / rel).read_bytes() == (tmp_path / "parent" / rel).read_bytes()
    assert stored.rows == doc_rows(doc) and len(stored.rows.chunks) == len(doc.chunks) > 0
    outline = stored.document
    assert outline.chunks == [] and all(p.blocks == [] for p in outline.pages)
    whole = [p.model_copy(update={"blocks": []}) for p in doc.pages]
    expected = doc.model_copy(update={"pages": whole, "chunks": []})
    assert outline.model_dump_json() == expected.model_dump_json()
    # a name the worker refuses to write: the whole document comes back for the parent
    assert unwritable.rows is None and len(unwritable.document.chunks) == len(doc.chunks)


def test_tree_rss_counts_the_children(tmp_path: Path) -> None:
    import subprocess
    import sys

    from pipelines.isolation import _tree_rss_mb

    alone = _tree_rss_mb(os.getpid())
    code = (
        "import sys; b = bytearray(200 * 2**20); sys.stdout.write('x'); sys.stdout.flush(); input()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None and child.stdout.read(1) == b"x"
        assert _tree_rss_mb(os.getpid()) > alone + 190
        assert 190 < _tree_rss_mb(child.pid) < 400
    finally:
        child.kill()
        child.wait()


def test_report_is_self_contained(tmp_path: Path, scan: Path) -> None:
    from pipelines.convert import convert

    pdf = tmp_path / "r.pdf"
    text_pdf(str(pdf), pages=2)
    data = ReportData()
    for path in (pdf, tmp_path / "missing.pdf"):
        doc = convert(path, PipelineConfig(), source_name=path.name)
        data.add(DocResult(path.name, doc, 0.5))
    html = render_html(data, RunInfo(str(tmp_path), 2, 0, ["gone.pdf"], 1.0), tmp_path)
    assert "<svg" in html and "data:image/jpeg;base64," in html
    assert "NOT_FOUND" in html and "gone.pdf" in html and "text_layer" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external resources"


def test_deploy_writes_a_valid_prefect_yaml(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    inbox, out, target = tmp_path / "inbox", tmp_path / "out", tmp_path / "prefect.yaml"
    inbox.mkdir()
    args = ["deploy", str(inbox), "-o", str(out), "--cron", "0 2 * * *", "--pool", "docs"]
    res = CliRunner().invoke(app, [*args, "--file", str(target), "--workers", "3"])
    assert res.exit_code == 0, res.output
    project = yaml.safe_load(target.read_text())
    assert {"name", "prefect-version", "pull", "deployments"} <= set(project)
    (dep,) = project["deployments"]
    assert dep["name"] == "doorstep-ingest" and dep["work_pool"]["name"] == "docs"
    assert dep["schedules"] == [{"cron": "0 2 * * *", "active": True}]
    assert dep["parameters"]["folder"] == str(inbox.resolve())
    assert dep["parameters"]["outdir"] == str(out.resolve())
    assert dep["parameters"]["workers"] == 3

    from prefect.flows import load_flow_from_entrypoint

    workdir = project["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    flow = load_flow_from_entrypoint(f"{workdir}/{dep['entrypoint']}")
    assert flow.name == "doorstep-ingest"
    assert set(dep["parameters"]) <= set(flow.parameters.properties)

    bad = CliRunner().invoke(app, [*args[:4], "--interval", "5", "--cron", "* * * * *"])
    assert bad.exit_code == 2
    bad = CliRunner().invoke(app, [*args[:4], "--cron", "not a cron"])
    assert bad.exit_code == 2


def test_workers_keep_large_arrays_off_the_heap() -> None:
    from pipelines.isolation import Worker, worker_env

    assert worker_env({})["MALLOC_MMAP_THRESHOLD_"] == "131072"
    assert worker_env({"MALLOC_MMAP_THRESHOLD_": "65536"})["MALLOC_MMAP_THRESHOLD_"] == "65536"
    worker = Worker()
    try:
        # Between fork and exec the child's environ reads empty, or as the parent's:
        # read it again until the exec has happened (the worker's own variables).
        want = b"MALLOC_MMAP_THRESHOLD_=131072"
        deadline = time.monotonic() + 10
        environ: list[bytes] = []
        while want not in environ and time.monotonic() < deadline:
            time.sleep(0.02)
            environ = Path(f"/proc/{worker.proc.pid}/environ").read_bytes().split(b"\0")
        assert want in environ
    finally:
        worker.close()


def test_atomic_write_syncs_the_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rename is durable only once its directory is synced: a power cut after the
    # state store recorded a document must not lose the document's file.
    import stat

    from pipelines.outputs import write_atomic

    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    target = tmp_path / "docs" / "a.md"
    write_atomic(target, "text\n")
    assert target.read_text() == "text\n"
    assert synced == ["file", "dir"]
    assert not list(target.parent.glob(".tmp-*"))

    # A document's three files are synced, then each of their two folders once.
    from pipelines.model import Document
    from pipelines.outputs import DocResult, write_document_files

    synced.clear()
    doc = Document(id="d", source="a.txt", sha256="0" * 64)
    write_document_files(tmp_path / "out", DocResult("a.txt", doc, 0.1))
    assert synced == ["file", "file", "file", "dir", "dir"]
