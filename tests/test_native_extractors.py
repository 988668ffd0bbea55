"""The native-format extractors (DOCX, HTML, text, Markdown, e-mail) on small real files."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from extractors.base import Source
from extractors.docx import DocxExtractor
from extractors.email import EmailExtractor
from extractors.html import HtmlExtractor, html_items
from extractors.markdown import MarkdownExtractor
from extractors.registry import get_extractor
from extractors.text import TextExtractor
from pipelines.config import ExtractConfig
from pipelines.errors import CorruptDocument, EncryptedDocument
from pipelines.model import ElementType, ExtractionMethod, Layer, Page

REPO = Path(__file__).resolve().parents[1]
CFG = ExtractConfig()

T = ElementType
BODY = Layer.BODY
FURN = Layer.FURNITURE


def source(path: Path, kind: str) -> Source:
    return Source(path=path, kind=kind, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def summary(pages: list[Page]) -> list[tuple[int, ElementType, int | None, Layer, str]]:
    return [(b.page, b.type, b.level, b.layer, b.text) for p in pages for b in p.blocks]


def texts(pages: list[Page]) -> list[str]:
    return [b.text for p in pages for b in p.blocks]


# -- DOCX ---------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "ACME Confidential"
    section.footer.paragraphs[0].text = "Internal use only"
    document.add_heading("Quarterly Report", level=0)
    document.add_heading("Overview", level=1)
    para = document.add_paragraph("Sales grew in ")
    para.add_run("every").bold = True
    para.add_run(" region.")
    document.add_paragraph("")  # empty: skipped
    document.add_heading("Details", level=2)
    document.add_paragraph("North", style="List Bullet")
    document.add_paragraph("South", style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("Region", "Sales"), ("North", "10"), ("South", "")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Table 1: sales by region", style="Caption")
    document.add_paragraph("The end.")
    document.save(str(path))
    return path


def test_docx_blocks_types_levels_layers_and_order(tmp_path: Path) -> None:
    src = source(make_docx(tmp_path / "report.docx"), "docx")
    pages = DocxExtractor().extract(src, CFG)
    assert len(pages) == 1
    assert pages[0].method is ExtractionMethod.NATIVE
    assert pages[0].unit == "pt"
    assert summary(pages) == [
        (1, T.HEADER, None, FURN, "ACME Confidential"),
        (1, T.TITLE, None, BODY, "Quarterly Report"),
        (1, T.HEADING, 1, BODY, "Overview"),
        (1, T.PARAGRAPH, None, BODY, "Sales grew in every region."),
        (1, T.HEADING, 2, BODY, "Details"),
        (1, T.LIST_ITEM, None, BODY, "North"),
        (1, T.LIST_ITEM, None, BODY, "South"),
        (1, T.TABLE, None, BODY, "Region\tSales\nNorth\t10\nSouth\t"),
        (1, T.CAPTION, None, BODY, "Table 1: sales by region"),
        (1, T.PARAGRAPH, None, BODY, "The end."),
        (1, T.FOOTER, None, FURN, "Internal use only"),
    ]
    assert all(b.bbox is None and b.extractor == "python-docx" for b in pages[0].blocks)


def test_docx_ids_are_deterministic_and_unique(tmp_path: Path) -> None:
    src = source(make_docx(tmp_path / "report.docx"), "docx")
    first = [b.id for p in DocxExtractor().extract(src, CFG) for b in p.blocks]
    second = [b.id for p in DocxExtractor().extract(src, CFG) for b in p.blocks]
    assert first == second
    assert len(set(first)) == len(first)


def test_docx_headers_once_across_sections_and_merged_cells(tmp_path: Path) -> None:
    import docx
    from docx.enum.section import WD_SECTION

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Same header"
    document.add_paragraph("Section one text.")
    document.add_section(WD_SECTION.NEW_PAGE)  # linked to the previous header
    document.add_paragraph("Section two text.")
    table = document.add_table(rows=2, cols=2)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Wide"
    table.cell(1, 0).text = "a"
    table.cell(1, 1).text = "b"
    path = tmp_path / "sections.docx"
    document.save(str(path))
    pages = DocxExtractor().extract(source(path, "docx"), CFG)
    assert summary(pages) == [
        (1, T.HEADER, None, FURN, "Same header"),
        (1, T.PARAGRAPH, None, BODY, "Section one text."),
        (1, T.PARAGRAPH, None, BODY, "Section two text."),
        (1, T.TABLE, None, BODY, "Wide\t\na\tb"),
    ]


def test_docx_without_text_gives_a_page_without_blocks(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "empty.docx"
    docx.Document().save(str(path))
    pages = DocxExtractor().extract(source(path, "docx"), CFG)
    assert len(pages) == 1
    assert pages[0].blocks == []
    assert pages[0].method is ExtractionMethod.NONE


def test_corrupt_docx_raises_corrupt_document(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CorruptDocument, match=r"broken\.docx"):
        DocxExtractor().extract(source(path, "docx"), CFG)


def test_zip_without_document_xml_raises_corrupt_document(tmp_path: Path) -> None:
    path = tmp_path / "notword.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a word document")
    with pytest.raises(CorruptDocument) as info:
        DocxExtractor().extract(source(path, "docx"), CFG)
    assert info.value.__cause__ is not None


def test_password_protected_docx_raises_encrypted_document(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    path = tmp_path / "locked.docx"
    path.write_bytes(ole + "EncryptedPackage".encode("utf-16-le") + bytes(512))
    with pytest.raises(EncryptedDocument):
        DocxExtractor().extract(source(path, "docx"), CFG)
    legacy = tmp_path / "old.docx"
    legacy.write_bytes(ole + bytes(1024))
    with pytest.raises(CorruptDocument, match="OLE"):
        DocxExtractor().extract(source(legacy, "docx"), CFG)


# -- HTML ---------------------------------------------------------------------

HTML_DOC = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Page title</title>
<script>document.write("<p>SCRIPT LEAK</p>")</script>
<style>p { color: red } /* STYLE LEAK */</style></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About</a></li></ul></nav>
<h1>Main  Title</h1>
<p>Hello <b>bold</b> <i>and <span>nested</span></i>   world</p>
<p>line one<br>line two</p>
<noscript>NOSCRIPT LEAK</noscript>
<h2>Data</h2>
<table><caption>Table 1</caption>
<tr><th>Name</th><th>Qty</th></tr>
<tr><td>Apple</td><td><b>3</b></td></tr>
</table>
<ul><li>first</li><li>second <em>item</em></li></ul>
<h1>Second h1</h1>
<figure><img src="x.png" alt=""><figcaption>A figure</figcaption></figure>
<footer>Copyright 2024</footer>
</body></html>
"""


