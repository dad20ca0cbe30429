"""Limit checks, run on declared sizes before anything is decoded so oversized input costs nothing."""

from __future__ import annotations

from docuocr.config import Limits
from docuocr.errors import DocumentTooLarge, InvalidDocument, PageTooLarge

# The hosted API counts a PDF or Office page's pixels as if rendered at 300 DPI.
LIMIT_DPI = 300


def check_file_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise DocumentTooLarge(
            f"the document is {len(data) / 2**20:.1f} MB, over the limit of "
            f"{limits.max_file_bytes / 2**20:.0f} MB"
        )


def check_image_pixels(width: int, height: int, limits: Limits, page: int) -> None:
    """An image page is counted at its stored pixel size."""
    if width <= 0 or height <= 0:
        raise InvalidDocument(f"page {page} declares an empty size of {width}x{height} pixels")
    pixels = width * height
    if pixels > limits.max_page_pixels:
        raise PageTooLarge(
            f"page {page} is {width}x{height} = {pixels:,} pixels, over the limit of "
            f"{limits.max_page_pixels:,} pixels per page"
        )


def check_pdf_page(width_pt: float, height_pt: float, limits: Limits, page: int) -> None:
    """A PDF page is counted at 300 DPI from its size in points, as the hosted API does."""
    if not (width_pt > 0 and height_pt > 0):
        raise InvalidDocument(f"page {page} has an empty size of {width_pt}x{height_pt} points")
    w, h = round(width_pt / 72 * LIMIT_DPI), round(height_pt / 72 * LIMIT_DPI)
    if w * h > limits.max_page_pixels:
        raise PageTooLarge(
            f"page {page} is {width_pt:.0f}x{height_pt:.0f} points, {w}x{h} = {w * h:,} pixels at "
            f"{LIMIT_DPI} DPI, over the limit of {limits.max_page_pixels:,} pixels per page"
        )
