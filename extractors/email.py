"""E-mail files (``.eml``, RFC 5322/MIME): headers, body text and attachment names.

This module owns the reading of single e-mail messages with the standard
library's :mod:`email` package (``policy.default``, so encoded words and
charsets are decoded). Blocks, all on page 1:

1. TITLE: the Subject (when present);
2. PARAGRAPH: ``From: …``, ``To: …``, ``Date: …`` lines (only those present);
3. the body: the ``text/plain`` part, split like a plain-text file (without
   heading guessing); when there is no plain text, the ``text/html`` part read
   with :func:`extractors.html.html_items` (its ``h1`` becomes a HEADING, since
   the Subject is the title);
4. PARAGRAPH: ``Attachments: a.pdf, b.docx`` listing attachment file names.

Attachments are not extracted in this version.
"""

from __future__ import annotations

import logging
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from extractors._native import Item, build_pages, decode_text, read_source
from extractors.base import Source
from pipelines.config import ExtractConfig
from pipelines.errors import CorruptDocument
from pipelines.model import ElementType, Page

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "email"

_ADDRESS_HEADERS = ("From", "To", "Date")


def parse_message(data: bytes, name: str = "message") -> EmailMessage:
    """Parse raw message bytes; raises :class:`CorruptDocument` if that fails."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # the parser is lenient; anything raised means a broken file
        raise CorruptDocument(f"{name} is not a readable e-mail message: {exc}") from exc
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default guarantees it
        raise CorruptDocument(f"{name} did not parse as an e-mail message")
    return message


def email_items(message: EmailMessage) -> list[Item]:
    """The blocks of a parsed message, in order (all on page 1)."""
    items: list[Item] = []
    subject = _header(message, "Subject")
    if subject:
        items.append(Item(ElementType.TITLE, subject))
    lines = [f"{name}: {value}" for name in _ADDRESS_HEADERS if (value := _header(message, name))]
    if lines:
        items.append(Item(ElementType.PARAGRAPH, "\n".join(lines)))
    body_part, body_items = _body(message, has_title=bool(subject))
    items.extend(body_items)
    names = [
        filename
        for part in message.walk()
        if part is not body_part and (filename := _filename(part))
    ]
    if names:
        items.append(Item(ElementType.PARAGRAPH, "Attachments: " + ", ".join(names)))
    return items


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:  # malformed header
        logger.debug("unreadable %s header: %s", name, exc)
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _filename(part: Message) -> str:
    try:
        filename = part.get_filename()
    except (ValueError, TypeError, IndexError, AttributeError):
        return ""
    return filename.strip() if filename else ""


def _body(message: EmailMessage, *, has_title: bool) -> tuple[Message | None, list[Item]]:
    """The part used as the body and its items: plain text preferred, else HTML."""
    from extractors.html import html_items
    from extractors.text import text_items

    plain = _find_part(message, "plain")
    if plain is not None:
        text = _part_text(plain)
        if text.strip():
            return plain, text_items(text, split_pages=False, detect_headings=False)
    html = _find_part(message, "html")
    if html is not None:
        items = html_items(_part_text(html), use_title_tag=not has_title)
        if has_title:
            items = [
                Item(ElementType.HEADING, i.text, level=1, layer=i.layer)
                if i.type is ElementType.TITLE
                else i
                for i in items
            ]
        return html, items
    return plain, []


def _find_part(message: EmailMessage, subtype: str) -> Message | None:
    """The body part of the given text subtype (``plain`` or ``html``), if any."""
    try:
        part = message.get_body(preferencelist=(subtype,))
    except (KeyError, ValueError, TypeError, AttributeError):
        part = None
    if part is not None:
        return part
    # get_body() does not look inside e.g. multipart/signed or multipart/report.
    for candidate in message.walk():
        if (
            candidate.get_content_type() == f"text/{subtype}"
            and candidate.get_content_disposition() != "attachment"
            and not _filename(candidate)
        ):
            return candidate
    return None


def _part_text(part: Message) -> str:
    """Decoded text of a text part; unknown or wrong charsets fall back to detection."""
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, ValueError, TypeError, AttributeError) as exc:
            logger.debug("cannot decode part with its charset: %s", exc)
        else:
            if isinstance(content, str):
                return content
    payload = part.get_payload(decode=True)
    return decode_text(payload) if isinstance(payload, bytes) else ""


class EmailExtractor:
    """E-mail message → one page: subject, addresses, body, attachment names."""

    name = "email"

    def extract(self, source: Source, cfg: ExtractConfig) -> list[Page]:
        message = parse_message(read_source(source), source.path.name)
        try:
            items = email_items(message)
        except CorruptDocument as exc:  # an HTML body lxml cannot read at all
            raise CorruptDocument(f"{source.path.name}: {exc.message}") from exc
        return build_pages(
            source, items, extractor=EXTRACTOR_NAME, method_reason="parsed e-mail message"
        )
