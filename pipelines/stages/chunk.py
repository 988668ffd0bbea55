"""Chunking along the document's structure, with a token budget and provenance.

A heading (or title) closes the running chunk and opens a new section; the
chunk carries the path of headings above it. Blocks are added until the next
one would pass ``max_tokens``; a single block over the budget is split at
sentence ends, else at spaces, never inside a word; a table is split only
between rows. Chunks under ``min_tokens`` merge with the next chunk when it
is in the same section or a subsection; a chunk of headings alone always
merges into the section that follows. With ``overlap_tokens``, a chunk
starts with the last whole sentences of the previous chunk of its section.
Offsets point into ``Document.text()``; ids derive from document and content,
so the same input and config give byte-identical chunks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from pipelines.config import ChunkConfig, TokenCounter
from pipelines.errors import ConfigError
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
    tokens: int = 0


Counter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """Fast estimate of subword tokens: the larger of words x 1.33 and characters / 4.

    Words are runs of non-space characters (``str.split`` splits on exactly the
    characters that the regular expression ``\\s`` matches)."""
    words = len(text.split())
    return math.ceil(max(words * 1.33, len(text) / 4.0))


@cache
def _tokenizer_counter(path: str) -> Counter:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ConfigError(
            "exact token counting needs the 'tokenizers' package", hint="pip install tokenizers"
        ) from exc
    try:
        tok = Tokenizer.from_file(path)
    except Exception as exc:
        raise ConfigError(f"cannot load tokenizer file {path!r}: {exc}") from exc

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


def token_counter(cfg: ChunkConfig) -> Counter:
    """The token counter the config asks for (a local tokenizer file is never downloaded)."""
    if cfg.token_counter is TokenCounter.TOKENIZER:
        if not cfg.tokenizer_path:
            raise ConfigError("token_counter 'tokenizer' needs tokenizer_path")
        return _tokenizer_counter(cfg.tokenizer_path)
    return approx_tokens


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


def _table_spans(text: str, budget: int, count: Counter) -> list[tuple[int, int]]:
    """Spans of whole table rows, each within ``budget`` tokens where a row allows."""
    spans: list[tuple[int, int]] = []
    start = 0
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if pos > start and count(text[start:end]) > budget:
            spans.append((start, pos - 1))
            start = pos
        pos = end + 1
    spans.append((start, len(text)))
    return spans


def _pieces(
    block: Block, offset: tuple[int, int] | None, budget: int, count: Counter
) -> list[tuple[_Piece, int]]:
    """The block's pieces within ``budget``, each with its token count."""
    base = offset[0] if offset else -1
    n = count(block.text)
    if n <= budget:
        end = offset[1] if offset else -1
        return [(_Piece(block, block.text, base, end), n)]
    if block.type is ElementType.TABLE:
        spans = _table_spans(block.text, budget, count)
    else:
        limit = max(20, int(len(block.text) * budget / n * 0.95))
        spans = split_text(block.text, limit)
    pieces = [
        _Piece(block, block.text[a:b], base + a if offset else -1, base + b if offset else -1)
        for a, b in spans
    ]
    return [(p, count(p.text)) for p in pieces]


def _to_chunk(doc: Document, index: int, draft: _Draft, overlap: str, count: Counter) -> Chunk:
    own = _SEPARATOR.join(p.text for p in draft.pieces)
    text = f"{overlap}{_SEPARATOR}{own}" if overlap else own
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
        overlap_chars=len(overlap) + len(_SEPARATOR) if overlap else 0,
        tokens=count(text),
        source=doc.source,
        sha256=doc.sha256,
        extractors=sorted({p.block.extractor for p in draft.pieces}),
        pipeline_version=doc.pipeline_version,
        config_hash=doc.config_hash,
    )


def _merge_small(drafts: list[_Draft], cfg: ChunkConfig, count: Counter) -> list[_Draft]:
    out: list[_Draft] = []
    for d in drafts:
        prev = out[-1] if out else None
        headings_only = prev is not None and all(
            p.block.type in _HEADING_TYPES for p in prev.pieces
        )
        if (
            prev is not None
            and prev.tokens < cfg.min_tokens
            and prev.tokens + d.tokens <= cfg.max_tokens
            and (headings_only or d.headings[: len(prev.headings)] == prev.headings)
        ):
            prev.pieces.extend(d.pieces)
            prev.headings = d.headings
            prev.tokens = count(_SEPARATOR.join(p.text for p in prev.pieces))
        else:
            out.append(d)
    return out


def _tail_sentences(text: str, budget: int, count: Counter) -> str:
    """The last whole sentences of ``text`` that fit in ``budget`` tokens."""
    if budget <= 0:
        return ""
    sentences = _SENTENCE_END_RE.split(text.replace(_SEPARATOR, " "))
    tail: list[str] = []
    for sentence in reversed(sentences):
        candidate = " ".join([sentence, *tail])
        if count(candidate) > budget:
            break
        tail.insert(0, sentence)
    return " ".join(tail)


def chunk(doc: Document, cfg: ChunkConfig) -> Document:
    """A copy of ``doc`` with ``chunks`` rebuilt from its blocks."""
    count = token_counter(cfg)
    offsets = block_offsets(doc)
    path: list[tuple[int, str]] = []  # (level, heading text)
    drafts: list[_Draft] = []
    current = _Draft(headings=[])
    budget = max(1, cfg.max_tokens - cfg.overlap_tokens)
    sep = count(_SEPARATOR) if count is not approx_tokens else 0
    for page in doc.pages:
        for block in page.blocks:
            if not block.text or block.layer is Layer.NOTES:
                continue  # suspected handwriting: never in chunk text
            if block.layer is Layer.FURNITURE and not cfg.include_furniture:
                continue
            if block.type in _HEADING_TYPES and block.layer is Layer.BODY:
                level = 0 if block.type is ElementType.TITLE else (block.level or 1)
                path = [(lv, t) for lv, t in path if lv < level] + [(level, block.text)]
                if current.pieces:
                    drafts.append(current)
                current = _Draft(headings=[t for _, t in path])
            for piece, n in _pieces(block, offsets.get(block.id), budget, count):
                if current.pieces and current.tokens + sep + n > budget:
                    drafts.append(current)
                    current = _Draft(headings=list(current.headings))
                current.pieces.append(piece)
                current.tokens += n + (sep if len(current.pieces) > 1 else 0)
    if current.pieces:
        drafts.append(current)
    merged = _merge_small(drafts, cfg, count)
    chunks: list[Chunk] = []
    for i, d in enumerate(merged):
        overlap = ""
        if i and cfg.overlap_tokens and merged[i - 1].headings == d.headings:
            previous = _SEPARATOR.join(p.text for p in merged[i - 1].pieces)
            overlap = _tail_sentences(previous, cfg.overlap_tokens, count)
        chunks.append(_to_chunk(doc, i, d, overlap, count))
    return doc.model_copy(update={"chunks": chunks})
