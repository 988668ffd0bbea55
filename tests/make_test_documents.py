"""Save extracted (pre-stage) Documents of samples as JSON test inputs.

Run ``python -m tests.make_test_documents`` to refresh ``tests/data/``. Stage
tests load these files, so they need neither Tesseract nor PyMuPDF and stay
stable when extraction changes.
"""

from __future__ import annotations

from pathlib import Path

from extractors.detect import identify
from extractors.registry import extractor_for
from pipelines import __version__
from pipelines.config import PipelineConfig
from pipelines.model import Document

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ["born_digital_report.pdf", "scanned_report.pdf", "memo.docx"]


def extracted(path: Path, cfg: PipelineConfig) -> Document:
    src = identify(path)
    pages = extractor_for(src.kind).extract(src, cfg.extract)
    return Document(
        id=src.doc_id,
        source=path.name,
        sha256=src.sha256,
        kind=src.kind,
        pages=pages,
        pipeline_version=__version__,
        config_hash=cfg.config_hash(),
    )


def main() -> None:
    cfg = PipelineConfig()
    out = ROOT / "tests" / "data"
    out.mkdir(exist_ok=True)
    for name in SAMPLES:
        doc = extracted(ROOT / "fixtures" / "samples" / name, cfg)
        (out / f"{name}.extracted.json").write_text(doc.model_dump_json(indent=1) + "\n")


if __name__ == "__main__":
    main()
