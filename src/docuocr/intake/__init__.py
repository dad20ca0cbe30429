"""Intake: bytes in, upright-as-stored RGB page images out, within the configured limits.

Everything here raises a `DocuocrError` subclass for bad input; nothing else should escape.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from docuocr.config import Limits
from docuocr.errors import DocumentTooLarge, DocuocrError, InvalidDocument
from docuocr.intake import hwp, images, office, pdf
from docuocr.intake.checks import check_file_size
from docuocr.intake.sniff import MIME, sniff


@dataclass
class Intake:
    pages: list[Image.Image]  # RGB, at most limits.max_pages of them
    total_pages: int  # pages in the file before the page limit
    mime: str  # the sniffed type, e.g. "image/png", "application/pdf"


def load(data: bytes, limits: Limits | None = None) -> Intake:
    """Sniff, decode and rasterise `data` into page images."""
    limits = limits or Limits()
    try:
        return _load(bytes(data), limits)
    except DocuocrError:
        raise
    except MemoryError as exc:
        raise DocumentTooLarge(
            "the document needs more memory to decode than is available"
        ) from exc
    except Exception as exc:  # a decoder failing in a way we did not foresee is still bad input
        raise InvalidDocument(
            f"the document cannot be decoded ({type(exc).__name__}: {exc})"
        ) from exc


def _load(data: bytes, limits: Limits) -> Intake:
    check_file_size(data, limits)
    kind = sniff(data)
    if kind in images.PIL_FORMATS:
        pages, total = images.decode(data, kind, limits)
    elif kind == "pdf":
        pages, total = pdf.rasterise(data, limits)
    else:
        pages, total = pdf.rasterise(to_pdf(data, kind, limits), limits)
    return Intake(pages=pages, total_pages=total, mime=MIME[kind])


LAID_OUT = ("docx", "pptx", "xlsx", "hwp", "hwpx")  # documents laid out into a PDF first


def to_pdf(data: bytes, kind: str, limits: Limits) -> bytes:
    """The PDF an office or Hancom document (a kind of LAID_OUT) lays out to, after its checks.
    Shared by intake and the async jobs, which lay a document out once and read it page by page."""
    if kind in ("hwp", "hwpx"):
        (hwp.check_hwp if kind == "hwp" else hwp.check_hwpx)(data)
        return hwp.to_pdf(data, kind, limits.office_timeout_s)
    office.check_zip(data, kind)
    return office.to_pdf(data, kind, limits.office_timeout_s)
