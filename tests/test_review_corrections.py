"""The corrections store and the review API, without a browser (issue 8).

Applying corrections is a pure function; saves are atomic and locked (threads and
processes); malformed input is a typed error and an HTTP 400 with a JSON message;
no id or name can reach outside OUTDIR.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines.corrections import (
    ChunkVerdict,
    CorrectionStore,
    DocCorrections,
    PageCorrection,
    PageEdit,
    check_id,
    parse_edit,
)
from pipelines.errors import InvalidCorrection
from pipelines.model import Block, CorrectionState, Document, Grade, Layer, ReasonCode, ReviewStatus
from pipelines.outputs import DocResult, doc_rows, load_result, write_combined
from pipelines.stages.review import apply_corrections
from tests.review_support import chunk_rows, make_outdir, request, serving

NEW_TEXT = "Corrected heading\n\nThe quick brown fox jumps over the lazy dog. Zebra quokka."


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_outdir(tmp_path_factory.mktemp("review"))


def _fresh(tmp_path: Path, outdir: Path) -> Path:
    """A private copy of the module's output folder (tests that write)."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(outdir.parent, copy)
    return copy / "out"


def _doc(outdir: Path, source: str = "notice.html") -> Document:
    return load_result(outdir, source)


def _corrections(doc: Document, *pages: PageCorrection) -> DocCorrections:
    return DocCorrections(sha256=doc.sha256, source=doc.source, doc_id=doc.id, pages=list(pages))


# --------------------------------------------------------------------------- applying


def test_corrected_page_text_replaces_body_and_rechunks(outdir: Path) -> None:
    doc = _doc(outdir)
    before = doc.model_dump_json()
    fix = _corrections(doc, PageCorrection(page=1, status=ReviewStatus.CORRECTED, text=NEW_TEXT))
    out = apply_corrections(doc, fix)
    assert doc.model_dump_json() == before  # pure: the input is untouched
    assert apply_corrections(doc, fix).model_dump_json() == out.model_dump_json()
    assert out.corrections is CorrectionState.APPLIED
    page = out.pages[0]
    assert page.body_text() == NEW_TEXT
    assert [b.text for b in page.blocks if b.layer is Layer.FURNITURE] == [
        b.text for b in doc.pages[0].blocks if b.layer is Layer.FURNITURE
    ]
    note = Block(id="n1", page=1, text="scribbled note", layer=Layer.NOTES, extractor="ocr")
    with_note = doc.model_copy(
        update={"pages": [doc.pages[0].model_copy(update={"blocks": [*doc.pages[0].blocks, note]})]}
    )
    kept = apply_corrections(with_note, fix).pages[0].blocks
    assert [b.id for b in kept if b.layer is Layer.NOTES] == ["n1"]  # notes are never dropped
    assert page.review is not None and page.review.status is ReviewStatus.CORRECTED
    assert (page.quality.score, page.quality.grade) == (1.0, Grade.EXCELLENT)
    assert page.quality.reasons == [ReasonCode.HUMAN_CORRECTED]
    assert "Zebra quokka." in "\n".join(c.text for c in out.chunks)
    assert all("Zebra" not in c.text for c in doc.chunks)
    for c in out.chunks:
        assert c.review is not None and c.review.status is ReviewStatus.CORRECTED
        assert c.quality.score == 1.0 and c.quality.reasons == [ReasonCode.HUMAN_CORRECTED]


def test_approved_page_and_rejected_chunk_route_to_review(outdir: Path, tmp_path: Path) -> None:
    doc = _doc(outdir, "memo.docx")
    assert len(doc.chunks) >= 2, "the memo needs two chunks for this test"
    approved = _corrections(doc, PageCorrection(page=1, status=ReviewStatus.APPROVED))
    out = apply_corrections(doc, approved)
    assert [c.text for c in out.chunks] == [c.text for c in doc.chunks]  # not rechunked
    assert {c.quality.reasons[0] for c in out.chunks} == {ReasonCode.HUMAN_APPROVED}
    rejected_id = doc.chunks[1].id
    verdicts = approved.model_copy(
        update={"chunks": [ChunkVerdict(chunk_id=rejected_id, status=ReviewStatus.REJECTED)]}
    )
    out = apply_corrections(doc, verdicts)
    rejected = next(c for c in out.chunks if c.id == rejected_id)
    assert (rejected.quality.score, rejected.quality.grade) == (0.0, Grade.POOR)
    assert rejected.quality.reasons == [ReasonCode.HUMAN_REJECTED]
    write_combined(tmp_path, [DocResult("memo.docx", out, 0.0)])  # no --min-quality
    kept, review = chunk_rows(tmp_path), chunk_rows(tmp_path, "review.jsonl")
    assert [r["chunk_id"] for r in review] == [rejected_id]
    assert rejected_id not in {r["chunk_id"] for r in kept}
    assert {r["review"] for r in kept} == {"approved"}


