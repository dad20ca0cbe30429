"""Output files by format name, for `docuocr ocr --format` and `docuocr batch --format`: the
API's JSON (in any schema), hOCR, ALTO, or the searchable PDF (made with the page images, so
by `pipeline.searchable_pdf`, not here)."""

from __future__ import annotations

import json

from docuocr.document import Document
from docuocr.formats import render

SUFFIXES = {"json": ".json", "pdf": ".pdf", "hocr": ".hocr", "alto": ".xml"}
FORMATS = tuple(SUFFIXES)


def document_file(doc: Document, fmt: str, schema: str | None = None) -> bytes:
    """The bytes of `doc` as a `fmt` file (json, hocr or alto)."""
    if fmt == "json":
        return (json.dumps(render(doc, schema), ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "hocr":
        from docuocr.formats.hocr import to_hocr

        return to_hocr(doc)
    if fmt == "alto":
        from docuocr.formats.alto import to_alto

        return to_alto(doc)
    raise ValueError(f"{fmt!r} is not made from the Document alone")
