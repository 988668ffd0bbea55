"""``doorstep review``: a local page to review low-quality output and correct it.

:mod:`pipelines.review.data` reads the output folder (documents as stored and
as corrected, page images), :mod:`pipelines.review.server` serves the JSON API
and the page in ``static/`` (no network assets). Corrections are stored by
:mod:`pipelines.corrections`. Nothing here imports Prefect.
"""

from pipelines.review.server import ReviewServer, make_server

__all__ = ["ReviewServer", "make_server"]
