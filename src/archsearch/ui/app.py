"""The dashboard as an ASGI app: a read-only JSON API over storage and the static front end.

Every endpoint is a GET; any other method is answered 405 before routing, and a request whose
Host header names neither an IP address nor localhost nor the host it was started for is
answered 400 (a page on another site that rebinds its DNS name to 127.0.0.1 still sends its own
name). Static files are looked up in a table built at start-up (the package's `static/` folder
plus plotly.js from the installed `plotly` package), so no request path ever reaches the file
system. Every response carries a Content-Security-Policy that allows scripts from this server
only.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, PlainTextResponse, Response
    from starlette.routing import Route
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        f"the dashboard needs the 'ui' extra ({exc.name} is missing): pip install 'archsearch[ui]'"
    ) from exc

from archsearch.storage import ExperimentNotFoundError, ExperimentRecord, Storage
from archsearch.ui.choices import choice_analysis
from archsearch.ui.experiments import overview, search_space_of, space_json, summary
from archsearch.ui.jsonable import clean
from archsearch.ui.logs import DEFAULT_TAIL_BYTES, MAX_TAIL_BYTES, tail
from archsearch.ui.oneshot import oneshot_view
from archsearch.ui.params import int_param, trial_id
from archsearch.ui.trials import (
    architecture_file,
    curves,
    parse_page_query,
    trial_detail,
    trials_page,
)

STATIC = Path(__file__).resolve().parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # plotly.js sets inline styles on the elements it draws (style attributes, not scripts).
    "style-src 'self' 'unsafe-inline'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

StorageSource = Storage | str | os.PathLike[str] | None
Handler = Callable[[Request], Awaitable[Response]]


def static_files() -> dict[str, Path]:
    """Every file the front end may load, by URL path below /static/."""
    files = {
        p.relative_to(STATIC).as_posix(): p
        for p in STATIC.rglob("*")
        if p.is_file() and p.suffix in CONTENT_TYPES
    }
    plotly = plotly_bundle()
    if plotly is not None:
        files["plotly.min.js"] = plotly
    return files


def plotly_bundle() -> Path | None:
    """plotly.min.js inside the installed `plotly` wheel, or None without plotly."""
    try:
        bundle = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    except ModuleNotFoundError:
        return None
    path = Path(str(bundle))
    return path if path.is_file() else None


class _Store:
    """The storage, opened on first use from the thread that serves requests (all handlers
    are async, so one thread uses the connection)."""

    def __init__(self, source: StorageSource) -> None:
        self.source = source
        self._storage: Storage | None = source if isinstance(source, Storage) else None

    def get(self) -> Storage:
        if self._storage is None:
            from archsearch.storage import open_storage

            self._storage = open_storage(self.source, mode="ro")  # the dashboard only reads
        return self._storage


def json_response(data: Any, status_code: int = 200) -> Response:
    """Strict JSON (no NaN), never cached: the data changes while an experiment runs."""
    try:  # the common case: already strict JSON, no need to walk it
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):  # a NaN or infinity somewhere, or a value JSON lacks
        body = json.dumps(clean(data), separators=(",", ":"), ensure_ascii=False)
    return Response(
        body,
        status_code=status_code,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def error_response(status_code: int, message: str) -> Response:
    """`{"error": message}` with the given status."""
    return json_response({"error": message}, status_code)


def create_app(storage: StorageSource = None, host: str = "127.0.0.1") -> Starlette:
    """The dashboard app over `storage` (a Storage, a database path, `sqlite:///path`, or None
    for the default store), answering requests addressed to `host`, `localhost` or an IP
    address (any port). It only reads."""
    store = _Store(storage)
    files = static_files()

    def api(fn: Callable[[Storage, Request], Any]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                result = fn(store.get(), request)
            except ExperimentNotFoundError as exc:
                return error_response(404, str(exc))
            except KeyError as exc:
                return error_response(404, str(exc.args[0]) if exc.args else "not found")
            except ValueError as exc:  # QueryError and bad sort/filter values from storage
                return error_response(400, str(exc))
            return result if isinstance(result, Response) else json_response(result)

        return endpoint

    def on_record(fn: Callable[[Storage, ExperimentRecord], Any]) -> Handler:
        """An endpoint that answers from the experiment named in its path."""
        return api(lambda storage, request: fn(storage, _record(storage, request)))

    async def index(request: Request) -> Response:
        return FileResponse(
            STATIC / "index.html", media_type=CONTENT_TYPES[".html"], headers=_NO_CACHE
        )

    async def static(request: Request) -> Response:
        name = request.path_params["path"]
        path = files.get(name)
        if path is None:
            return PlainTextResponse("not found", status_code=404)
        cache = {"cache-control": "public, max-age=86400"} if name == "plotly.min.js" else _NO_CACHE
        return FileResponse(path, media_type=CONTENT_TYPES[path.suffix], headers=cache)

    async def not_found(request: Request) -> Response:
        return error_response(404, f"no API endpoint {request.url.path}")

    routes = [
        Route("/", index),
        Route("/static/{path:path}", static),
        Route("/api/experiments", api(_experiments)),
        Route("/api/experiments/{experiment}", on_record(overview)),
        Route("/api/experiments/{experiment}/status", on_record(summary)),
        Route("/api/experiments/{experiment}/space", api(_space)),
        Route("/api/experiments/{experiment}/trials", api(_trials)),
        Route("/api/experiments/{experiment}/trials/{trial}", api(_trial)),
        Route("/api/experiments/{experiment}/trials/{trial}/log", api(_log)),
        Route("/api/experiments/{experiment}/trials/{trial}/architecture.json", api(_arch)),
        Route("/api/experiments/{experiment}/curves", api(_curves)),
        Route("/api/experiments/{experiment}/choices", on_record(choice_analysis)),
        Route("/api/experiments/{experiment}/oneshot", on_record(oneshot_view)),
        Route("/api/{rest:path}", not_found),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(ReadOnlyHeaders, host=host)
    return app


_NO_CACHE = {"cache-control": "no-cache"}


def _record(storage: Storage, request: Request) -> ExperimentRecord:
    return storage.experiment(request.path_params["experiment"])


def _experiments(storage: Storage, request: Request) -> Any:
    path = getattr(storage, "path", None)
    return {
        "storage": str(path) if path is not None else None,
        "experiments": [summary(storage, r) for r in storage.experiments()],
    }


def _space(storage: Storage, request: Request) -> Any:
    return space_json(search_space_of(_record(storage, request)))


def _trials(storage: Storage, request: Request) -> Any:
    record = _record(storage, request)
    space = search_space_of(record)
    labels = list(space) if space is not None else []
    query = parse_page_query(request.query_params, labels)
    return trials_page(storage, record, query)


def _trial(storage: Storage, request: Request) -> Any:
    return trial_detail(storage, _record(storage, request), trial_id(request.path_params["trial"]))


def _log(storage: Storage, request: Request) -> Response:
    record = _record(storage, request)
    trial = storage.trial(record.id, trial_id(request.path_params["trial"]))
    kb = int_param(
        request.query_params,
        "kb",
        DEFAULT_TAIL_BYTES // 1024,
        minimum=1,
        maximum=MAX_TAIL_BYTES // 1024,
    )
    if not trial.log_path:
        return error_response(404, f"trial {trial.id} has no log file")
    try:
        found = tail(trial.log_path, kb * 1024)
    except OSError as exc:
        return error_response(404, f"the log of trial {trial.id} cannot be read: {exc.strerror}")
    headers = {
        "cache-control": "no-store",
        "x-log-size": str(found.size),
        "x-log-truncated": "1" if found.truncated else "0",
    }
    return PlainTextResponse(found.text, headers=headers)


def _arch(storage: Storage, request: Request) -> Response:
    record = _record(storage, request)
    trial = storage.trial(record.id, trial_id(request.path_params["trial"]))
    name = f"{_safe_name(record.id)}-trial-{trial.id}.json"
    return Response(
        architecture_file(record, trial),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:64] or "experiment"


def _curves(storage: Storage, request: Request) -> Any:
    return curves(storage, _record(storage, request), request.query_params)


_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]/@]+)(:[0-9]{1,5})?")


def host_allowed(header: str | None, names: frozenset[str]) -> bool:
    """Whether a Host header names one of `names` or an IP address, with any port. DNS
    rebinding always sends the attacker's domain name, so an address is safe to accept."""
    match = _HOST.fullmatch(header or "")
    if match is None:
        return False
    name = match[1].strip("[]").lower()
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name in names
    return True


class ReadOnlyHeaders:
    """Refuse every method but GET and HEAD (405) and a foreign Host header (400), and add the
    security headers."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        self.names = frozenset({"localhost", host.strip("[]").lower()})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if not host_allowed(host, self.names):
            response = PlainTextResponse(
                f"unknown host {host[:100]!r}: this dashboard answers to "
                f"{', '.join(sorted(self.names))} or an IP address",
                status_code=400,
            )
            await response(scope, receive, self._with_headers(send))
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = PlainTextResponse(
                "the dashboard is read-only: only GET is allowed",
                status_code=405,
                headers={"allow": "GET, HEAD"},
            )
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        return wrapped
