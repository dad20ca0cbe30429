"""bytes → intake → engine → Document. Runs inside a worker process."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image

from docuocr.config import DEFAULT_MODEL, Limits, model_version
from docuocr.document import Document
from docuocr.engine import Engine
from docuocr.intake import PageSource, open_document
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
    with open_document(data, limits) as source:
        first = range(min(source.page_count, limits.max_pages))
        return ocr_pages(source, first, engine, model, on_page)


def ocr_page(data: bytes, index: int, engine: Engine, limits: Limits, model: str) -> Document:
    """Page `index` (0-based) of a document of any length: an async job's page. The async API
    counted the pages and applied its own page limit when the job was prepared."""
    with open_document(data, limits, page_limit=False) as source:
        return ocr_pages(source, [index], engine, model)


def ocr_pages(
    source: PageSource,
    indices: Iterable[int],
    engine: Engine,
    model: str = DEFAULT_MODEL,
    on_page: Callable[[Image.Image], object] | None = None,
) -> Document:
    """The pages `indices` of an open document. All of them are decoded before the engine reads
    the first, so a document with a bad page fails at once, not after the OCR of the others."""
    images = [source.page(index) for index in indices]
    pages = []
    for img in images:
        if on_page is not None:
            on_page(img)
        page = engine.read(np.asarray(img.convert("RGB")))
        pages.append(page.scaled_to(*full_size(img)))
    return Document(pages=pages, model=model_version(model), total_pages=source.page_count)


def searchable_pdf(
    data: bytes, engine: Engine, limits: Limits, model: str = DEFAULT_MODEL
) -> tuple[Document, bytes]:
    """OCR `data` and make its searchable PDF: a PDF input's own pages carry the text layer,
    anything else becomes the page images the engine read. Made where the OCR ran, so the page
    images never travel between processes."""
    from docuocr.formats.pdf import to_pdf

    images: list[Image.Image] = []
    with open_document(data, limits) as source:
        first = range(min(source.page_count, limits.max_pages))
        doc = ocr_pages(source, first, engine, model, on_page=images.append)
        kind = source.kind
    return doc, to_pdf(doc, images, data if kind == "pdf" else None)
