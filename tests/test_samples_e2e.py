"""End to end on the committed samples: `doorstep convert --format text` against ground truth.

Every file kind in fixtures/samples/ is converted through the real CLI (a
subprocess, as users run it) and compared to its ground truth by character
error rate. Bounds are measured values plus a margin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from benchmarks.textdist import body_gt_from_sidecar, cer
from fixtures.generate import GROUNDTRUTH_DIR
from tests.conftest import SAMPLES

CER_BOUNDS = {
    "born_digital_report.pdf": 0.01,
    "scanned_letter.pdf": 0.02,
    "scanned_report.pdf": 0.03,
    "fax_memo.png": 0.04,
    "rotated_invoice.tif": 0.12,
    "memo.docx": 0.01,
    "notice.html": 0.02,
}


def expected_body(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    sidecar = GROUNDTRUTH_DIR / f"{stem}.json"
    if sidecar.is_file():
        return body_gt_from_sidecar(json.loads(sidecar.read_text(encoding="utf-8")))
    return (GROUNDTRUTH_DIR / f"{stem}.txt").read_text(encoding="utf-8")


def test_every_sample_has_a_bound() -> None:
    assert sorted(p.name for p in SAMPLES.iterdir()) == sorted(CER_BOUNDS)


@pytest.mark.parametrize("name", sorted(CER_BOUNDS))
def test_convert_sample_text_matches_ground_truth(name: str, tesseract: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pipelines", "convert", str(SAMPLES / name), "--format", "text"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    got = res.stdout
    want = expected_body(name)
    assert got.count("\f") == want.count("\f"), "page count differs"
    score = cer(got, want)
    assert score <= CER_BOUNDS[name], f"CER {score:.3f} > {CER_BOUNDS[name]}"


def test_convert_works_with_the_network_unreachable(tmp_path, tesseract: str) -> None:  # type: ignore[no-untyped-def]
    """No download at run time: every kind converts inside a network namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"]).returncode != 0:
        pytest.skip("needs unshare and the right to create a network namespace (root)")
    for name in ("born_digital_report.pdf", "fax_memo.png", "memo.docx", "notice.html"):
        res = subprocess.run(
            [
                unshare,
                "-n",
                sys.executable,
                "-m",
                "pipelines",
                "convert",
                str(SAMPLES / name),
                "--format",
                "jsonl",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert res.returncode == 0, (name, res.stderr)
        assert res.stdout.strip(), name