def test_corrections_for_other_bytes_are_stale_and_not_applied(outdir: Path) -> None:
    doc = _doc(outdir)
    fix = _corrections(doc, PageCorrection(page=1, status=ReviewStatus.CORRECTED, text=NEW_TEXT))
    changed = doc.model_copy(update={"sha256": "f" * 64})
    out = apply_corrections(changed, fix)
    assert out.corrections is CorrectionState.STALE
    assert out.pages == changed.pages and out.chunks == changed.chunks


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "invalid"),
        (b'{"status": "fixed"}', "status"),
        (b'{"status": "corrected"}', "text"),
        (b'{"status": "approved", "text": "x"}', "text"),
        (b'{"status": "approved", "extra": 1}', "extra"),
        (b"[]", "invalid"),
    ],
)
def test_malformed_edits_are_typed_errors(outdir: Path, raw: bytes, message: str) -> None:
    doc = _doc(outdir)
    with pytest.raises(InvalidCorrection, match=message):
        CorrectionStore(outdir).save_page(doc, 1, parse_edit(PageEdit, raw))


@pytest.mark.parametrize("bad", ["..", "../x", "/etc/passwd", "a/b", "0" * 15 + "/", "%2e%2e"])
def test_ids_and_names_never_leave_outdir(outdir: Path, bad: str) -> None:
    with pytest.raises(InvalidCorrection):
        check_id(bad)
    with pytest.raises(InvalidCorrection):
        CorrectionStore(outdir).path_for(bad)


