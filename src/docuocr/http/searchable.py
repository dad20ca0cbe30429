"""`POST /v1/docuocr/searchable-pdf`: the document back as a searchable PDF (`formats/pdf.py`).

A route of docuocr's own, beside the Upstage-compatible ones, which stay as they are. It takes
the OCR endpoint's form (`document`, `model`), key, admission, limits and errors; the PDF is made
in the OCR worker, from the page images it read, so the web layer never blocks on it.
"""

# No `from __future__ import annotations`: FastAPI must see the closures used in Depends().
from pathlib import PurePath
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from docuocr.config import Settings
from docuocr.http.access import Access
from docuocr.http.form import read_form

PATH = "/v1/docuocr/searchable-pdf"


def searchable_router(settings: Settings, access: Access) -> APIRouter:
    """The route, behind the same key, rate limit and limits as the OCR endpoints."""
    router = APIRouter()

    async def searchable_pdf(request: Request) -> Response:
        """OCR a document and return its pages with an invisible, searchable text layer."""
        pool = request.app.state.pool
        with pool.admit():
            form = await read_form(request, settings.limits)
            name = PurePath(form.filename or "document").stem or "document"
            doc, pdf = await pool.ocr(form.data, form.model, with_pdf=True)
        request.state.pages = len(doc.pages)
        disposition = f"attachment; filename*=UTF-8''{quote(name + '.pdf')}"
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": disposition}
        )

    router.add_api_route(
        PATH,
        searchable_pdf,
        methods=["POST"],
        dependencies=[Depends(access.limited)],
        response_class=Response,
        summary="OCR a document into a searchable PDF",
        responses={200: {"content": {"application/pdf": {}}}},
    )
    return router
