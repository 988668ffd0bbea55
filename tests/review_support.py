"""Shared helpers of the review tests: an output folder made without Prefect, a live server."""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.combined import rebuild, remember_input_folder
from pipelines.config import PipelineConfig
from pipelines.convert import convert
from pipelines.outputs import DocResult, write_document_files
from pipelines.review import ReviewServer, make_server
from pipelines.state import open_state

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "samples"


def make_outdir(tmp_path: Path, names: tuple[str, ...] = ("memo.docx", "notice.html")) -> Path:
    """Convert samples and write an output folder as ``doorstep run`` does (no Prefect)."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    cfg = PipelineConfig()
    with open_state(out) as store:
        for name in names:
            shutil.copy(SAMPLES / name, src / name)
            doc = convert(src / name, cfg, source_name=name)
            write_document_files(out, DocResult(name, doc, 0.0))
            store.record(doc, 0.0)
        remember_input_folder(store, src)
        rebuild(
            out,
            store,
            sorted(names),
            chunk_cfg=cfg.chunk,
            quality_cfg=cfg.quality,
            min_quality=None,
        )
    return out


@contextlib.contextmanager
def serving(outdir: Path) -> Iterator[tuple[ReviewServer, str]]:
    """A real review server on a free loopback port, in a thread."""
    server = make_server(outdir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(
    url: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, parsed JSON body) of a GET, or of a POST when ``body`` is given."""
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def chunk_rows(outdir: Path, name: str = "chunks.jsonl") -> list[dict[str, Any]]:
    path = outdir / name
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
