"""Name → extractor registry, with lazy imports and a helpful error."""

from __future__ import annotations

import importlib
from functools import cache

from extractors.base import Extractor
from pipelines.errors import ConfigError, UnsupportedFormat

# name → "module:Class"; the module is imported only when the extractor is used.
_EXTRACTORS: dict[str, str] = {
    "pdf": "extractors.pdf:PdfExtractor",
    "image": "extractors.image:ImageExtractor",
    "docx": "extractors.docx:DocxExtractor",
    "html": "extractors.html:HtmlExtractor",
    "text": "extractors.text:TextExtractor",
    "markdown": "extractors.markdown:MarkdownExtractor",
    "email": "extractors.email:EmailExtractor",
}


def known_extractors() -> list[str]:
    return sorted(_EXTRACTORS)


@cache
def get_extractor(name: str) -> Extractor:
    """The extractor registered under ``name``.

    Raises :class:`ConfigError` naming the known extractors when there is none.
    """
    target = _EXTRACTORS.get(name)
    if target is None:
        raise ConfigError(
            f"no extractor named {name!r}; known extractors: {', '.join(known_extractors())}"
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    extractor: Extractor = cls()
    return extractor


def extractor_for(kind: str) -> Extractor:
    """The extractor for a detected source kind."""
    if kind not in _EXTRACTORS:
        raise UnsupportedFormat(f"no extractor for files of kind {kind!r}")
    return get_extractor(kind)