def test_concurrent_thread_saves_never_tear_a_file(outdir: Path, tmp_path: Path) -> None:
    out = _fresh(tmp_path, outdir)
    doc, store = _doc(out), CorrectionStore(out)
    texts = [f"version {i}: " + "word " * 2000 for i in range(40)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:  # every read sees a whole file, old or new
        path = store.path_for(doc.sha256)
        while not stop.is_set():
            try:
                if path.exists():
                    DocCorrections.model_validate_json(path.read_bytes())
            except FileNotFoundError:
                pass
            except Exception as exc:
                errors.append(exc)

    def writer(chunk: list[str]) -> None:
        for text in chunk:
            store.save_page(doc, 1, PageEdit(status=ReviewStatus.CORRECTED, text=text))

    watch = threading.Thread(target=reader)
    watch.start()
    writers = [threading.Thread(target=writer, args=(texts[i::4],)) for i in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    watch.join()
    assert not errors
    final = store.load(doc.sha256)
    assert final is not None and final.pages[0].text in texts
    store.save_page(doc, 1, PageEdit(status=ReviewStatus.CORRECTED, text="last"))
    last = store.load(doc.sha256)
    assert last is not None and last.pages[0].text == "last"  # the last write wins
    assert not list(store.dir.glob(".corr-tmp-*"))


_WORKER = """
import sys
from pathlib import Path
from pipelines.corrections import CorrectionStore, PageEdit
from pipelines.model import ReviewStatus
from pipelines.outputs import load_result
out, page = Path(sys.argv[1]), int(sys.argv[2])
doc = load_result(out, "born.pdf")
store = CorrectionStore(out)
for i in range(15):
    store.save_page(doc, page, PageEdit(status=ReviewStatus.CORRECTED, text=f"p{page} v{i}"))
"""


def test_concurrent_process_saves_lose_no_update(tmp_path: Path) -> None:
    """Processes saving different pages of one document: every page's last save survives
    (read-modify-write under the lock), and the file is always whole."""
    out = tmp_path / "out"
    src = tmp_path / "src.pdf"
    src.write_bytes(
        (Path(__file__).parents[1] / "fixtures/samples/born_digital_report.pdf").read_bytes()
    )
    from pipelines.config import PipelineConfig
    from pipelines.convert import convert
    from pipelines.outputs import write_document_files

    doc = convert(src, PipelineConfig(), source_name="born.pdf")
    assert len(doc.pages) >= 3
    write_document_files(out, DocResult("born.pdf", doc, 0.0))
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(out), str(page)]) for page in (1, 2, 3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    final = CorrectionStore(out).load(doc.sha256)
    assert final is not None
    assert [(p.page, p.text) for p in final.pages] == [(n, f"p{n} v14") for n in (1, 2, 3)]


# --------------------------------------------------------------------------- over HTTP


def test_api_lists_worst_first_with_filters(outdir: Path) -> None:
    with serving(outdir) as (_, url):
        status, body = request(f"{url}/api/items")
        assert status == 200
        scores = [-1.0 if i["score"] is None else i["score"] for i in body["items"]]
        assert scores == sorted(scores)
        assert {i["kind"] for i in body["items"]} == {"page", "chunk"}
        status, only = request(f"{url}/api/items?kind=page&source=memo.docx")
        assert {(i["kind"], i["source"]) for i in only["items"]} == {("page", "memo.docx")}
        status, none = request(f"{url}/api/items?grade=poor&reason=HUMAN_REJECTED")
        assert status == 200 and none["items"] == []


def test_api_rejects_malformed_input_with_400_json(outdir: Path) -> None:
    doc = _doc(outdir)
    with serving(outdir) as (_, url):
        target = f"{url}/api/corrections/{doc.id}/page/1"
        for raw in (b"{oops", b'{"status": "maybe"}', b'{"status": "corrected"}'):
            status, body = request(target, raw)
            assert status == 400 and body["error"] == "INVALID_CORRECTION", body
            assert body["message"]
        status, body = request(target, b'{"status": "approved"}', content_type="text/plain")
        assert status == 400 and "JSON" in body["message"]
        status, body = request(f"{url}/api/corrections/{doc.id}/page/0", b'{"status": null}')
        assert status == 400
        status, body = request(f"{url}/api/corrections/{doc.id}/page/99", b'{"status": null}')
        assert status == 400 and "no page 99" in body["message"]
        status, body = request(f"{url}/api/items", headers={"Host": "evil.example:80"})
        assert status == 400 and "Host" in body["message"]
    assert not (outdir / "corrections").exists() or not list(
        (outdir / "corrections").glob("*.json")
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/corrections/..%2F..%2Fetc/page/1",
        "/api/corrections/%2Fetc%2Fpasswd/page/1",
        "/api/corrections/....//page/1",
        "/api/doc/..%2Fdocuments/page/1",
        "/api/doc/0123456789abcdef/page/1/image.png",
        "/static/..%2Fserver.py",
        "/static/../../pipelines/review/server.py",
    ],
)
def test_api_paths_never_leave_outdir(outdir: Path, path: str) -> None:
    before = sorted(p for p in outdir.parent.rglob("*"))
    with serving(outdir) as (_, url):
        body = b'{"status": "approved"}' if "corrections" in path else None
        status, payload = request(url + path, body)
    assert status in (400, 404), payload
    assert payload["error"] in ("INVALID_CORRECTION", "NOT_REVIEWABLE")
    assert sorted(p for p in outdir.parent.rglob("*")) == before


def test_api_save_rebuilds_outputs_and_clear_restores(outdir: Path, tmp_path: Path) -> None:
    out = _fresh(tmp_path, outdir)
    doc = _doc(out)
    original = (out / "chunks.jsonl").read_bytes()
    with serving(out) as (_, url):
        payload = json.dumps({"status": "corrected", "text": NEW_TEXT}).encode()
        status, body = request(f"{url}/api/corrections/{doc.id}/page/1", payload)
        assert status == 200 and body["rebuilt"] is True, body
        rows = [r for r in chunk_rows(out) if r["source"] == "notice.html"]
        assert "Zebra quokka." in "\n".join(r["text"] for r in rows)
        assert {(r["review"], r["quality"], r["grade"]) for r in rows} == {
            ("corrected", 1.0, "excellent")
        }
        manifest = (out / "manifest.csv").read_text()
        assert "notice.html," in manifest and ",applied\n" in manifest
        status, page = request(f"{url}/api/doc/{doc.id}/page/1")
        assert page["text"] == NEW_TEXT and page["review"] == "corrected"
        assert page["quality"]["reasons"] == ["HUMAN_CORRECTED"]
        status, body = request(f"{url}/api/corrections/{doc.id}/page/1", b'{"status": null}')
        assert status == 200
    assert (out / "chunks.jsonl").read_bytes() == original
    assert not list((out / "corrections").glob("*.json"))


