"""Every error doorstep raises, in one tree.

    DoorstepError
    ├── InputError                  the input document cannot be used as given
    │   ├── SourceNotFound          path missing or not a regular file
    │   ├── SourceUnreadable        permission denied or I/O error while reading
    │   ├── EmptySource             zero-byte file
    │   ├── UnsupportedFormat       no extractor knows this kind of file
    │   ├── EncryptedDocument       needs a password
    │   ├── CorruptDocument         the file is damaged beyond repair
    │   ├── SourceChanged           the file changed while it was being read
    │   └── ImageTooLarge           over the pixel limit (decompression-bomb guard)
    ├── ExtractionError             reading content out of a valid document failed
    │   ├── PageExtractionError     one page failed (the document goes on: partial)
    │   └── OcrError                the OCR engine failed
    │       ├── OcrEngineUnavailable    tesseract is not installed
    │       └── LanguagePackMissing     a requested tesseract language is missing
    ├── ConfigError                 the configuration is invalid
    ├── OutputError                 results could not be written
    ├── WorkerError                 the isolated worker converting a document failed
    │   ├── ResourceLimitExceeded   the worker went over the memory cap (it is recycled)
    │   ├── DocumentTimeout         the document took longer than the per-document limit
    │   └── TransientError          may succeed when tried again (retried, bounded)
    │       ├── WorkerCrashed           the worker process died unexpectedly
    │       └── TransientIOError        an OS-level error talking to the worker or disk
    ├── StateError                  the batch state store in OUTDIR/.doorstep is unusable
    │   └── BatchLocked             another run is writing the same output folder
    └── ReviewError                 the review page (``doorstep review``) cannot serve a request
        ├── InvalidCorrection       a malformed correction or id (HTTP 400)
        └── NotReviewable           no such document, page or page image (HTTP 404)

Each class carries a stable ``code`` and a ``hint`` that tells the user what to
do. Errors are recorded per document as :class:`pipelines.model.ErrorRecord`
(see :func:`to_record`) so one bad file never stops a batch. Code that handles
errors matches on these classes, never on message text.
"""

from __future__ import annotations

from pipelines.model import ErrorRecord


class DoorstepError(Exception):
    code = "ERROR"
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None, page: int | None = None):
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.page = page


class InputError(DoorstepError):
    code = "INPUT"


class SourceNotFound(InputError):
    code = "NOT_FOUND"
    hint = "Check the path; it must name a regular file."


class SourceUnreadable(InputError):
    code = "UNREADABLE"
    hint = "Check the file's permissions and that the disk is readable."


class EmptySource(InputError):
    code = "EMPTY"
    hint = "The file has no bytes; re-export or re-scan it."


class UnsupportedFormat(InputError):
    code = "UNSUPPORTED"
    hint = "Supported: PDF, PNG, JPEG, TIFF, BMP, WebP, DOCX, HTML, TXT, Markdown, EML."


class EncryptedDocument(InputError):
    code = "ENCRYPTED"
    hint = (
        "The PDF needs a password: pass it with --password, or list candidates one per "
        "line in a file given with --passwords-file."
    )


class CorruptDocument(InputError):
    code = "CORRUPT"
    hint = "The file is damaged; try re-saving it from the application that made it."


class SourceChanged(InputError):
    code = "CHANGED"
    hint = "The file changed while it was read; the next run converts it again."


class ImageTooLarge(InputError):
    code = "IMAGE_TOO_LARGE"
    hint = "Raise the limit with --max-image-pixels if the file is trusted."


class ExtractionError(DoorstepError):
    code = "EXTRACTION"


class PageExtractionError(ExtractionError):
    code = "PAGE_FAILED"
    hint = "The rest of the document was converted; inspect this page by hand."


class OcrError(ExtractionError):
    code = "OCR_FAILED"
    hint = "Run with --debug to see the OCR engine's output."


class OcrEngineUnavailable(OcrError):
    code = "OCR_UNAVAILABLE"
    hint = "Install Tesseract: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd"


class LanguagePackMissing(OcrError):
    code = "LANGUAGE_MISSING"


class ConfigError(DoorstepError):
    code = "CONFIG"


class OutputError(DoorstepError):
    code = "OUTPUT"
    hint = "Check that the output folder is writable and the disk has space."


class WorkerError(DoorstepError):
    code = "WORKER"


class ResourceLimitExceeded(WorkerError):
    code = "RESOURCE_LIMIT"
    hint = "The document needs more memory than the cap allows: raise --memory-mb or split it."


class DocumentTimeout(WorkerError):
    code = "TIMEOUT"
    hint = "The document took longer than the per-document limit: raise --timeout."


class TransientError(WorkerError):
    code = "TRANSIENT"
    hint = "A temporary failure; the next run tries this document again."


class WorkerCrashed(TransientError):
    code = "WORKER_CRASHED"


class TransientIOError(TransientError):
    code = "TRANSIENT_IO"


class StateError(DoorstepError):
    code = "STATE"
    hint = "Delete OUTDIR/.doorstep to rebuild the state (every file is converted again)."


class BatchLocked(StateError):
    code = "LOCKED"
    hint = "Another doorstep run is writing this output folder; wait for it to finish."


class ReviewError(DoorstepError):
    code = "REVIEW"


class InvalidCorrection(ReviewError):
    code = "INVALID_CORRECTION"
    hint = 'Send JSON such as {"status": "corrected", "text": "..."}.'


class NotReviewable(ReviewError):
    code = "NOT_REVIEWABLE"
    hint = "Reload the review page: the output folder may have changed."


def to_record(exc: BaseException, page: int | None = None) -> ErrorRecord:
    """Turn any exception into an :class:`ErrorRecord`.

    Unexpected exceptions become ``INTERNAL`` records; they are still recorded,
    never lost.
    """
    if isinstance(exc, DoorstepError):
        return ErrorRecord(
            code=exc.code,
            error_type=type(exc).__name__,
            message=exc.message,
            hint=exc.hint,
            page=page if page is not None else exc.page,
        )
    return ErrorRecord(
        code="INTERNAL",
        error_type=type(exc).__name__,
        message=str(exc) or type(exc).__name__,
        hint="This is a bug in doorstep; please report it with the file if you can.",
        page=page,
    )
