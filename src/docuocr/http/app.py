"""The ASGI app: the middleware, the routers, the OCR pool's lifetime, and the status endpoints
(`/health`, `/ready`, `/metrics`)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles

from docuocr import __version__
from docuocr.auth import check_key
from docuocr.config import MODELS, Settings
from docuocr.http.access import BEARER, Access
from docuocr.http.jobs import jobs_router
from docuocr.http.middleware import add_middleware
from docuocr.http.ocr import ocr_router
from docuocr.http.searchable import searchable_router
from docuocr.http.viewer import STATIC, viewer_router
from docuocr.metrics import CONTENT_TYPE_LATEST, Metrics
from docuocr.pool import Pool

log = logging.getLogger("docuocr.api")  # the name the request log lines have always had


def create_app(settings: Settings, *, require_auth: bool = True) -> FastAPI:
    """The ASGI app. With `require_auth`, `settings.api_keys` must not be empty."""
    if require_auth and not settings.api_keys:
        raise ValueError("no API keys configured; pass require_auth=False to run without auth")

    metrics = Metrics()
    access = Access(settings, require_auth, metrics)

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
    add_middleware(app, settings.limits, metrics)
    app.state.metrics = metrics
    app.include_router(ocr_router(settings, access))
    app.include_router(jobs_router(settings, access, metrics))

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
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Response:
        """Prometheus metrics (text format). Needs the API key with DOCUOCR_METRICS_AUTH=1.
        A plain function: FastAPI runs it on a thread, so reading the job store never blocks the
        event loop."""
        if settings.metrics_auth and require_auth:
            check_key(creds.credentials if creds else None, settings.api_keys)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # The web viewer: GET /, its files, POST /viewer/ocr; and the searchable PDF it offers.
    app.include_router(viewer_router(settings, access))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(searchable_router(settings, access))
    return app
