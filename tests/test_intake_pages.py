"""Intake as a page source: a document is opened once and its pages are decoded when asked for,
the same pixels and errors as reading it whole (`load`), on real generated files."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from docuocr.config import MODEL_LIMITS, Limits
from docuocr.errors import DocumentTooLarge, InvalidDocument, PageTooLarge
from docuocr.intake import load, open_document
from tests import docgen

OCR = MODEL_LIMITS["ocr"][0]  # refuses more than 100 pages per sync call


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def merged_pdf(*parts: bytes) -> bytes:
    """One PDF of the pages of several (text_pdf makes every page the same size)."""
    merged = pdfium.PdfDocument.new()
    for part in parts:
        one = pdfium.PdfDocument(part)
        merged.import_pages(one)
        one.close()
    buf = io.BytesIO()
    merged.save(buf)
    merged.close()
    return buf.getvalue()


def test_a_tiff_is_opened_without_decoding_and_serves_its_pages_in_any_order():
    frames = [docgen.phrase_image(f"tiff page {i}", size=(600, 150 + 50 * i)) for i in range(3)]
    data = docgen.tiff(frames)
    whole = load(data)
    with open_document(data) as source:
        assert (source.kind, source.mime, source.page_count, source.pdf) == (
            "tiff",
            "image/tiff",
            3,
            None,
        )
        for index in (2, 0, 1, 2):  # backwards too: a page is the same whenever it is asked for
            page = source.page(index)
            assert page.mode == "RGB" and same(page, frames[index].convert("RGB"))
            assert same(page, whole.pages[index])
        with pytest.raises(IndexError):
            source.page(3)


def test_a_page_over_the_limits_fails_only_when_it_is_read():
    """Lazy: the limits of page 3 are checked when page 3 is decoded, with the error `load`
    gives for the whole document."""
    small = docgen.phrase_image("small", size=(400, 100))
    data = docgen.tiff([small, small, docgen.phrase_image("large", size=(1000, 400))])
    limits = Limits(max_page_pixels=100_000)
    with pytest.raises(PageTooLarge) as whole:
        load(data, limits)
    with open_document(data, limits) as source:
        assert source.page_count == 3
        assert same(source.page(1), small)
        with pytest.raises(PageTooLarge) as one:
            source.page(2)
    assert one.value.message == whole.value.message and "page 3 is 1000x400" in one.value.message

    pdf = merged_pdf(
        docgen.text_pdf(["a4"], size=(595, 842)), docgen.text_pdf(["huge"], size=(3000, 3000))
    )
    with open_document(pdf) as source:
        assert (source.kind, source.page_count) == ("pdf", 2)
        assert source.page(0).size == (1240, 1755)
        with pytest.raises(PageTooLarge, match="page 2 is 3000x3000 points"):
            source.page(1)


def test_pdf_pages_on_demand_are_the_pages_of_the_whole_document():
    data = merged_pdf(
        *(docgen.text_pdf([f"pdf page {i}"], size=(300, 100 + 20 * i)) for i in range(1, 5))
    )
    whole = load(data)
    with open_document(data) as source:
        assert (source.kind, source.mime, source.page_count) == ("pdf", "application/pdf", 4)
        for index in (3, 1, 0, 2):
            assert same(source.page(index), whole.pages[index])


def test_an_image_is_one_page():
    img = docgen.phrase_image()
    with open_document(docgen.png(img)) as source:
        assert (source.kind, source.mime, source.page_count) == ("png", "image/png", 1)
        assert same(source.page(0), img) and same(source.page(0), img)  # asked for twice
        with pytest.raises(IndexError):
            source.page(1)
    with open_document(docgen.jpeg(img, orientation=6)) as source:  # upright, as load makes it
        assert source.page(0).size == (200, 1000)


def test_the_sync_page_limit_applies_only_when_asked_for():
    """A sync call refuses a long document before decoding a page; an async job (page_limit=False)
    reads any of its pages, under the same per-page limits."""
    data = docgen.text_pdf([f"page {i + 1}" for i in range(101)], size=(72, 90))
    with pytest.raises(DocumentTooLarge) as refused:
        open_document(data, OCR)
    assert refused.value.code == "too_many_pages"
    with open_document(data, OCR, page_limit=False) as source:
        assert source.page_count == 101
        assert source.page(100).size == (800, 1000)  # a tiny page, rendered at a useful size


def test_bad_input_fails_at_open_with_intakes_errors():
    with pytest.raises(InvalidDocument, match="the PDF is corrupt or truncated"):
        open_document(b"%PDF-1.4\n% truncated")
    with pytest.raises(InvalidDocument, match="the PNG image is corrupt or truncated"):
        open_document(docgen.png()[:40])
    with pytest.raises(DocumentTooLarge):
        open_document(docgen.png(), Limits(max_file_bytes=100))


def test_an_async_page_reads_as_the_same_page_of_a_sync_call(engine):
    """What a worker does for an async job's page (`ocr_page`) and for a sync call (`ocr_bytes`),
    through the real engine: the same words in the same places."""
    from docuocr.pipeline import ocr_bytes, ocr_page

    frames = [docgen.phrase_image(f"async page {n}", size=(700, 140)) for n in (1, 2)]
    data = docgen.tiff(frames)
    whole = ocr_bytes(data, engine, Limits())
    second = ocr_page(data, 1, engine, Limits(), "ocr-2.2.1")
    assert (whole.total_pages, len(second.pages)) == (2, 1)
    assert second.pages[0] == whole.pages[1]
    assert "asyncpage2" in "".join(w.text.lower() for w in second.pages[0].words)
