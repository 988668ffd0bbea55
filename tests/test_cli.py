"""The CLI contract: formats, stdout, exit codes, one-line errors, no Prefect on convert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest

from pipelines.cli import ExitCode, exit_code_for
from pipelines.model import Document, Status
from tests.imaging import LINES, page_lines, text_pdf

DOORSTEP = [sys.executable, "-m", "pipelines"]


def doorstep(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DOORSTEP, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "two pages.pdf"
    text_pdf(str(path), pages=2)
    return path


def test_exit_code_table() -> None:
    assert exit_code_for([Status.OK, Status.OK]) is ExitCode.OK
    assert exit_code_for([Status.OK, Status.PARTIAL]) is ExitCode.PARTIAL
    assert exit_code_for([Status.PARTIAL, Status.FAILED]) is ExitCode.FAILED
    assert exit_code_for([]) is ExitCode.OK
    assert exit_code_for([Status.OK, Status.SKIPPED]) is ExitCode.OK  # unsupported: recorded
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4]


def test_convert_text_to_stdout(pdf: Path) -> None:
    res = doorstep("convert", str(pdf), "--format", "text")
    assert res.returncode == 0, res.stderr
    pages = res.stdout.rstrip("\n").split("\f")
    assert len(pages) == 2
    for i, page in enumerate(pages):
        assert " ".join(page.split()) == " ".join(page_lines(i))


def test_convert_formats_and_output_file(pdf: Path, tmp_path: Path) -> None:
    res = doorstep("convert", str(pdf), "--format", "json")
    assert res.returncode == 0
    doc = Document.model_validate_json(res.stdout)
    assert doc.status is Status.OK and len(doc.pages) == 2

    res = doorstep("convert", str(pdf))  # default: chunks as JSONL
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(r["doc_id"] == doc.id for r in rows)
    assert {r["page_start"] for r in rows} <= {1, 2}

    out = tmp_path / "result.md"  # format from the suffix
    res = doorstep("convert", str(pdf), "-o", str(out))
    assert res.returncode == 0 and res.stdout == ""
    md = out.read_text()
    assert "<!-- page 2 -->" in md and LINES[0] in md


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Secret quarterly numbers", fontsize=12)
    doc.save(str(path), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="own")

    res = doorstep("convert", str(path), "--format", "text")
    assert res.returncode == ExitCode.FAILED
    assert "ENCRYPTED" in res.stderr and "--password" in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""

    res = doorstep("convert", str(path), "--format", "text", "--password", "pw")
    assert res.returncode == 0
    assert "Secret quarterly numbers" in res.stdout


def test_failures_are_one_line_never_a_traceback(tmp_path: Path) -> None:
    for name, data in [
        ("empty.pdf", b""),
        ("junk.bin", b"\x00\xff" * 50),
        ("cut.pdf", b"%PDF-1.7\n1 0 obj <<"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        res = doorstep("convert", str(path))
        assert res.returncode == ExitCode.FAILED, name
        assert "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) >= 1
    res = doorstep("convert", str(tmp_path / "missing.pdf"))
    assert res.returncode == ExitCode.FAILED and "NOT_FOUND" in res.stderr


def test_usage_errors_exit_2(pdf: Path) -> None:
    assert doorstep("convert", str(pdf), "--format", "xml").returncode == ExitCode.USAGE
    assert doorstep("convert", str(pdf), "--bogus").returncode == ExitCode.USAGE
    assert doorstep("convert").returncode == ExitCode.USAGE
    res = doorstep("convert", str(pdf), "--lang", "eng+xyz")
    assert res.returncode == ExitCode.USAGE
    assert "tesseract-ocr-xyz" in res.stderr


def test_convert_never_imports_prefect(pdf: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from pipelines.cli import app\n"
        f"r = CliRunner().invoke(app, ['convert', {str(pdf)!r}, '--format', 'text'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'prefect' not in sys.modules, 'convert imported prefect'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_interop_formats(pdf: Path) -> None:
    res = doorstep("convert", str(pdf), "--format", "langchain")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all({"page_content", "metadata"} <= set(r) for r in rows)
    assert all(r["metadata"]["source"] == str(pdf) for r in rows)
    res = doorstep("convert", str(pdf), "--format", "unstructured")
    assert res.returncode == 0, res.stderr
    elements = json.loads(res.stdout)
    assert {e["metadata"]["page_number"] for e in elements} == {1, 2}


def test_passwords_file_is_tried_in_order(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Opened by the second password", fontsize=12)
    doc.save(str(path), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="two", owner_pw="own")
    pw = tmp_path / "passwords.txt"
    pw.write_text("one\ntwo\n")
    res = doorstep("convert", str(path), "--format", "text", "--passwords-file", str(pw))
    assert res.returncode == 0, res.stderr
    assert "Opened by the second password" in res.stdout
    pw.write_text("nope\n")
    res = doorstep("convert", str(path), "--format", "text", "--passwords-file", str(pw))
    assert res.returncode == ExitCode.FAILED and "ENCRYPTED" in res.stderr


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "scan.png"
    Image.new("L", (300, 100), 255).save(path)
    res = doorstep("convert", str(path), "--max-image-pixels", "1000")
    assert res.returncode == ExitCode.FAILED and "IMAGE_TOO_LARGE" in res.stderr
