"""`POST /v1/docuocr/searchable-pdf`: the document back as a searchable PDF (`formats/pdf.py`).

A route of docuocr's own, beside the Upstage-compatible ones, which stay as they are. It takes
the OCR endpoint's form (`document`, `model`), key, admission, limits and errors; the PDF is made
in the OCR worker, from the page images it read, so the web layer never blocks on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from docuocr.api import check_document
from docuocr.config import ModelLimits, resolve_model
from docuocr.errors import DocuocrError

PATH = "/v1/docuocr/searchable-pdf"


def _text(value: Any, name: str) -> str | None:
    if isinstance(value, UploadFile):
        raise DocuocrError(f"field {name!r} must be a plain form value, not a file")
    return value


def add_searchable_pdf(app: FastAPI, authorize: Callable[..., None], limits: ModelLimits) -> None:
    """Register the route on `app`, behind the same `authorize` and limits as the OCR endpoints."""

    async def searchable_pdf(request: Request) -> Response:
        """OCR a document and return its pages with an invisible, searchable text layer."""
        pool = request.app.state.pool
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
                model = resolve_model(_text(form.get("model"), "model"))
                check_document(document, model, limits)
                name = PurePath(document.filename or "document").stem or "document"
                data = await document.read()
            doc, pdf = await pool.ocr(data, model, with_pdf=True)
        request.state.pages = len(doc.pages)
        disposition = f"attachment; filename*=UTF-8''{quote(name + '.pdf')}"
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": disposition}
        )

    app.add_api_route(
        PATH,
        searchable_pdf,
        methods=["POST"],
        dependencies=[Depends(authorize)],
        response_class=Response,
        summary="OCR a document into a searchable PDF",
        responses={200: {"content": {"application/pdf": {}}}},
    )
