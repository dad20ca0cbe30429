"""bytes → intake → engine → Document. Runs inside a worker process."""

from __future__ import annotations

import numpy as np

from docuocr.config import DEFAULT_MODEL, Limits
from docuocr.document import Document
from docuocr.engine import Engine
from docuocr.intake import load


def ocr_bytes(data: bytes, engine: Engine, limits: Limits, model: str = DEFAULT_MODEL) -> Document:
    intake = load(data, limits)
    pages = [engine.read(np.asarray(img.convert("RGB"))) for img in intake.pages]
    return Document(pages=pages, model=model, total_pages=intake.total_pages)
