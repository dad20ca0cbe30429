"""Split a stored document into one-page files, so the OCR pool reads an async job a page at a time.

A page at a time keeps the pool fair (a sync request waits behind one async page, not ten) and
lets a job of any length go through `Pool.ocr`, whose intake stops at `DOCUOCR_MAX_PAGES`.
Every one-page file reads back exactly as the page did in the whole document: a PDF page is copied
into a one-page PDF (PDFium renders it to the same pixels), a TIFF page is decoded as intake
decodes it and passed on as a lossless PNG, and any other image is a single page already.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pypdfium2 as pdfium
from PIL import Image

from docuocr.config import Limits
from docuocr.errors import InvalidDocument
from docuocr.intake import LAID_OUT, load, to_pdf
from docuocr.intake.checks import check_image_pixels
from docuocr.intake.images import PIL_FORMATS, orientation, to_rgb, upright
from docuocr.intake.pdf import PDFIUM_LOCK  # PDFium is not thread-safe; share intake's lock


def prepare(data: bytes, kind: str, limits: Limits) -> tuple[bytes | None, str, int]:
    """Open the document once: (the PDF an office or Hancom file became, or None; its kind; its
    pages).

    Raises the same `DocuocrError`s as the sync API's intake for a document it cannot read.
    """
    converted = None
    if kind in LAID_OUT:
        converted = to_pdf(data, kind, limits)
        data, kind = converted, "pdf"
    # max_pages=0 opens and counts without decoding a single page; the async API's own page limit
    # (JobSettings.max_pages), not the sync one, decides how many it reads.
    total = load(data, replace(limits, max_pages=0, truncate_pages=True)).total_pages
    return converted, kind, total


class PageSource:
    """The pages of one stored document, each as a small file of its own."""

    def __init__(self, data: bytes, kind: str) -> None:
        self.data = data
        self.kind = kind
        self._pdf: pdfium.PdfDocument | None = None

    def page(self, index: int, limits: Limits) -> bytes:
        """Page `index` (0-based) as a one-page document."""
        if self.kind == "pdf":
            return self._pdf_page(index)
        if self.kind == "tiff":
            return _tiff_page(self.data, index, limits)
        if index != 0:
            raise InvalidDocument(f"a {self.kind.upper()} image has one page, not {index + 1}")
        return self.data

    def _pdf_page(self, index: int) -> bytes:
        with PDFIUM_LOCK:
            if self._pdf is None:
                self._pdf = pdfium.PdfDocument(self.data)
            single = pdfium.PdfDocument.new()
            try:
                single.import_pages(self._pdf, [index])
                buf = io.BytesIO()
                single.save(buf)
            except pdfium.PdfiumError as exc:
                raise InvalidDocument(f"page {index + 1} of the PDF is corrupt ({exc})") from exc
            finally:
                single.close()
        return buf.getvalue()

    def close(self) -> None:
        if self._pdf is not None:
            with PDFIUM_LOCK:
                self._pdf.close()
            self._pdf = None


def _tiff_page(data: bytes, index: int, limits: Limits) -> bytes:
    """One TIFF page, upright and in RGB exactly as intake makes it, as a PNG."""
    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS["tiff"]) as img:
            img.seek(index)
            check_image_pixels(img.width, img.height, limits, index + 1)
            img.load()
            page = upright(to_rgb(img), orientation(img))
            buf = io.BytesIO()
            page.save(buf, format="PNG", compress_level=1)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        raise InvalidDocument(
            f"the TIFF image's page {index + 1} cannot be decoded ({exc})"
        ) from exc
    return buf.getvalue()
