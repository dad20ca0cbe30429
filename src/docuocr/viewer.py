"""The web viewer: `GET /` serves a page that draws every word's box over its page image.

The page calls `POST /viewer/ocr`, which runs the same OCR as the API and also returns each page as
an image (`preview.py`, made in the OCR worker). The boxes are in the pixels of the intake's page images (after EXIF rotation, PDF
rasterising, office conversion), which a browser cannot reproduce, so the server sends exactly
those images. The API's own endpoints and their responses are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from docuocr.api import check_document, resolve_model
from docuocr.config import Settings
from docuocr.errors import DocuocrError
from docuocr.formats import SCHEMAS, render
from docuocr.searchable import add_searchable_pdf

STATIC = Path(__file__).with_name("static")
# The page may load only its own files and talk only to this server: it works offline, and a key
# typed into it cannot be sent anywhere else.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
}


def _text_field(value: Any, name: str) -> str | None:
    if isinstance(value, UploadFile):
        raise DocuocrError(f"field {name!r} must be a plain form value, not a file")
    return value


def add_viewer(app: FastAPI, settings: Settings, authorize: Callable[..., None]) -> None:
    """Serve the viewer page at `GET /` (no key: the page's own requests carry it) and its
    endpoints `POST /viewer/ocr` (same key, admission and errors as the OCR API) and
    `POST /v1/docuocr/searchable-pdf` (its "Download searchable PDF", also an API of its own)."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def viewer_ocr(request: Request) -> JSONResponse:
        """OCR a document as `POST /v1/document-ai/ocr` does, and return its response in every
        schema (`formats`, keyed `upstage`, `clova`, `google`) with each page as a JPEG data
        URL (`previews`), for the web viewer."""
        pool = request.app.state.pool
        with pool.admit():
            async with request.form(max_files=1, max_fields=8) as form:
                document = form.get("document")
                if not isinstance(document, UploadFile):
                    raise DocuocrError(
                        "missing multipart field 'document': choose a file",
                        code="missing_document",
                    )
                model = resolve_model(_text_field(form.get("model"), "model"))
                check_document(document, model, settings.limits)
                data = await document.read()
            # bad input fails here, as in the API; the worker also makes the page previews
            doc, pages = await pool.ocr(data, model, with_previews=True)
        if len(pages) != len(doc.pages):
            err = DocuocrError("page images and OCR pages disagree", code="internal_error")
            err.status, err.type = 500, "server_error"
            raise err
        request.state.pages = len(doc.pages)
        formats = {name or "upstage": render(doc, name) for name in SCHEMAS}
        return JSONResponse({"formats": formats, "previews": pages})

    app.add_api_route(
        "/viewer/ocr",
        viewer_ocr,
        methods=["POST"],
        dependencies=[Depends(authorize)],
        response_class=JSONResponse,
        summary="OCR with page images, for the web viewer",
    )
    add_searchable_pdf(app, authorize, settings.limits)
