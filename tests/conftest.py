"""Shared test helpers: paths, the real corpus (skips when absent), tesseract check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "samples"
GOLDEN = ROOT / "tests" / "golden"
REAL = ROOT.parent / "shared" / "corpus" / "real"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="Rewrite golden files from current output."
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def real_corpus() -> Path:
    if not (REAL / "MANIFEST.tsv").is_file():
        pytest.skip("../shared/corpus/real is absent")
    return REAL


@pytest.fixture(scope="session")
def tesseract() -> str:
    path = shutil.which("tesseract")
    if path is None:
        pytest.fail("tesseract is not installed: run `make test`, which installs it")
    return path
