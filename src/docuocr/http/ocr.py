"""The sync API, as Upstage's: `POST /v1/document-ai/ocr` (and `/v1/document-digitization`).

The order of checks is deliberate: body size (from Content-Length, against the largest model's
limit), API key and admission all happen before the body is read, and model, schema and the
document's size against its model's limit are checked before any OCR is spent.
"""

# No `from __future__ import annotations`: FastAPI must see the closures used in Depends().
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from docuocr.config import Settings
from docuocr.formats import render
from docuocr.http.access import Access
from docuocr.http.form import OCR_ROUTE, read_form
from docuocr.pool import Pool

OCR_PATHS = ("/v1/document-ai/ocr", "/v1/document-digitization")


def ocr_router(settings: Settings, access: Access) -> APIRouter:
    router = APIRouter()

    async def ocr(request: Request) -> JSONResponse:
        """Read the text of a document (Upstage Document OCR)."""
        pool: Pool = request.app.state.pool
        with pool.admit():
            form = await read_form(request, settings.limits)
            doc = await pool.ocr(form.data, form.model)
        request.state.pages = len(doc.pages)
        return JSONResponse(render(doc, form.schema))

    for path in OCR_PATHS:
        router.add_api_route(
            path, ocr, methods=["POST"], dependencies=[Depends(access.limited)], **OCR_ROUTE
        )
    return router
