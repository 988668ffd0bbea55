"""Robustness: every bad input gets a typed answer; nothing escapes, nothing lands outside OUTDIR.

The corpus is built by ``fixtures/robust.py`` (never downloaded). The fuzz
test mutates real PDF and PNG bytes; ``python -m benchmarks.fuzz`` runs the
long version (thousands of cases).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.robust import build, fuzz_seeds, make_filesystem_cases, mutate
from pipelines.config import ExtractConfig, OcrMode, PipelineConfig
from pipelines.convert import convert
from pipelines.errors import OutputError
from pipelines.model import Status
from pipelines.outputs import safe_join

FAST = PipelineConfig(extract=ExtractConfig(ocr=OcrMode.NEVER))


@pytest.fixture(scope="module")
def robust_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("robust")
    expected = build(folder)
    expected.update(make_filesystem_cases(folder / "fs"))
    return folder, expected


def _answer(path: Path, cfg: PipelineConfig = FAST) -> tuple[str, str | None]:
    doc = convert(path, cfg, source_name=path.name)
    done = doc.status in (Status.FAILED, Status.SKIPPED)
    code = doc.errors[0].code if doc.errors and done else None
    return str(doc.status), code


def test_every_robustness_case_gets_its_typed_answer(robust_dir: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    folder, expected = robust_dir
    wrong = {}
    for name, want in expected.items():
        path = (
            folder / name
            if (folder / name).exists() or (folder / name).is_symlink()
            else folder / "fs" / name
        )
        if name in ("loop", "dangling.pdf", "line\nbreak.pdf", "locked.pdf"):
            path = folder / "fs" / name
        got = _answer(path)
        if got != (want["status"], want["error"]):
            wrong[name] = (got, want)
    assert not wrong


def test_no_internal_errors_in_the_corpus(robust_dir: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    folder, _ = robust_dir
    for path in sorted(folder.rglob("*")):
        if path.name == "expected.json" or path.is_dir():
            continue
        doc = convert(path, FAST)
        assert all(e.code != "INTERNAL" for e in doc.errors), (path.name, doc.errors)


def test_pdf_actions_are_never_followed(robust_dir: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    folder, _ = robust_dir
    doc = convert(folder / "actions_and_links.pdf", FAST)
    assert doc.status is Status.OK
    assert "never run" in doc.text()
    assert not (tmp_path / "pwned").exists()


def test_output_paths_never_leave_outdir(tmp_path: Path) -> None:
    for bad in ["../escape", "a/../../b", "..", ""]:
        with pytest.raises(OutputError):
            safe_join(tmp_path, bad, ".md")
    rooted = safe_join(tmp_path, "/etc/passwd", ".md")  # re-rooted inside, never outside
    assert rooted == tmp_path / "etc" / "passwd.md"
    inside = safe_join(tmp_path, "sub/na\nme.pdf", ".md")
    assert tmp_path.resolve() in inside.resolve().parents
    assert "\n" not in inside.name


SEEDS = fuzz_seeds()


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(SEEDS)))
    return kind, mutate(SEEDS[kind], random.Random(draw(st.integers(0, 2**32))))


@settings(
    max_examples=int(os.environ.get("DOORSTEP_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
def test_fuzzed_bytes_always_get_a_typed_result(case: tuple[str, bytes], tmp_path: Path) -> None:
    kind, data = case
    path = tmp_path / f"fuzz.{kind}"
    path.write_bytes(data)
    doc = convert(path, FAST)
    assert doc.status in (Status.OK, Status.PARTIAL, Status.FAILED, Status.SKIPPED)
    if doc.status in (Status.FAILED, Status.SKIPPED):
        assert doc.errors, "a failed document must say why"
    assert all(e.code != "INTERNAL" for e in doc.errors), doc.errors
    json.loads(doc.model_dump_json())  # always serialisable


def test_library_noise_never_reaches_stdout(robust_dir: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    import subprocess
    import sys

    folder, _ = robust_dir
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "convert",
            str(folder / "truncated_tail.pdf"),
            "--format",
            "text",
            "--ocr",
            "never",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0
    assert "MuPDF" not in res.stdout
    assert res.stdout.startswith("Robustness test page 1.")


class _RewritingExtractor:
    """Extracts, then appends to the file as a writer would mid-read."""

    name = "rewriting"

    def extract(self, source, cfg):  # type: ignore[no-untyped-def]
        from extractors.registry import extractor_for

        pages = extractor_for(source.kind).extract(source, cfg)
        with source.path.open("ab") as fh:
            fh.write(b"\n%% appended while being read\n")
        return pages


def test_a_file_that_changes_while_read_is_reported(tmp_path: Path) -> None:
    from fixtures.robust import CASES

    path = tmp_path / "moving.pdf"
    path.write_bytes(CASES["no_extension_pdf"][0]())
    doc = convert(path, FAST, extractor=_RewritingExtractor())
    assert doc.status is Status.FAILED and doc.errors[0].code == "CHANGED"
    assert "next run" in doc.errors[0].hint
