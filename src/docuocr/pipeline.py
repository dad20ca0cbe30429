"""bytes → intake → engine → Document. Runs inside a worker process."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from docuocr.config import DEFAULT_MODEL, Limits
from docuocr.document import Document
from docuocr.engine import Engine
from docuocr.intake import load


def ocr_bytes(
    data: bytes,
    engine: Engine,
    limits: Limits,
    model: str = DEFAULT_MODEL,
    on_page: Callable[[Image.Image], object] | None = None,
) -> Document:
    """`on_page` sees each page image the engine reads (the viewer's previews come from it)."""
    intake = load(data, limits)
    pages = []
    for img in intake.pages:
        if on_page is not None:
            on_page(img)
        pages.append(engine.read(np.asarray(img.convert("RGB"))))
    return Document(pages=pages, model=model, total_pages=intake.total_pages)
