"""bytes → intake → engine → Document. Runs inside a worker process."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from docuocr.config import DEFAULT_MODEL, Limits, model_version
from docuocr.document import Document
from docuocr.engine import Engine
from docuocr.intake import load
from docuocr.intake.shrink import full_size


def ocr_bytes(
    data: bytes,
    engine: Engine,
    limits: Limits,
    model: str = DEFAULT_MODEL,
    on_page: Callable[[Image.Image], object] | None = None,
) -> Document:
    """`model` is the model asked for (its version goes in the Document); `limits` its limits.
    `on_page` sees each page image the engine reads (the viewer's previews come from it).
    A page read shrunk is reported at its full size (intake/shrink.py)."""
    intake = load(data, limits)
    pages = []
    for img in intake.pages:
        if on_page is not None:
            on_page(img)
        page = engine.read(np.asarray(img.convert("RGB")))
        pages.append(page.scaled_to(*full_size(img)))
    return Document(pages=pages, model=model_version(model), total_pages=intake.total_pages)


def searchable_pdf(
    data: bytes, engine: Engine, limits: Limits, model: str = DEFAULT_MODEL
) -> tuple[Document, bytes]:
    """OCR `data` and make its searchable PDF: a PDF input's own pages carry the text layer,
    anything else becomes the page images the engine read. Made where the OCR ran, so the page
    images never travel between processes."""
    from docuocr.formats.pdf import to_pdf
    from docuocr.intake.sniff import sniff

    images: list[Image.Image] = []
    doc = ocr_bytes(data, engine, limits, model, on_page=images.append)
    return doc, to_pdf(doc, images, data if sniff(data) == "pdf" else None)
