"""pytesseract, imported without pandas.

pytesseract imports pandas (and with it pyarrow) at import time, only for its
DataFrame output, which doorstep never asks for. In a worker process that costs
about 90 MB of resident memory for nothing, so the module is imported with
pandas hidden; pandas itself stays importable for everyone else afterwards.
The import runs once, at the import of this module (under Python's import lock,
so page threads cannot race it).
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType

logger = logging.getLogger(__name__)


def _import_without_pandas() -> ModuleType:
    if "pandas" in sys.modules or "pytesseract" in sys.modules:
        import pytesseract  # pandas is loaded anyway (or pytesseract already was)

        return pytesseract
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` fail
    try:
        import pytesseract
    finally:
        if sys.modules.get("pandas", ...) is None:
            del sys.modules["pandas"]
    return pytesseract


pytesseract = _import_without_pandas()
