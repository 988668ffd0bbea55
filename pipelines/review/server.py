"""The review server: a standard-library HTTP server with a small JSON API (no Prefect).

This module owns routing, request checks and the mapping of typed errors to
HTTP statuses (:data:`STATUS_FOR`). Routes:

- ``GET /`` and ``GET /static/<asset>``: the page, its CSS and JS (package data);
- ``GET /api/items?grade=&reason=&source=&kind=``: pages and chunks, worst first;
- ``GET /api/doc/<id>/page/<n>`` and ``.../image.png``: one page and its image;
- ``POST /api/corrections/<id>/page/<n>`` (``{"status", "text"}``) and
  ``POST /api/corrections/<id>/chunk/<chunk id>`` (``{"status"}``): save a
  correction or verdict (``status`` null clears it), then rebuild the combined
  outputs as the last run did.

POSTs must be JSON (a cross-site form cannot send that without a CORS
preflight, which this server never grants) and the ``Host`` header must name
this server (no DNS rebinding). It listens on loopback unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pipelines.combined import rebuild_as_last_run
from pipelines.corrections import ChunkEdit, PageEdit, parse_edit
from pipelines.errors import (
    BatchLocked,
    DoorstepError,
    InvalidCorrection,
    NotReviewable,
    ReviewError,
)
from pipelines.review.data import ReviewData
from pipelines.state import open_state

logger = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
REBUILD_WAIT_S = 10.0
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
}
STATUS_FOR: dict[type[DoorstepError], HTTPStatus] = {
    InvalidCorrection: HTTPStatus.BAD_REQUEST,
    NotReviewable: HTTPStatus.NOT_FOUND,
    BatchLocked: HTTPStatus.CONFLICT,
}
_PAGE = re.compile(r"^/api/doc/([^/]+)/page/([^/]+)$")
_IMAGE = re.compile(r"^/api/doc/([^/]+)/page/([^/]+)/image\.png$")
_SAVE_PAGE = re.compile(r"^/api/corrections/([^/]+)/page/([^/]+)$")
_SAVE_CHUNK = re.compile(r"^/api/corrections/([^/]+)/chunk/([^/]+)$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def status_for(exc: DoorstepError) -> HTTPStatus:
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return HTTPStatus.INTERNAL_SERVER_ERROR


def _page_number(value: str) -> int:
    if not value.isdigit() or len(value) > 7 or int(value) < 1:
        raise InvalidCorrection(f"invalid page number: {value[:20]!r}")
    return int(value)


class ReviewServer(ThreadingHTTPServer):
    """One output folder's review server."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], outdir: Path) -> None:
        self.outdir = outdir
        self.data = ReviewData(outdir)
        self.rebuild_lock = threading.Lock()
        super().__init__(address, ReviewHandler)

    def rebuild(self) -> bool:
        """Rebuild the combined outputs; False if a run held the folder for too long."""
        deadline = time.monotonic() + REBUILD_WAIT_S
        with self.rebuild_lock:
            while True:
                try:
                    with open_state(self.outdir) as store:
                        rebuild_as_last_run(self.outdir, store)
                        return True
                except BatchLocked:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.2)

    def save(self, doc_id: str, what: str, key: str, body: bytes) -> dict[str, Any]:
        entry = self.data.entry(doc_id)
        if what == "page":
            number = _page_number(key)
            self.data.store.save_page(entry.raw, number, parse_edit(PageEdit, body))
        else:
            self.data.store.save_chunk(entry.shown, key, parse_edit(ChunkEdit, body))
        rebuilt = self.rebuild()
        message = (
            "saved; outputs rebuilt"
            if rebuilt
            else "saved; a doorstep run is writing this folder, its outputs will include it"
        )
        return {"ok": True, "rebuilt": rebuilt, "message": message}


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "doorstep-review"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # ------------------------------------------------------------------ replies

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, exc: DoorstepError) -> None:
        status = status_for(exc)
        payload = {"error": exc.code, "message": exc.message, "hint": exc.hint}
        self._json(payload, status)

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            if not self._host_ok():
                raise InvalidCorrection(f"unexpected Host header: {self.headers.get('Host')!r}")
            action()
        except DoorstepError as exc:
            self._error(exc)
        except Exception as exc:  # a bug: answer 500 with a typed body, keep serving
            logger.exception("review request %s failed", self.path)
            self._error(ReviewError(f"internal error: {type(exc).__name__}: {exc}"))

    def _host_ok(self) -> bool:
        """On loopback, only loopback names (a rebound DNS name is refused)."""
        bound = str(self.server.server_address[0])
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return bound not in _LOOPBACK or host in _LOOPBACK

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        image, page = _IMAGE.match(path), _PAGE.match(path)
        if path in ("/", "/index.html"):
            self._asset("index.html")
        elif path.startswith("/static/"):
            self._asset(unquote(path.removeprefix("/static/")))
        elif path == "/api/items":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            filters = {k: query.get(k, "") for k in ("grade", "reason", "source", "kind")}
            self._json(self.server.data.items(**filters))
        elif image is not None:
            doc_id, number = unquote(image[1]), _page_number(unquote(image[2]))
            self._send(HTTPStatus.OK, self.server.data.image(doc_id, number), "image/png")
        elif page is not None:
            doc_id, number = unquote(page[1]), _page_number(unquote(page[2]))
            self._json(self.server.data.page(doc_id, number))
        else:
            raise NotReviewable(f"no such page: {path[:200]}")

    def _post(self) -> None:
        path = urlsplit(self.path).path
        page, chunk = _SAVE_PAGE.match(path), _SAVE_CHUNK.match(path)
        if page is None and chunk is None:
            raise NotReviewable(f"no such endpoint: {path[:200]}")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise InvalidCorrection(
                "the request body must be JSON (Content-Type: application/json)"
            )
        length = self.headers.get("Content-Length") or ""
        if not length.isdigit() or int(length) > MAX_BODY:
            raise InvalidCorrection(f"a JSON body of at most {MAX_BODY} bytes is required")
        body = self.rfile.read(int(length))
        m = page or chunk
        assert m is not None
        what = "page" if page is not None else "chunk"
        self._json(self.server.save(unquote(m[1]), what, unquote(m[2]), body))

    def _asset(self, name: str) -> None:
        if name not in ASSETS:
            raise NotReviewable(f"no such file: {name[:100]}")
        body = resources.files("pipelines.review").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, body, ASSETS[name])


def make_server(outdir: Path, host: str = "127.0.0.1", port: int = 0) -> ReviewServer:
    """A bound (not yet serving) review server for ``outdir``; port 0 picks a free one."""
    if host not in _LOOPBACK:
        logger.warning("the review page listens on %s: anyone who can reach it can edit", host)
    return ReviewServer((host, port), outdir)