def test_html_blocks(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_DOC, encoding="utf-8")
    pages = HtmlExtractor().extract(source(path, "html"), CFG)
    assert summary(pages) == [
        (1, T.HEADER, None, FURN, "Home\nAbout"),
        (1, T.TITLE, None, BODY, "Main Title"),
        (1, T.PARAGRAPH, None, BODY, "Hello bold and nested world"),
        (1, T.PARAGRAPH, None, BODY, "line one\nline two"),
        (1, T.HEADING, 2, BODY, "Data"),
        (1, T.CAPTION, None, BODY, "Table 1"),
        (1, T.TABLE, None, BODY, "Name\tQty\nApple\t3"),
        (1, T.LIST_ITEM, None, BODY, "first"),
        (1, T.LIST_ITEM, None, BODY, "second item"),
        (1, T.HEADING, 1, BODY, "Second h1"),
        (1, T.CAPTION, None, BODY, "A figure"),
        (1, T.FOOTER, None, FURN, "Copyright 2024"),
    ]
    joined = "\n".join(texts(pages))
    assert "LEAK" not in joined
    assert "Page title" not in joined  # the body has an h1
    ids = [b.id for b in pages[0].blocks]
    assert ids == [b.id for b in HtmlExtractor().extract(source(path, "html"), CFG)[0].blocks]