def test_chunk_over_unreviewed_pages_keeps_its_measured_score(tmp_path: Path) -> None:
    from pipelines.config import PipelineConfig
    from pipelines.convert import convert

    pdf = Path(__file__).parents[1] / "fixtures/samples/born_digital_report.pdf"
    doc = convert(pdf, PipelineConfig(), source_name="born.pdf")
    fix = PageCorrection(page=2, status=ReviewStatus.CORRECTED, text="A short fixed line.")
    out = apply_corrections(doc, _corrections(doc, fix))
    spanning = [c for c in out.chunks if "A short fixed line." in c.text]
    assert spanning, "the corrected text must be in a chunk"
    for c in spanning:
        assert c.review is not None and c.review.status is ReviewStatus.CORRECTED
        assert ReasonCode.HUMAN_CORRECTED in c.quality.reasons
    partial = [c for c in spanning if c.page_start < 2 or c.page_end > 2]
    assert partial, "a short correction merges into a chunk that covers another page"
    assert all(ReasonCode.HUMAN_APPROVED not in c.quality.reasons for c in partial)
    approve_rest = [PageCorrection(page=n, status=ReviewStatus.APPROVED) for n in (1, 3)]
    everything = apply_corrections(doc, _corrections(doc, approve_rest[0], fix, approve_rest[1]))
    assert {(c.quality.score, c.quality.grade) for c in everything.chunks} == {
        (1.0, Grade.EXCELLENT)
    }


def test_review_command_refuses_a_folder_that_is_no_output(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pipelines", "review", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert "NOT_REVIEWABLE" in res.stderr and "doorstep run" in res.stderr


def test_review_server_does_not_import_prefect() -> None:
    code = (
        "import sys, pipelines.review.server, pipelines.combined\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'prefect')\n"
        "assert not loaded, loaded\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_api_chunk_verdicts_route_and_clear(outdir: Path, tmp_path: Path) -> None:
    out = _fresh(tmp_path, outdir)
    doc = _doc(out, "memo.docx")
    target = doc.chunks[0].id
    with serving(out) as (_, url):
        status, body = request(f"{url}/api/corrections/{doc.id}/chunk/{target}", b'{"status": "x"}')
        assert status == 400 and body["error"] == "INVALID_CORRECTION"
        status, body = request(
            f"{url}/api/corrections/{doc.id}/chunk/{target}", b'{"status": "corrected"}'
        )
        assert status == 400 and "approved or rejected" in body["message"]
        status, body = request(
            f"{url}/api/corrections/{doc.id}/chunk/{target}", b'{"status": "rejected"}'
        )
        assert status == 200 and body["rebuilt"] is True
        assert [r["chunk_id"] for r in chunk_rows(out, "review.jsonl")] == [target]
        assert target not in {r["chunk_id"] for r in chunk_rows(out)}
        status, items = request(f"{url}/api/items?reason=HUMAN_REJECTED")
        assert [(i["kind"], i["chunk_id"]) for i in items["items"]] == [("chunk", target)]
        status, body = request(
            f"{url}/api/corrections/{doc.id}/chunk/{target}", b'{"status": null}'
        )
        assert status == 200
    assert not (out / "review.jsonl").exists()
    assert target in {r["chunk_id"] for r in chunk_rows(out)}


def test_corrections_apply_to_a_result_its_worker_stored(tmp_path: Path, outdir: Path) -> None:
    """A fresh result held as an outline with rows: its corrections come from the whole
    stored document, so the combined outputs are those of a rebuild from disk."""
    from pipelines.combined import rebuild
    from pipelines.config import PipelineConfig
    from pipelines.outputs import outline
    from pipelines.state import open_state

    out = _fresh(tmp_path, outdir)
    doc = _doc(out)
    CorrectionStore(out).save_page(doc, 1, parse_edit(PageEdit, b'{"status": "approved"}'))
    cfg = PipelineConfig()
    sources = ["memo.docx", "notice.html"]
    built = {}
    for label, fresh in (
        ("disk", None),
        ("outline", {doc.source: DocResult(doc.source, outline(doc), 0.0, doc_rows(doc))}),
    ):
        with open_state(out) as store:
            rebuild(
                out,
                store,
                sources,
                chunk_cfg=cfg.chunk,
                quality_cfg=cfg.quality,
                min_quality=None,
                fresh=fresh,
            )
        built[label] = (out / "chunks.jsonl").read_bytes(), (out / "manifest.csv").read_bytes()
    assert built["outline"] == built["disk"]
    assert b'"review": "approved"' in built["disk"][0]
