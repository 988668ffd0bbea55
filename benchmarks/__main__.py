"""``python -m benchmarks``: see :mod:`benchmarks.ocr_accuracy`."""

from __future__ import annotations

import sys

from benchmarks.ocr_accuracy import main

if __name__ == "__main__":
    sys.exit(main())
