"""Kill a batch with SIGKILL at random points, rerun it, and check the result is whole.

    python -m benchmarks.kill_rerun [--trials 5] [--docs 10] [--seed 1]

A real Prefect server is started on loopback for the runs. A reference batch
runs uninterrupted; then each trial starts ``doorstep run`` on a fresh output
folder, kills its whole process group with SIGKILL after a random share of the
reference duration, reruns it to completion and compares: every input in the
manifest once (no duplicates), and chunks.jsonl, chunks.parquet, pages.parquet,
docs/ and documents/ byte-identical to the reference (manifest.csv identical
but for the measured ``seconds`` column). Prints a table; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pymupdf
from PIL import Image

IDENTICAL = ["chunks.jsonl", "chunks.parquet", "pages.parquet"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    home: Path, timeout_s: float = 180.0
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """A real ``prefect server start`` on a free loopback port with PREFECT_HOME=``home``;
    returns it and the environment that points clients at it (tests use it too)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the server has its own copy of the descriptor

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:  # loopback health check of the server started above, not a download
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, {**env, "PREFECT_API_URL": url}
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the Prefect server did not start: {(home / 'server.log').read_text()}")


def build_inputs(folder: Path, docs: int) -> None:
    folder.mkdir(parents=True)
    for i in range(docs):
        pdf = pymupdf.open()
        page = pdf.new_page(width=612, height=792)
        for k in range(8):
            page.insert_text(
                (72, 100 + 22 * k), f"Document {i} line {k}: the quick brown fox.", fontsize=12
            )
        pix = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
        arr = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width)
        Image.fromarray(arr).save(folder / f"scan{i:02d}.png", dpi=(150, 150))
        (folder / f"note{i:02d}.txt").write_text(f"NOTE {i}\n\nA plain note number {i}.\n")


def run(src: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "run",
            str(src),
            "-o",
            str(out),
            "--no-report",
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def manifest(out: Path) -> list[dict[str, str]]:
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r.pop("seconds", None)
    return rows


def tree(out: Path, sub: str) -> dict[str, bytes]:
    base = out / sub
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def compare(out: Path, ref: Path) -> list[str]:
    problems = [
        name for name in IDENTICAL if (out / name).read_bytes() != (ref / name).read_bytes()
    ]
    problems += [sub for sub in ("docs", "documents") if tree(out, sub) != tree(ref, sub)]
    rows = manifest(out)
    if rows != manifest(ref):
        problems.append("manifest")
    sources = [r["source"] for r in rows]
    if len(sources) != len(set(sources)):
        problems.append("duplicates")
    if list(out.rglob(".tmp-*")):
        problems.append("temp files left")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.kill_rerun")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--docs", type=int, default=10, help="scanned images (+ as many notes)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        (tmp / "home").mkdir()
        server, env = start_server(tmp / "home")
        try:
            src, ref = tmp / "in", tmp / "ref"
            build_inputs(src, args.docs)
            t0 = time.perf_counter()
            if run(src, ref, env).wait() != 0:
                print("the reference run failed")
                return 1
            total = time.perf_counter() - t0
            print(f"reference run: {2 * args.docs} files in {total:.1f} s")
            print(
                f"{'trial':>5} {'killed at s':>12} {'stored before kill':>19} "
                f"{'rerun s':>8}  result"
            )
            for trial in range(1, args.trials + 1):
                out = tmp / f"out{trial}"
                delay = rng.uniform(0.15, 0.95) * total
                proc = run(src, out, env)
                time.sleep(delay)
                finished = proc.poll() is not None
                if not finished:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                stored = len(list((out / "documents").rglob("*.json"))) if out.exists() else 0
                t1 = time.perf_counter()
                code = run(src, out, env).wait()
                rerun_s = time.perf_counter() - t1
                problems = compare(out, ref) if code == 0 else [f"rerun exit {code}"]
                failures += bool(problems)
                verdict = "complete, identical" if not problems else "FAIL: " + ", ".join(problems)
                if finished:
                    verdict += " (run had finished before the kill)"
                print(f"{trial:>5} {delay:>12.1f} {stored:>19} {rerun_s:>8.1f}  {verdict}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{args.trials - failures}/{args.trials} trials complete and byte-identical")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