def test_html_title_tag_used_only_without_h1() -> None:
    markup = "<html><head><title> The  Title </title></head><body><p>Body.</p></body></html>"
    items = html_items(markup)
    assert [(i.type, i.text) for i in items] == [(T.TITLE, "The Title"), (T.PARAGRAPH, "Body.")]
    assert [i.type for i in html_items(markup, use_title_tag=False)] == [T.PARAGRAPH]


def test_html_encoding_from_meta(tmp_path: Path) -> None:
    markup = '<html><head><meta charset="windows-1252"></head><body><p>café – ok</p></body></html>'
    path = tmp_path / "legacy.html"
    path.write_bytes(markup.encode("cp1252"))
    assert texts(HtmlExtractor().extract(source(path, "html"), CFG)) == ["café – ok"]


def test_html_loose_text_nested_lists_and_article_header() -> None:
    markup = (
        "<body>loose <b>text</b><div>in div</div>"
        "<ul><li>parent<ol><li>child</li></ol></li></ul>"
        "<article><header><h3>Post</h3></header><p>Body</p></article></body>"
    )
    assert [(i.type, i.level, i.layer, i.text) for i in html_items(markup)] == [
        (T.PARAGRAPH, None, BODY, "loose text"),
        (T.PARAGRAPH, None, BODY, "in div"),
        (T.LIST_ITEM, None, BODY, "parent"),
        (T.LIST_ITEM, None, BODY, "child"),
        (T.HEADING, 3, BODY, "Post"),
        (T.PARAGRAPH, None, BODY, "Body"),
    ]


