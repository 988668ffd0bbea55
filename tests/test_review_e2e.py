"""End to end in headless Chromium: correct a page in `doorstep review`, rerun `doorstep run`.

Debian's chromium and chromedriver (installed by `make test`) are driven by
Selenium with an explicit driver path, so nothing is downloaded. `doorstep run`
and `doorstep review` run as real subprocesses against a real Prefect server.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.review_support import SAMPLES, chunk_rows

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PDF = "born_digital_report.pdf"
NEW_TEXT = "3. Production\n\nCorrected by a person: the zebra quokka paragraph replaces page two."


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Prefect server for the `doorstep run` subprocesses (PREFECT_HOME in tmp)."""
    from benchmarks.kill_rerun import start_server

    proc, env = start_server(tmp_path_factory.mktemp("prefect-home"), timeout_s=150)
    try:
        yield {**env, "PREFECT_LOGGING_LEVEL": "WARNING"}
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        proc.kill()  # a no-op once it has exited


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "chromium and chromium-driver are missing: run `make test`, which installs them"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _run(src: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pipelines", "run", str(src), "-o", str(out), "--no-report"]
    res = subprocess.run(
        [*cmd, "--workers", "1"], env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr
    return res


@contextlib.contextmanager
def _review(out: Path) -> Iterator[str]:
    """`doorstep review OUT --port 0` as a subprocess; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "review", str(out), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"no URL from doorstep review: {line!r}"
        yield found[0]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _manifest(out: Path) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO((out / "manifest.csv").read_text()))
    return {r["source"]: r for r in rows}


def _open(browser: Any, url: str, source: str, pages: int = 3) -> None:
    """Open the page and show only the pages of ``source``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    Select(browser.find_element(By.ID, "f-source")).select_by_visible_text(source)
    Select(browser.find_element(By.ID, "f-kind")).select_by_value("page")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#items button")) == pages)
    _press(browser, Keys.ESCAPE)  # leave the filter: keys now move through the list


def _press(browser: Any, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(*keys).perform()


def _wait_text(browser: Any, element_id: str, needle: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda d: needle in d.find_element(By.ID, element_id).text,
        message=f"#{element_id} never showed {needle!r}",
    )


def test_browser_correction_survives_rerun_and_goes_stale(
    tmp_path: Path, prefect_env: dict[str, str], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for name in (PDF, "notice.html"):
        shutil.copy(SAMPLES / name, src / name)
    _run(src, out, prefect_env)
    assert "zebra quokka" not in (out / "chunks.jsonl").read_text()

    with _review(out) as url:
        _open(browser, url, PDF)
        _press(browser, "j", "j", "j", "k")  # keyboard: pages 1, 2, 3, back to 2
        _wait_text(browser, "page-title", f"{PDF} — page 2 of 3")
        image = browser.find_element(By.ID, "page-image")
        WebDriverWait(browser, 30).until(  # rendered from the source PDF
            lambda d: d.execute_script("return arguments[0].naturalWidth", image) > 0
        )
        assert browser.find_elements(By.CSS_SELECTOR, "#boxes rect")
        assert "Northgate Group" in browser.find_element(By.ID, "furniture").text
        text = browser.find_element(By.ID, "page-text")
        assert text.get_attribute("value") and "Northgate" not in text.get_attribute("value")
        text.click()
        text.send_keys(Keys.CONTROL, "a")
        text.send_keys(NEW_TEXT)
        text.send_keys(Keys.CONTROL, "s")
        _wait_text(browser, "status", "outputs rebuilt")
        _wait_text(browser, "quality", "HUMAN_CORRECTED")
        _press(browser, Keys.ESCAPE, "j", "a")  # page 3: approve it from the keyboard
        _wait_text(browser, "page-title", "page 3 of 3")
        _wait_text(browser, "status", "Page approved")
        browser.save_screenshot(str(tmp_path / "review.png"))
        _open(browser, url, "notice.html", pages=1)
        _press(browser, "j", "r")  # the notice: reject it
        _wait_text(browser, "status", "Page rejected")
    saved = (out / "chunks.jsonl").read_bytes()
    assert b"zebra quokka" in saved  # saving rebuilt the combined outputs at once

    (out / "chunks.jsonl").unlink()  # rerun: rebuilt from stored results + corrections
    res = _run(src, out, prefect_env)
    assert (out / "chunks.jsonl").read_bytes() == saved
    assert "2 documents corrected, 0 stale" in res.stdout
    assert "chunks rejected by a reviewer are in review.jsonl" in res.stdout
    rows = [r for r in chunk_rows(out) if r["source"] == PDF]
    fixed = [r for r in rows if "zebra quokka" in r["text"]]
    assert fixed and all(r["page_start"] == 2 for r in fixed)
    for r in fixed:
        assert (r["review"], r["quality"], r["grade"]) == ("corrected", 1.0, "excellent")
        assert r["quality_reasons"] == ["HUMAN_CORRECTED"]
    assert {r["review"] for r in rows if r["page_start"] == 3} == {"approved"}
    assert {r["review"] for r in rows if r["page_end"] == 1} == {None}
    rejected = chunk_rows(out, "review.jsonl")
    assert rejected and {(r["source"], r["review"], r["quality"]) for r in rejected} == {
        ("notice.html", "rejected", 0.0)
    }
    assert all(r["source"] == PDF for r in chunk_rows(out))
    manifest = _manifest(out)
    assert (manifest[PDF]["corrections"], manifest["notice.html"]["corrections"]) == (
        "applied",
        "applied",
    )
    assert float(manifest["notice.html"]["quality"]) == 0.0

    with (src / PDF).open("ab") as fh:  # same path, new bytes: the correction goes stale
        fh.write(b"\n% changed after review\n")
    res = _run(src, out, prefect_env)
    assert "STALE_CORRECTIONS" in res.stderr and PDF in res.stderr
    assert "1 documents corrected, 1 stale" in res.stdout
    assert "zebra quokka" not in (out / "chunks.jsonl").read_text()
    assert {r["review"] for r in chunk_rows(out) if r["source"] == PDF} == {None}
    assert _manifest(out)[PDF]["corrections"] == "stale"
    assert _manifest(out)["notice.html"]["corrections"] == "applied"  # unchanged: still applies
    kept = {
        k["source"]: k
        for p in (out / "corrections").glob("*.json")
        for k in [json.loads(p.read_text())]
    }
    assert sorted(kept) == sorted(["notice.html", PDF])
    assert NEW_TEXT in [p.get("text") for p in kept[PDF]["pages"]]

    with _review(out) as url:
        _open(browser, url, PDF)
        assert "stale correction" in browser.find_element(By.ID, "items").text
        _press(browser, "j", "j")
        _wait_text(browser, "page-title", "page 2 of 3")
        banner = browser.find_element(By.ID, "stale")
        assert banner.is_displayed() and "Stale correction" in banner.text
        assert "zebra quokka" in banner.text
        assert "zebra quokka" not in browser.find_element(By.ID, "page-text").get_attribute("value")
