"""Intake: bytes in, upright-as-stored RGB page images out, within the configured limits.

`open_document` opens a document once and serves its pages on demand (`PageSource`), for the
sync path and the async jobs alike; `load` decodes every page a sync call reads into a list.
Everything here raises a `DocuocrError` subclass for bad input; nothing else should escape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from docuocr.config import Limits
from docuocr.errors import DocumentTooLarge, DocuocrError, InvalidDocument
from docuocr.intake import hwp, images, office, pdf
from docuocr.intake.checks import check_file_size, check_page_count
from docuocr.intake.sniff import MIME, sniff


class Pages(Protocol):
    """What a decoder opens: `images.ImagePages` or `pdf.PdfPages`."""

    page_count: int

    def page(self, index: int, limits: Limits) -> Image.Image: ...

    def close(self) -> None: ...


class PageSource:
    """One opened document, its pages decoded one at a time, when asked for (`open_document`).

    `kind` is the sniffed kind of the file as sent ("png", "tiff", "pdf", "docx", ...);
    `page_count` its pages before any page limit; `pdf` the PDF an office or Hancom document was
    laid out to (None for others). A page is an upright RGB image as the engine takes it; one
    read shrunk remembers its full size (shrink.py). Close it (or use `with`): a PDF stays open.
    """

    def __init__(self, kind: str, pages: Pages, limits: Limits, pdf: bytes | None = None) -> None:
        self.kind = kind
        self.page_count = pages.page_count
        self.pdf = pdf
        self._pages = pages
        self._limits = limits

    @property
    def mime(self) -> str:
        return MIME[self.kind]

    def page(self, index: int) -> Image.Image:
        """Page `index` (0-based). Bad input raises a `DocuocrError`; an index out of range,
        IndexError."""
        if not 0 <= index < self.page_count:
            raise IndexError(f"page {index + 1} of a {self.page_count}-page document")
        with _as_bad_input():
            return self._pages.page(index, self._limits)

    def close(self) -> None:
        self._pages.close()

    def __enter__(self) -> PageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_document(data: bytes, limits: Limits | None = None, page_limit: bool = True) -> PageSource:
    """Sniff `data` and open it within `limits`, decoding no page yet. Office and Hancom documents
    are laid out to a PDF here, once. With `page_limit`, a document over `limits.max_pages` is
    refused as the sync API does (unless the model truncates); the async API has its own limit."""
    limits = limits or Limits()
    with _as_bad_input():
        data = bytes(data)
        check_file_size(data, limits)
        kind = sniff(data)
        laid_out = None
        if kind in images.PIL_FORMATS:
            pages: Pages = images.ImagePages(data, kind)
        elif kind == "pdf":
            pages = pdf.PdfPages(data)
        else:  # one of LAID_OUT: sniff names no other kind
            laid_out = to_pdf(data, kind, limits)
            pages = pdf.PdfPages(laid_out)
        source = PageSource(kind, pages, limits, laid_out)
        try:
            if page_limit:
                check_page_count(source.page_count, limits)
        except BaseException:
            source.close()
            raise
        return source


@dataclass
class Intake:
    pages: list[Image.Image]  # RGB, at most limits.max_pages of them
    total_pages: int  # pages in the file before the page limit
    mime: str  # the sniffed type, e.g. "image/png", "application/pdf"


def load(data: bytes, limits: Limits | None = None) -> Intake:
    """Every page `limits` lets a sync call read, decoded at once (for callers that want a list)."""
    limits = limits or Limits()
    with open_document(data, limits) as source:
        pages = [source.page(i) for i in range(min(source.page_count, limits.max_pages))]
        return Intake(pages=pages, total_pages=source.page_count, mime=source.mime)


@contextmanager
def _as_bad_input() -> Iterator[None]:
    """Everything intake raises is a `DocuocrError`: a decoder failing in a way we did not foresee
    is still bad input, and running out of memory while decoding a document too large."""
    try:
        yield
    except DocuocrError:
        raise
    except MemoryError as exc:
        raise DocumentTooLarge(
            "the document needs more memory to decode than is available"
        ) from exc
    except Exception as exc:
        raise InvalidDocument(
            f"the document cannot be decoded ({type(exc).__name__}: {exc})"
        ) from exc


LAID_OUT = ("docx", "pptx", "xlsx", "hwp", "hwpx")  # documents laid out into a PDF first


def to_pdf(data: bytes, kind: str, limits: Limits) -> bytes:
    """The PDF an office or Hancom document (a kind of LAID_OUT) lays out to, after its checks.
    `open_document` makes it once and serves its pages (`PageSource.pdf` keeps it)."""
    if kind in ("hwp", "hwpx"):
        (hwp.check_hwp if kind == "hwp" else hwp.check_hwpx)(data)
        return hwp.to_pdf(data, kind, limits.office_timeout_s)
    office.check_zip(data, kind)
    return office.to_pdf(data, kind, limits.office_timeout_s)
