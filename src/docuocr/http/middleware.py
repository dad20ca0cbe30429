"""What every request goes through: a request id (on the response and in the logs), one log line
and the request metrics, a body-size limit decided before the body is read, and JSON errors in
Upstage's shape for everything that goes wrong."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docuocr.config import ModelLimits
from docuocr.errors import DocumentTooLarge, DocuocrError, TooManyRequests, Unauthorized
from docuocr.metrics import UNMATCHED, Metrics
from docuocr.pool import RETRY_AFTER_S

log = logging.getLogger("docuocr.api")  # the name the request log lines have always had

# Room for the multipart framing and the small form fields around a maximum-size document.
MULTIPART_ALLOWANCE = 64 * 1024

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record as `%(request_id)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def error_response(err: DocuocrError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(err.to_json(), status_code=err.status, headers=headers)


def http_error(status: int, message: str, code: str) -> DocuocrError:
    """An error of any HTTP status, typed `server_error` from 500 on."""
    err = DocuocrError(message, code=code, status=status)
    if status >= 500:
        err.type = "server_error"
    return err


def _route_template(scope: Scope) -> str:
    """The route that served (or would have served) the request, e.g.
    `/v1/document-ai/requests/{request_id}`: a metrics label that no client can vary. A request
    stopped before routing (a 413 from BodyLimit) is matched here against the app's routes."""
    route = scope.get("route")
    if route is None:
        route = _matching(getattr(scope.get("app"), "routes", ()), scope)
    return getattr(route, "path", None) or UNMATCHED


def _matching(routes: Iterable[BaseRoute], scope: Scope) -> BaseRoute | None:
    for candidate in routes:
        if candidate.matches(scope)[0] != Match.NONE:
            included = getattr(candidate, "original_router", None)  # a router's routes, included
            return _matching(included.routes, scope) if included is not None else candidate
    return None


class RequestContext:
    """Request id on the response and in the logs, one log line per request, its request
    metrics, and a JSON 500 (with no stack trace) for anything unexpected."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = uuid.uuid4().hex
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 0
        if self.metrics is not None:
            self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Set by `Access` once the key is known: X-RateLimit-* on every answer to it.
                rate = scope.get("state", {}).get("rate_limit_headers", {})
                extra = [(k.lower().encode(), v.encode()) for k, v in rate.items()]
                message["headers"] = [
                    *message.get("headers", []),
                    *extra,
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not status:
                err = http_error(500, f"internal server error (request id {rid})", "internal_error")
                await error_response(err)(scope, receive, send_with_id)
        finally:
            pages = scope.get("state", {}).get("pages", "-")
            ms = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %.0fms pages=%s", scope["method"], scope["path"], status, ms, pages)
            if self.metrics is not None:
                self.metrics.in_flight.dec()
                endpoint = _route_template(scope)
                self.metrics.request_done(endpoint, scope["method"], status, ms / 1000)
            request_id.reset(token)


class BodyLimit:
    """413 for a body over the limit, decided from Content-Length when there is one and by
    counting the bytes as they stream in otherwise, so nothing large is ever buffered first.

    The model is a form field that may come before or after the document, so while the body
    streams the limit is the largest any model takes; `form.check_document` then holds the
    document to its own model's limit once the form is parsed."""

    def __init__(self, app: ASGIApp, limits: ModelLimits) -> None:
        self.app = app
        largest = limits.largest
        self.max_file_mb = largest.max_file_bytes / 2**20
        self.model = largest.model
        self.max_body = largest.max_file_bytes + MULTIPART_ALLOWANCE

    def _too_large(self) -> DocumentTooLarge:
        return DocumentTooLarge(
            f"the upload is larger than {self.max_file_mb:g} MB, the limit of model {self.model} "
            "(the largest of any model)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            return await error_response(self._too_large())(scope, receive, send)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise self._too_large()  # surfaces from request.form() as a 413
            return message

        await self.app(scope, counting_receive, send)


async def _docuocr_error(request: Request, exc: DocuocrError) -> JSONResponse:
    if exc.status >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(getattr(exc, "retry_after", RETRY_AFTER_S))}
    elif isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(exc, headers)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    status = HTTPStatus(exc.status_code)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = exc.detail if isinstance(exc.detail, str) else status.phrase
    code = status.phrase.lower().replace(" ", "_")
    return error_response(http_error(exc.status_code, message, code), exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{field}: {e.get('msg')}" if field else str(e.get("msg")))
    return error_response(
        http_error(400, "invalid request: " + "; ".join(parts), "invalid_request")
    )


def add_middleware(app: FastAPI, limits: ModelLimits, metrics: Metrics) -> None:
    """JSON errors for every failure, the body limit, and the request context around it all."""
    app.add_exception_handler(DocuocrError, _docuocr_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Added last = outermost: the request id covers the 413 as well.
    app.add_middleware(BodyLimit, limits=limits)
    app.add_middleware(RequestContext, metrics=metrics)
