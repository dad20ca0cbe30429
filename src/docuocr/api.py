"""The HTTP API: Upstage's `POST /v1/document-ai/ocr`, served from a local worker pool.

The order of checks is deliberate: body size (from Content-Length), API key and admission all
happen before the body is read, and model and schema are checked before any OCR is spent.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docuocr import __version__
from docuocr.auth import check_key
from docuocr.config import DEFAULT_MODEL, MODELS, Settings, resolve_model
from docuocr.errors import (
    DocumentTooLarge,
    DocuocrError,
    TooManyRequests,
    Unauthorized,
)
from docuocr.formats import render, validate_schema
from docuocr.metrics import CONTENT_TYPE_LATEST, UNMATCHED, Metrics
from docuocr.pool import RETRY_AFTER_S, Pool
from docuocr.ratelimit import RateLimiter

log = logging.getLogger(__name__)

OCR_PATHS = ("/v1/document-ai/ocr", "/v1/document-digitization")
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


def _error(status: int, message: str, code: str) -> DocuocrError:
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
        for candidate in getattr(scope.get("app"), "routes", ()):
            if candidate.matches(scope)[0] != Match.NONE:
                route = candidate
                break
    return getattr(route, "path", None) or UNMATCHED


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
                # Set by `authorize` once the key is known: X-RateLimit-* on every answer to it.
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
                err = _error(500, f"internal server error (request id {rid})", "internal_error")
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
    counting the bytes as they stream in otherwise, so nothing large is ever buffered first."""

    def __init__(self, app: ASGIApp, max_file_bytes: int) -> None:
        self.app = app
        self.max_file_mb = max_file_bytes / 2**20
        self.max_body = max_file_bytes + MULTIPART_ALLOWANCE

    def _too_large(self) -> DocumentTooLarge:
        return DocumentTooLarge(
            f"the upload is larger than the {self.max_file_mb:g} MB limit (DOCUOCR_MAX_FILE_MB)"
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
    return error_response(_error(exc.status_code, message, code), exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{field}: {e.get('msg')}" if field else str(e.get("msg")))
    return error_response(_error(400, "invalid request: " + "; ".join(parts), "invalid_request"))


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise DocuocrError(f"field {name!r} must be a plain form value, not a file")
    return value


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_FORM_SCHEMA = {
    "type": "object",
    "required": ["document"],
    "properties": {
        "document": {"type": "string", "format": "binary", "description": "The document file."},
        "model": {
            "type": "string",
            "default": DEFAULT_MODEL,
            "description": f"Model version or alias: {', '.join(sorted(MODELS))}.",
        },
        "schema": {
            "type": "string",
            "description": "Response format; empty for the Upstage response.",
        },
    },
}
_OCR_ROUTE: dict[str, Any] = {
    "response_class": JSONResponse,
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}},
        }
    },
}


def create_app(settings: Settings, *, require_auth: bool = True) -> FastAPI:
    """The ASGI app. With `require_auth`, `settings.api_keys` must not be empty."""
    if require_auth and not settings.api_keys:
        raise ValueError("no API keys configured; pass require_auth=False to run without auth")

    limiter = (
        RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit > 0 else None
    )
    metrics = Metrics()

    def authorize(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        token = creds.credentials if creds else None
        if require_auth:
            check_key(token, settings.api_keys)
        if limiter is not None:
            # Per key; without auth, per client address.
            host = request.client.host if request.client else "-"
            decision = limiter.take(f"key:{token}" if require_auth else f"addr:{host}")
            request.state.rate_limit_headers = decision.headers()
            if not decision.allowed:
                metrics.rejected.labels("rate_limit").inc()
                err = TooManyRequests(
                    f"rate limit exceeded: this API key may send {limiter.rate:g} requests per "
                    f"second (bursts of {limiter.burst}); retry after the Retry-After seconds"
                )
                err.retry_after = max(1, math.ceil(decision.retry_after_s))
                raise err

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = Pool(settings, metrics)
        try:
            log.info("starting %d OCR worker(s) and loading models", pool.workers)
            started = time.perf_counter()
            await pool.warm_up()
            log.info("workers ready in %.1f s", time.perf_counter() - started)
            app.state.pool = pool
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="docuocr",
        version=__version__,
        description="Self-hosted Document OCR with an Upstage-compatible API.",
        lifespan=lifespan,
        # The interactive pages load their scripts from a CDN; the service stays offline.
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(DocuocrError, _docuocr_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Added last = outermost: the request id covers the 413 as well.
    app.add_middleware(BodyLimit, max_file_bytes=settings.limits.max_file_bytes)
    app.add_middleware(RequestContext, metrics=metrics)
    app.state.metrics = metrics

    async def ocr(request: Request) -> JSONResponse:
        """Read the text of a document (Upstage Document OCR)."""
        pool: Pool = request.app.state.pool
        with pool.admit():
            async with request.form(max_files=1, max_fields=8) as form:
                document = form.get("document")
                if document is None:
                    raise DocuocrError(
                        "missing multipart field 'document': send the file as "
                        'files={"document": open(path, "rb")}',
                        code="missing_document",
                    )
                if not isinstance(document, UploadFile):
                    raise DocuocrError("field 'document' must be a file part, with a filename")
                model = resolve_model(_form_text(form, "model"))
                schema = _form_text(form, "schema")
                validate_schema(schema)
                data = await document.read()
            doc = await pool.ocr(data, model)
        request.state.pages = len(doc.pages)
        return JSONResponse(render(doc, schema))

    for path in OCR_PATHS:
        app.add_api_route(
            path, ocr, methods=["POST"], dependencies=[Depends(authorize)], **_OCR_ROUTE
        )
    from docuocr.jobs.routes import async_router  # here: it imports this module

    app.include_router(
        async_router(settings, require_auth=require_auth, submit_guard=authorize, metrics=metrics)
    )

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        """Liveness and load; needs no API key."""
        pool: Pool = request.app.state.pool
        return {
            "status": "ok",
            "version": __version__,
            "models": sorted(set(MODELS.values())),
            "workers": pool.workers,
            "in_flight": pool.in_flight,
            "capacity": pool.capacity,
        }

    @app.get("/ready", responses={503: {"description": "Not ready: hold traffic"}})
    async def ready(request: Request) -> JSONResponse:
        """Readiness for a load balancer; needs no API key. 503 while the OCR workers load their
        models (after a crash, or when they are replaced after DOCUOCR_WORKER_MAX_TASKS jobs)."""
        pool: Pool = request.app.state.pool
        pool.revive()
        if pool.ready:
            return JSONResponse({"ready": True, "workers": pool.workers})
        reason = "the OCR workers are loading their models"
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)

    @app.get("/metrics", response_class=Response)
    def prometheus_metrics(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Response:
        """Prometheus metrics (text format). Needs the API key with DOCUOCR_METRICS_AUTH=1.
        A plain function: FastAPI runs it on a thread, so reading the job store never blocks the
        event loop."""
        if settings.metrics_auth and require_auth:
            check_key(creds.credentials if creds else None, settings.api_keys)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    from docuocr.viewer import add_viewer  # the web viewer: GET / and POST /viewer/ocr

    add_viewer(app, settings, authorize)
    return app
