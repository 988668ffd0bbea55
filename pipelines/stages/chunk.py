"""Chunking along the document's structure, with a size limit and provenance.

A heading (or title) closes the running chunk and opens a new section; the
chunk carries the path of headings above it. Blocks are added until the next
one would pass ``max_chars``; a single block longer than that is split at
sentence ends, else at spaces, never inside a word. Chunks shorter than
``min_chars`` merge into the following chunk of the same section. Offsets
point into ``Document.text()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipelines.config import ChunkConfig
from pipelines.model import (
    Block,
    BlockRef,
    Chunk,
    Document,
    ElementType,
    Layer,
    stable_id,
)

_HEADING_TYPES = (ElementType.TITLE, ElementType.HEADING)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_SEPARATOR = "\n\n"


@dataclass
class _Piece:
    """A block, or part of a long block, with its offset in the document text."""

    block: Block
    text: str
    start: int
    end: int


@dataclass
class _Draft:
    headings: list[str]
    pieces: list[_Piece] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(p.text) for p in self.pieces) + len(_SEPARATOR) * max(
            0, len(self.pieces) - 1
        )


def block_offsets(doc: Document) -> dict[str, tuple[int, int]]:
    """Offsets of every body block in ``Document.text()``."""
    offsets: dict[str, tuple[int, int]] = {}
    pos = 0
    for pi, page in enumerate(doc.pages):
        if pi:
            pos += 1  # the form feed between pages
        first = True
        for b in page.blocks:
            if b.layer is not Layer.BODY or not b.text:
                continue
            if not first:
                pos += len(_SEPARATOR)
            offsets[b.id] = (pos, pos + len(b.text))
            pos += len(b.text)
            first = False
    return offsets


def split_text(text: str, limit: int) -> list[tuple[int, int]]:
    """Spans of ``text`` no longer than ``limit``, cut at sentence ends or spaces."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    while n - start > limit:
        window = text[start : start + limit + 1]
        cut = -1
        for m in _SENTENCE_END_RE.finditer(window):
            if m.start() > limit // 3:
                cut = m.start()
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:  # one enormous token: cut at the limit rather than never
            cut = limit
        spans.append((start, start + cut))
        start += cut
        while start < n and text[start].isspace():
            start += 1
    if start < n:
        spans.append((start, n))
    return spans


def _pieces(block: Block, offset: tuple[int, int] | None, limit: int) -> list[_Piece]:
    base = offset[0] if offset else -1
    if len(block.text) <= limit or block.type is ElementType.TABLE:
        end = offset[1] if offset else -1
        return [_Piece(block, block.text, base, end)]
    return [
        _Piece(block, block.text[a:b], base + a if offset else -1, base + b if offset else -1)
        for a, b in split_text(block.text, limit)
    ]


def _to_chunk(doc: Document, index: int, draft: _Draft) -> Chunk:
    text = _SEPARATOR.join(p.text for p in draft.pieces)
    blocks: list[BlockRef] = []
    seen: set[str] = set()
    for p in draft.pieces:
        if p.block.id not in seen:
            seen.add(p.block.id)
            blocks.append(BlockRef(block_id=p.block.id, page=p.block.page, bbox=p.block.bbox))
    starts = [p.start for p in draft.pieces if p.start >= 0]
    ends = [p.end for p in draft.pieces if p.end >= 0]
    types: list[ElementType] = []
    for p in draft.pieces:
        if p.block.type not in types:
            types.append(p.block.type)
    pages = [p.block.page for p in draft.pieces]
    return Chunk(
        id=stable_id(doc.id, index, text),
        doc_id=doc.id,
        index=index,
        text=text,
        page_start=min(pages),
        page_end=max(pages),
        headings=list(draft.headings),
        blocks=blocks,
        element_types=types,
        char_start=min(starts) if starts else -1,
        char_end=max(ends) if ends else -1,
        extractors=sorted({p.block.extractor for p in draft.pieces}),
    )


def _merge_small(drafts: list[_Draft], cfg: ChunkConfig) -> list[_Draft]:
    out: list[_Draft] = []
    for d in drafts:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.size < cfg.min_chars
            and prev.size + d.size + len(_SEPARATOR) <= cfg.max_chars
            and d.headings[: len(prev.headings)] == prev.headings
        ):
            prev.pieces.extend(d.pieces)
            prev.headings = d.headings
        else:
            out.append(d)
    return out


def chunk(doc: Document, cfg: ChunkConfig) -> Document:
    """A copy of ``doc`` with ``chunks`` rebuilt from its blocks."""
    offsets = block_offsets(doc)
    path: list[tuple[int, str]] = []  # (level, heading text)
    drafts: list[_Draft] = []
    current = _Draft(headings=[])
    for page in doc.pages:
        for block in page.blocks:
            if not block.text or (block.layer is Layer.FURNITURE and not cfg.include_furniture):
                continue
            if block.type in _HEADING_TYPES and block.layer is Layer.BODY:
                level = 0 if block.type is ElementType.TITLE else (block.level or 1)
                path = [(lv, t) for lv, t in path if lv < level] + [(level, block.text)]
                if current.pieces:
                    drafts.append(current)
                current = _Draft(headings=[t for _, t in path])
            for piece in _pieces(block, offsets.get(block.id), cfg.max_chars):
                needed = len(piece.text) + (len(_SEPARATOR) if current.pieces else 0)
                if current.pieces and current.size + needed > cfg.max_chars:
                    drafts.append(current)
                    current = _Draft(headings=list(current.headings))
                current.pieces.append(piece)
    if current.pieces:
        drafts.append(current)
    chunks = [_to_chunk(doc, i, d) for i, d in enumerate(_merge_small(drafts, cfg))]
    return doc.model_copy(update={"chunks": chunks})
