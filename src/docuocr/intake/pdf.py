"""PDF pages to RGB images with PDFium, at the hosted API's 150 DPI."""

from __future__ import annotations

import contextlib
import math
import threading

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from docuocr.config import Limits
from docuocr.errors import InvalidDocument
from docuocr.intake import shrink
from docuocr.intake.checks import check_pdf_page

# Vector pages gain real detail from more pixels, so a tiny page (a label, a scaled-down scan) is
# rendered with at least this many pixels on its long side instead of a useless thumbnail.
MIN_LONG_SIDE = 1000

# PDFium is not thread-safe; this serialises it if a caller opens documents on threads.
PDFIUM_LOCK = threading.Lock()


class PdfPages:
    """A PDF's pages, rendered one at a time while the document stays open; close() it."""

    def __init__(self, data: bytes) -> None:
        with PDFIUM_LOCK:
            self._pdf = _open(data)
            try:
                self.page_count = len(self._pdf)
                if self.page_count < 1:
                    raise InvalidDocument("the PDF has no pages")
                _init_forms(self._pdf)
            except BaseException:
                self._pdf.close()
                raise

    def page(self, index: int, limits: Limits) -> Image.Image:
        """Page `index` (0-based) as RGB, at the model's DPI."""
        with PDFIUM_LOCK:
            return _render(self._pdf, index, limits)

    def close(self) -> None:
        with PDFIUM_LOCK:
            self._pdf.close()


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise InvalidDocument(
                "the PDF is encrypted (password-protected); remove the password and try again"
            ) from exc
        raise InvalidDocument(f"the PDF is corrupt or truncated ({exc})") from exc


def _init_forms(pdf: pdfium.PdfDocument) -> None:
    """Filled-in form fields are part of the page as people see it; draw them if PDFium can."""
    with contextlib.suppress(pdfium.PdfiumError):  # a broken form layer must not cost the page
        pdf.init_forms()


def _render(pdf: pdfium.PdfDocument, index: int, limits: Limits) -> Image.Image:
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        raise InvalidDocument(f"page {index + 1} of the PDF is corrupt ({exc})") from exc
    try:
        width, height = page.get_size()  # points, after the page's /Rotate
        check_pdf_page(width, height, limits, index + 1)
        scale = render_scale(width, height, limits.pdf_dpi, limits.max_page_pixels)
        # The page as reported; a page over read_pixels is rendered smaller (see shrink.py).
        full = (math.ceil(width * scale), math.ceil(height * scale))
        factor = shrink.factor(*full, limits.read_pixels)
        try:
            image = page.render(scale=scale / factor).to_pil()
        except pdfium.PdfiumError as exc:
            raise InvalidDocument(
                f"page {index + 1} of the PDF cannot be rendered ({exc})"
            ) from exc
    finally:
        page.close()
    image = image if image.mode == "RGB" else image.convert("RGB")
    return shrink.mark(image, full) if factor > 1 else image


def render_scale(width_pt: float, height_pt: float, dpi: float, max_pixels: int) -> float:
    """Pixels per point: `dpi`, raised for tiny pages, lowered to stay within `max_pixels`."""
    scale = dpi / 72
    long_side = max(width_pt, height_pt)
    if long_side * scale < MIN_LONG_SIDE:
        scale = MIN_LONG_SIDE / long_side
    # PDFium renders ceil(size * scale) pixels; keep that product within the limit.
    if math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels:
        scale = math.sqrt(max_pixels / (width_pt * height_pt))
        while (
            math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels and scale > 1e-9
        ):
            scale *= 0.999
    return scale
