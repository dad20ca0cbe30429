"""The one reader of the OCR endpoints' multipart form (`document`, `model`, `schema`), shared by
the sync API, the async submit, the viewer and the searchable PDF, so they check the same things
in the same order: the document is there and is a file, the model and schema are known, and the
document fits its model's size limit, all before a byte of OCR is spent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from docuocr.config import DEFAULT_MODEL, MODELS, ModelLimits, resolve_model
from docuocr.errors import DocumentTooLarge, DocuocrError
from docuocr.formats import validate_schema

MISSING_DOCUMENT = 'send the file as files={"document": open(path, "rb")}'

FORM_SCHEMA = {
    "type": "object",
    "required": ["document"],
    "properties": {
        "document": {"type": "string", "format": "binary", "description": "The document file."},
        "model": {
            "type": "string",
            "default": DEFAULT_MODEL,
            "description": f"Model: {', '.join(sorted(MODELS))}; each has its own limits.",
        },
        "schema": {
            "type": "string",
            "description": "Response format; empty for the Upstage response.",
        },
    },
}
# The OpenAPI description of a route that reads this form (FastAPI cannot infer it).
OCR_ROUTE: dict[str, Any] = {
    "response_class": JSONResponse,
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": FORM_SCHEMA}},
        }
    },
}


@dataclass(frozen=True)
class OcrForm:
    data: bytes
    model: str  # resolved: a model name of `MODELS`
    schema: str | None
    filename: str


async def read_form(
    request: Request, limits: ModelLimits, missing: str = MISSING_DOCUMENT
) -> OcrForm:
    """The form, checked; `missing` is what a 400 for no document tells the client to do."""
    async with request.form(max_files=1, max_fields=8) as form:
        document = form.get("document")
        if document is None:
            raise DocuocrError(
                f"missing multipart field 'document': {missing}", code="missing_document"
            )
        if not isinstance(document, UploadFile):
            raise DocuocrError("field 'document' must be a file part, with a filename")
        model = resolve_model(_text(form, "model"))
        schema = _text(form, "schema")
        validate_schema(schema)
        check_document(document, model, limits)
        data = await document.read()
        return OcrForm(data, model, schema, document.filename or "")


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise DocuocrError(f"field {name!r} must be a plain form value, not a file")
    return value


def check_document(document: UploadFile, model: str, limits: ModelLimits) -> None:
    """The parsed upload against its model's size limit, before it is read into memory; the 413
    says which model took it and what the other models allow."""
    size = document.size
    if size is None:  # the multipart parser counts it; measure the spooled file otherwise
        size = document.file.seek(0, 2)
        document.file.seek(0)
    own = limits[model]
    if size <= own.max_file_bytes:
        return
    others = [
        f"model={name} takes up to {other.max_file_bytes / 2**20:g} MB"
        for name, other in sorted(limits.by_model.items())
        if other.max_file_bytes >= size
    ]
    hint = f" ({'; '.join(others)})" if others else ""
    raise DocumentTooLarge(
        f"the document is {size / 2**20:.1f} MB, over the {own.max_file_bytes / 2**20:g} MB limit "
        f"of model {model}{hint}"
    )