def test_html_without_text_gives_no_blocks(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><body><script>x()</script><!-- nothing --></body></html>")
    pages = HtmlExtractor().extract(source(path, "html"), CFG)
    assert len(pages) == 1
    assert pages[0].blocks == []


# -- plain text ---------------------------------------------------------------

TEXT_DOC = (
    "ANNUAL SUMMARY\n\n"
    "This year went well.\nRevenue was up.\n\n"
    "Highlights:\n- new office\n- two hires\n  in March\n• better tools\n\n"
    "Next Steps\n\n"
    "1. plan\n2) build\n"
)


def _expected_text_doc() -> list[tuple[int, ElementType, int | None, Layer, str]]:
    return [
        (1, T.HEADING, 1, BODY, "ANNUAL SUMMARY"),
        (1, T.PARAGRAPH, None, BODY, "This year went well.\nRevenue was up."),
        (1, T.PARAGRAPH, None, BODY, "Highlights:"),
        (1, T.LIST_ITEM, None, BODY, "new office"),
        (1, T.LIST_ITEM, None, BODY, "two hires\nin March"),
        (1, T.LIST_ITEM, None, BODY, "better tools"),
        (1, T.HEADING, 2, BODY, "Next Steps"),
        (1, T.LIST_ITEM, None, BODY, "plan"),
        (1, T.LIST_ITEM, None, BODY, "build"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_text_blocks_in_unicode_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"doc-{encoding}.txt"
    path.write_bytes(TEXT_DOC.replace("\n", "\r\n").encode(encoding))
    pages = TextExtractor().extract(source(path, "text"), CFG)
    assert summary(pages) == _expected_text_doc()
    assert pages[0].blocks[0].extractor == "text"


def test_text_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Le café est prêt.\n\nNaïve résumé – “quoted”.".encode("cp1252"))
    pages = TextExtractor().extract(source(path, "text"), CFG)
    assert texts(pages) == ["Le café est prêt.", "Naïve résumé – “quoted”."]


def test_text_short_cp1252_word(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("café".encode("cp1252"))
    assert texts(TextExtractor().extract(source(path, "text"), CFG)) == ["café"]


def test_text_form_feeds_start_pages(tmp_path: Path) -> None:
    path = tmp_path / "paged.txt"
    path.write_text("Page one.\fPage two.\n\nMore two.\f\fPage four.\f", encoding="utf-8")
    src = source(path, "text")
    pages = TextExtractor().extract(src, CFG)
    assert [p.number for p in pages] == [1, 2, 3, 4]
    assert [len(p.blocks) for p in pages] == [1, 2, 0, 1]
    assert pages[2].method is ExtractionMethod.NONE
    assert summary(pages) == [
        (1, T.PARAGRAPH, None, BODY, "Page one."),
        (2, T.PARAGRAPH, None, BODY, "Page two."),
        (2, T.PARAGRAPH, None, BODY, "More two."),
        (4, T.PARAGRAPH, None, BODY, "Page four."),
    ]
    assert [b.id for p in pages for b in p.blocks] == [
        b.id for p in TextExtractor().extract(src, CFG) for b in p.blocks
    ]


def test_text_heading_needs_following_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "end.txt"
    path.write_text("Some text here.\n\nThe End\n", encoding="utf-8")
    assert summary(TextExtractor().extract(source(path, "text"), CFG)) == [
        (1, T.PARAGRAPH, None, BODY, "Some text here."),
        (1, T.PARAGRAPH, None, BODY, "The End"),
    ]


# -- Markdown -----------------------------------------------------------------

MARKDOWN_DOC = """# Project *Doorstep*

Intro with a [link](https://example.com) and `code`.

## Install

- first step
- second step
  - nested step

| Name | Value |
|------|-------|
| a    | **1** |

```python
def f():
    return 1
```

> Quoted text.

# Another top heading
"""


def test_markdown_blocks(tmp_path: Path) -> None:
    path = tmp_path / "readme.md"
    path.write_text(MARKDOWN_DOC, encoding="utf-8")
    src = source(path, "markdown")
    pages = MarkdownExtractor().extract(src, CFG)
    assert summary(pages) == [
        (1, T.TITLE, None, BODY, "Project Doorstep"),
        (1, T.PARAGRAPH, None, BODY, "Intro with a link and code."),
        (1, T.HEADING, 2, BODY, "Install"),
        (1, T.LIST_ITEM, None, BODY, "first step"),
        (1, T.LIST_ITEM, None, BODY, "second step"),
        (1, T.LIST_ITEM, None, BODY, "nested step"),
        (1, T.TABLE, None, BODY, "Name\tValue\na\t1"),
        (1, T.PARAGRAPH, None, BODY, "def f():\n    return 1"),
        (1, T.PARAGRAPH, None, BODY, "Quoted text."),
        (1, T.HEADING, 1, BODY, "Another top heading"),
    ]
    assert [b.id for b in pages[0].blocks] == [
        b.id for b in MarkdownExtractor().extract(src, CFG)[0].blocks
    ]


# -- e-mail -------------------------------------------------------------------


def make_plain_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "Meeting notes – Q3"
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "bob@example.com"
    msg["Date"] = "Mon, 01 Jul 2024 10:00:00 +0000"
    msg.set_content("Hi Bob\n\nHere are the notes.\n\n- item one\n- item two\n\nAlice\n")
    path.write_bytes(msg.as_bytes())
    return path


def make_html_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "Invoice"
    msg["From"] = "billing@example.com"
    msg.set_content(
        "<html><head><title>Invoice mail</title><style>p{}</style></head><body>"
        "<h1>Your invoice</h1><p>Amount: <b>42 EUR</b></p></body></html>",
        subtype="html",
    )
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(
        b"PK fake", maintype="application", subtype="octet-stream", filename="b.docx"
    )
    path.write_bytes(msg.as_bytes())
    return path


def test_email_plain(tmp_path: Path) -> None:
    src = source(make_plain_eml(tmp_path / "plain.eml"), "email")
    pages = EmailExtractor().extract(src, CFG)
    assert summary(pages) == [
        (1, T.TITLE, None, BODY, "Meeting notes – Q3"),
        (
            1,
            T.PARAGRAPH,
            None,
            BODY,
            "From: Alice <alice@example.com>\nTo: bob@example.com\n"
            "Date: Mon, 01 Jul 2024 10:00:00 +0000",
        ),
        (1, T.PARAGRAPH, None, BODY, "Hi Bob"),
        (1, T.PARAGRAPH, None, BODY, "Here are the notes."),
        (1, T.LIST_ITEM, None, BODY, "item one"),
        (1, T.LIST_ITEM, None, BODY, "item two"),
        (1, T.PARAGRAPH, None, BODY, "Alice"),
    ]
    assert [b.id for b in pages[0].blocks] == [
        b.id for b in EmailExtractor().extract(src, CFG)[0].blocks
    ]


def test_email_html_only_with_attachments(tmp_path: Path) -> None:
    src = source(make_html_eml(tmp_path / "html.eml"), "email")
    pages = EmailExtractor().extract(src, CFG)
    assert summary(pages) == [
        (1, T.TITLE, None, BODY, "Invoice"),
        (1, T.PARAGRAPH, None, BODY, "From: billing@example.com"),
        (1, T.HEADING, 1, BODY, "Your invoice"),
        (1, T.PARAGRAPH, None, BODY, "Amount: 42 EUR"),
        (1, T.PARAGRAPH, None, BODY, "Attachments: a.pdf, b.docx"),
    ]


# -- registry and offline use -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("docx", DocxExtractor),
        ("html", HtmlExtractor),
        ("text", TextExtractor),
        ("markdown", MarkdownExtractor),
        ("email", EmailExtractor),
    ],
)
def test_registry_resolves_native_extractors(kind: str, cls: type) -> None:
    extractor = get_extractor(kind)
    assert isinstance(extractor, cls)
    assert extractor.name == kind


OFFLINE_SCRIPT = textwrap.dedent(
    """
    import hashlib, socket, sys
    from pathlib import Path
    from extractors.base import Source
    from extractors.registry import get_extractor
    from pipelines.config import ExtractConfig

    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        sys.exit("the network is reachable: the test cannot prove anything")
    except OSError:
        pass
    for arg in sys.argv[1:]:
        kind, _, name = arg.partition("=")
        path = Path(name)
        src = Source(path=path, kind=kind, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        pages = get_extractor(kind).extract(src, ExtractConfig())
        print(kind, sum(len(p.blocks) for p in pages))
    loaded = sorted(m for m in sys.modules if m.startswith(("unstructured", "spacy", "nltk")))
    print("loaded:" + ",".join(loaded))
    """
)


def test_all_native_extractors_work_without_network(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root and unshare to cut the network")
    html_path = tmp_path / "page.html"
    html_path.write_text(HTML_DOC, encoding="utf-8")
    txt_path = tmp_path / "doc.txt"
    txt_path.write_text(TEXT_DOC, encoding="utf-8")
    md_path = tmp_path / "readme.md"
    md_path.write_text(MARKDOWN_DOC, encoding="utf-8")
    files = {
        "docx": make_docx(tmp_path / "report.docx"),
        "html": html_path,
        "text": txt_path,
        "markdown": md_path,
        "email": make_html_eml(tmp_path / "mail.eml"),
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [unshare, "-n", sys.executable, "-c", OFFLINE_SCRIPT]
        + [f"{kind}={path}" for kind, path in files.items()],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0 and "unshare failed" in result.stderr:
        pytest.skip(f"unshare is not permitted here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    counts = dict(line.split() for line in lines[:-1])
    assert set(counts) == set(files)
    assert all(int(n) > 0 for n in counts.values()), counts
    assert lines[-1] == "loaded:", lines[-1]
