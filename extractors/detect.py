"""Identify a file: its kind by content (magic bytes first, extension second) and its sha256.

The kind decides which extractor reads the file. A wrong or missing extension
does not matter when the content is recognisable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import zipfile
from pathlib import Path

from extractors.base import Source
from pipelines.errors import EmptySource, SourceNotFound, SourceUnreadable, UnsupportedFormat

logger = logging.getLogger(__name__)

_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"GIF87a",
    b"GIF89a",
)

_EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".bmp": "image",
    ".gif": "image",
    ".webp": "image",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".eml": "email",
}

_EMAIL_HEADERS = (
    b"from:",
    b"to:",
    b"subject:",
    b"date:",
    b"mime-version:",
    b"received:",
    b"return-path:",
    b"message-id:",
    b"delivered-to:",
)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start >= len(head) - 4:
            return True
    # Legacy 8-bit text: mostly printable bytes.
    printable = sum(1 for b in head if b >= 32 or b in (9, 10, 12, 13))
    return printable / len(head) > 0.95


def kind_from_bytes(head: bytes, path: Path) -> str | None:
    """The kind of a file from its first bytes (and, for text, its extension)."""
    ext = _EXTENSIONS.get(path.suffix.lower())
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if _is_docx(path) else None
    if not _looks_like_text(head):
        return None
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        b"<html" in lowered[:2048] and b"</" in lowered
    ):
        return "html"
    first_line = lowered.split(b"\n", 1)[0]
    if first_line.startswith(_EMAIL_HEADERS) and b"\n\n" in lowered.replace(b"\r\n", b"\n"):
        return "email"
    if ext in ("markdown", "html", "email"):
        return ext
    return "text"


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "word/document.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return path.suffix.lower() == ".docx"  # let the extractor report the damage


def identify(path: Path) -> Source:
    """Check, hash and classify one input file.

    Raises a typed :class:`pipelines.errors.InputError` for missing, unreadable,
    empty and unsupported files.
    """
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"no such file: {path}") from exc
    except OSError as exc:  # symlink loops, permission on a parent, …
        raise SourceUnreadable(f"cannot stat {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SourceNotFound(f"not a regular file: {path}")
    if st.st_size == 0:
        raise EmptySource(f"empty file (0 bytes): {path.name}")
    if not os.access(path, os.R_OK):
        raise SourceUnreadable(f"permission denied: {path}")
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
        digest = sha256_file(path)
    except OSError as exc:
        raise SourceUnreadable(f"cannot read {path}: {exc.strerror or exc}") from exc
    kind = kind_from_bytes(head, path)
    if kind is None:
        raise UnsupportedFormat(f"unrecognised file type: {path.name}")
    logger.debug("identified %s as %s", path, kind)
    return Source(path=path, kind=kind, sha256=digest)
