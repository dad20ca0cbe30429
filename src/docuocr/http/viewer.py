"""The web viewer: `GET /` serves a page that draws every word's box over its page image.

The page calls `POST /viewer/ocr`, which runs the same OCR as the API and also returns each page as
an image (`preview.py`, made in the OCR worker). The boxes are in the pixels of the intake's page images (after EXIF rotation, PDF
rasterising, office conversion), which a browser cannot reproduce, so the server sends exactly
those images. The API's own endpoints and their responses are unchanged.
"""

# No `from __future__ import annotations`: FastAPI must see the closures used in Depends().
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse

from docuocr.config import Settings
from docuocr.errors import DocuocrError
from docuocr.formats import SCHEMAS, render
from docuocr.http.access import Access
from docuocr.http.form import read_form

STATIC = Path(__file__).parents[1] / "static"
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


def viewer_router(settings: Settings, access: Access) -> APIRouter:
    """The viewer page at `GET /` (no key: the page's own requests carry it; its files are
    mounted at /static by the app) and `POST /viewer/ocr` (same key, admission and errors as the
    OCR API)."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def viewer_ocr(request: Request) -> JSONResponse:
        """OCR a document as `POST /v1/document-ai/ocr` does, and return its response in every
        schema (`formats`, keyed `upstage`, `clova`, `google`) with each page as a JPEG data
        URL (`previews`), for the web viewer."""
        pool = request.app.state.pool
        with pool.admit():
            form = await read_form(request, settings.limits, missing="choose a file")
            # bad input fails here, as in the API; the worker also makes the page previews
            doc, pages = await pool.ocr(form.data, form.model, with_previews=True)
        if len(pages) != len(doc.pages):
            err = DocuocrError("page images and OCR pages disagree", code="internal_error")
            err.status, err.type = 500, "server_error"
            raise err
        request.state.pages = len(doc.pages)
        formats = {name or "upstage": render(doc, name) for name in SCHEMAS}
        return JSONResponse({"formats": formats, "previews": pages})

    router.add_api_route(
        "/viewer/ocr",
        viewer_ocr,
        methods=["POST"],
        dependencies=[Depends(access.limited)],
        response_class=JSONResponse,
        summary="OCR with page images, for the web viewer",
    )
    return router
