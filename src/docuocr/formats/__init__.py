"""Response formats: pure functions of a Document, chosen by the request's `schema`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docuocr.document import Document
from docuocr.errors import DocuocrError
from docuocr.formats.clova import to_clova
from docuocr.formats.google import to_google
from docuocr.formats.upstage import to_upstage

SCHEMAS: dict[str | None, Callable[[Document], dict[str, Any]]] = {
    None: to_upstage,
    "clova": to_clova,
    "google": to_google,
}


def render(doc: Document, schema: str | None = None) -> dict[str, Any]:
    """Render `doc` in the requested schema; None (or "") is the Upstage response."""
    key = schema or None
    if key not in SCHEMAS:
        valid = ", ".join(sorted(repr(s) for s in SCHEMAS if s)) or "none yet"
        raise DocuocrError(
            f"schema {schema!r} is not supported; leave it empty for the Upstage response "
            f"or use one of: {valid}",
            code="invalid_schema",
        )
    return SCHEMAS[key](doc)


def validate_schema(schema: str | None) -> None:
    """Fail fast on a bad schema before any OCR work is spent."""
    if (schema or None) not in SCHEMAS:
        render(Document(pages=[]), schema)
