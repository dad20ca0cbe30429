"""Placeholder decoder (PNG/JPEG/BMP/PDF); replaced by the full intake."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from docuocr.config import Limits
from docuocr.errors import InvalidDocument


def load(data: bytes, limits: Limits):
    from docuocr.intake import Intake

    if data[:5] == b"%PDF-":
        pdf = pdfium.PdfDocument(data)
        n = len(pdf)
        pages = [pdf[i].render(scale=150 / 72).to_pil().convert("RGB") for i in range(min(n, limits.max_pages))]
        return Intake(pages, n, "application/pdf")
    try:
        img = Image.open(io.BytesIO(data))
        img = ImageOps.exif_transpose(img).convert("RGB")
    except Exception as exc:
        raise InvalidDocument(f"cannot decode image: {exc}") from exc
    return Intake([img], 1, "image/" + (img.format or "png").lower())
