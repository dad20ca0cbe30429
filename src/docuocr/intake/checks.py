"""Limit checks, run on declared sizes before anything is decoded so oversized input costs nothing."""

from __future__ import annotations

from docuocr.config import Limits
from docuocr.errors import DocumentTooLarge, InvalidDocument, PageTooLarge


def check_file_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise DocumentTooLarge(
            f"the document is {len(data) / 2**20:.1f} MB, over the limit of "
            f"{limits.max_file_bytes / 2**20:g} MB of model {limits.model}"
        )


def check_page_count(total: int, limits: Limits) -> None:
    """Past the page limit, a model that reads the first pages reads them; the others refuse."""
    if not limits.truncate_pages and total > limits.max_pages:
        raise DocumentTooLarge(
            f"the document has {total} pages, over the limit of {limits.max_pages} pages per "
            f"request of model {limits.model}; split it, or send it to the async API "
            "(POST /v1/document-ai/async/ocr)",
            code="too_many_pages",
        )


def check_image_pixels(width: int, height: int, limits: Limits, page: int) -> None:
    """An image page is counted at its stored pixel size."""
    if width <= 0 or height <= 0:
        raise InvalidDocument(f"page {page} declares an empty size of {width}x{height} pixels")
    pixels = width * height
    if pixels > limits.max_page_pixels:
        raise PageTooLarge(
            f"page {page} is {width}x{height} = {pixels:,} pixels, over the limit of "
            f"{limits.max_page_pixels:,} pixels per page of model {limits.model}"
        )


def check_pdf_page(width_pt: float, height_pt: float, limits: Limits, page: int) -> None:
    """A PDF page is counted from its size in points at the model's DPI, as the hosted API does
    (300 DPI for ocr-2.2.1, 150 for ocr)."""
    if not (width_pt > 0 and height_pt > 0):
        raise InvalidDocument(f"page {page} has an empty size of {width_pt}x{height_pt} points")
    dpi = limits.pixel_dpi
    w, h = round(width_pt / 72 * dpi), round(height_pt / 72 * dpi)
    if w * h > limits.max_page_pixels:
        raise PageTooLarge(
            f"page {page} is {width_pt:.0f}x{height_pt:.0f} points, {w}x{h} = {w * h:,} pixels at "
            f"{dpi:g} DPI, over the limit of {limits.max_page_pixels:,} pixels per page of model "
            f"{limits.model}"
        )
