"""Extractors: one module per source kind, behind one protocol and a registry.

Each extractor turns one source file into :class:`pipelines.model.Page` objects
with blocks. Heavy libraries (PyMuPDF, OpenCV, pytesseract, python-docx) are
imported lazily inside the modules that need them.
"""

from extractors.base import Extractor, Source
from extractors.registry import extractor_for, get_extractor, known_extractors

__all__ = ["Extractor", "Source", "extractor_for", "get_extractor", "known_extractors"]
