"""Intake on real generated files: every format, every colour mode, the limits and the bad input."""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docuocr.config import MODEL_LIMITS, Limits, ModelLimits, resolve_model
from docuocr.errors import (
    DocumentTooLarge,
    DocuocrError,
    InvalidDocument,
    PageTooLarge,
    Timeout,
    UnsupportedDocument,
)
from docuocr.intake import load, office
from docuocr.intake.pdf import render_scale
from docuocr.intake.shrink import factor, full_size
from docuocr.intake.sniff import MIME
from tests import docgen

needs_soffice = pytest.mark.skipif(docgen.SOFFICE is None, reason="LibreOffice is not installed")
RED = (220, 0, 0)


def dark(img: Image.Image) -> float:
    """Share of dark pixels: text is there, and pages are not blank."""
    return float((np.asarray(img.convert("L")) < 128).mean())


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


def close(a, b, tol: int = 8) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


# --- formats ---------------------------------------------------------------------------------


def test_png_decodes_pixel_exact():
    img = docgen.phrase_image()
    out = load(docgen.png(img))
    assert (len(out.pages), out.total_pages, out.mime) == (1, 1, "image/png")
    assert out.pages[0].mode == "RGB" and out.pages[0].size == (1000, 200)
    assert np.array_equal(pixels(out.pages[0]), pixels(img))


def test_bmp_decodes_pixel_exact():
    img = docgen.phrase_image(size=(640, 160))
    out = load(docgen.bmp(img))
    assert (out.total_pages, out.mime, out.pages[0].size) == (1, "image/bmp", (640, 160))
    assert np.array_equal(pixels(out.pages[0]), pixels(img))


@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [
        (1, (400, 200), (25, 25)),  # as stored: marker top-left
        (3, (400, 200), (375, 175)),  # 180°: bottom-right
        (6, (200, 400), (175, 25)),  # turn 90° clockwise: top-right
        (8, (200, 400), (25, 375)),  # turn 90° counter-clockwise: bottom-left
    ],
)
def test_jpeg_exif_orientation_is_applied(orientation, size, red_at):
    stored = Image.new("RGB", (400, 200), "white")
    stored.paste(RED, (0, 0, 50, 50))
    out = load(docgen.jpeg(stored, orientation=orientation))
    page = out.pages[0]
    assert (out.mime, page.size) == ("image/jpeg", size)
    assert close(page.getpixel(red_at), RED, tol=30)
    assert close(page.getpixel((size[0] // 2, size[1] // 2)), (255, 255, 255), tol=10)


def test_tiff_every_page_in_order():
    first = docgen.phrase_image(size=(1000, 200))
    second = docgen.phrase_image("second page", size=(600, 300))
    out = load(docgen.tiff([first, second]))
    assert (out.total_pages, out.mime) == (2, "image/tiff")
    assert [p.size for p in out.pages] == [(1000, 200), (600, 300)]
    assert np.array_equal(pixels(out.pages[1]), pixels(second))


def test_tiff_page_limit_decodes_only_what_is_used():
    frames = [Image.new("L", (64, 64), i % 256) for i in range(400)]
    data = docgen.tiff(frames)
    started = time.perf_counter()
    out = load(data)
    elapsed = time.perf_counter() - started
    assert (len(out.pages), out.total_pages) == (30, 400)
    assert out.pages[29].getpixel((0, 0)) == (29, 29, 29)
    assert elapsed < 3, f"400-frame TIFF took {elapsed:.1f} s"
    assert len(load(data, Limits(max_pages=3)).pages) == 3


def test_heic_decodes_and_is_upright():
    img = docgen.phrase_image()
    out = load(docgen.heic(img))
    assert (out.total_pages, out.mime, out.pages[0].size) == (1, "image/heic", (1000, 200))
    assert abs(dark(out.pages[0]) - dark(img)) < 0.02
    turned = load(docgen.heic(img, orientation=6)).pages[0]
    assert turned.size == (200, 1000)


def test_pdf_pages_at_150_dpi_like_the_hosted_api():
    # The hosted API returns 1242x1755 for this 596x842 pt page and 1240x1755 for 595x842.
    out = load(docgen.text_pdf(["docuocr intake check 2026", "page two"], size=(596, 842)))
    assert (len(out.pages), out.total_pages, out.mime) == (2, 2, "application/pdf")
    assert [p.size for p in out.pages] == [(1242, 1755), (1242, 1755)]
    assert all(p.mode == "RGB" and dark(p) > 0.001 for p in out.pages)
    assert load(docgen.text_pdf(["x"], size=(595, 842))).pages[0].size == (1240, 1755)


def test_pdf_page_limit_keeps_real_count():
    data = docgen.text_pdf([f"page {i + 1}" for i in range(35)], size=(288, 360))
    out = load(data)
    assert (len(out.pages), out.total_pages) == (30, 35)
    assert load(data, Limits(max_pages=2)).total_pages == 35


def test_pdf_tiny_page_is_rendered_at_a_useful_size():
    out = load(docgen.text_pdf(["tiny"], size=(72, 36)))  # 1 x 0.5 inch: 150x75 at 150 DPI
    assert out.pages[0].size == (1000, 500)


def test_pdf_dpi_is_configurable(monkeypatch):
    monkeypatch.setenv("DOCUOCR_PDF_DPI", "100")
    limits = Limits.from_env()
    assert limits.pdf_dpi == 100
    assert load(docgen.text_pdf(["a"], size=(595, 842)), limits).pages[0].size == (827, 1170)


def test_pdf_render_never_exceeds_the_pixel_limit():
    limits = Limits(max_page_pixels=10_000_000, pdf_dpi=600)
    page = load(docgen.text_pdf(["big"], size=(500, 500)), limits).pages[0]  # 4167² at 600 DPI
    assert page.width * page.height <= 10_000_000
    assert page.width > 3000
    scale = render_scale(20, 20_000, 150, 1_000_000)
    assert np.ceil(20 * scale) * np.ceil(20_000 * scale) <= 1_000_000


@needs_soffice
@pytest.mark.parametrize(
    ("kind", "page_pt"),
    [("docx", (595.3, 841.9)), ("xlsx", (595.3, 841.9)), ("pptx", (793.7, 446.5))],
)
def test_office_documents_become_pages(kind, page_pt):
    data = docgen.office(kind, (docgen.PHRASE, "second page"))
    out = load(data)
    assert (len(out.pages), out.total_pages, out.mime) == (2, 2, MIME[kind])
    want = (page_pt[0] * 150 / 72, page_pt[1] * 150 / 72)
    for page in out.pages:
        assert abs(page.width - want[0]) <= 3 and abs(page.height - want[1]) <= 3
        assert dark(page) > 0.0005  # the text made it through LibreOffice


# --- colour modes ----------------------------------------------------------------------------


def _halves(mode: str, left, right, size=(64, 32)) -> Image.Image:
    img = Image.new(mode, size, right)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    return img


def _palette() -> Image.Image:
    img = Image.new("P", (64, 32), 0)
    img.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)
    img.paste(1, (0, 0, 32, 32))
    return img


def _palette_transparent() -> bytes:
    img = _palette()
    return docgen.encode(img, "PNG", transparency=1)  # the red half is see-through


def _sixteen_bit(fmt: str) -> bytes:
    a = np.full((32, 64), 32768, dtype=np.uint16)
    a[:, :32] = 65535
    return docgen.encode(Image.fromarray(a), fmt)


def _int32() -> bytes:
    a = np.full((32, 64), 32768, dtype=np.int32)
    a[:, :32] = 65535
    return docgen.encode(Image.fromarray(a), "TIFF")


def _rgba() -> bytes:
    img = Image.new("RGBA", (64, 32), (0, 0, 0, 0))  # fully transparent black
    img.paste((200, 0, 0, 255), (0, 0, 32, 32))
    return docgen.encode(img, "PNG")


def _la() -> bytes:
    return docgen.encode(_halves("LA", (0, 255), (0, 0)), "PNG")


@pytest.mark.parametrize(
    ("name", "make", "left", "right"),
    [
        ("palette", lambda: docgen.encode(_palette(), "PNG"), (200, 0, 0), (255, 255, 255)),
        ("palette+tRNS", _palette_transparent, (255, 255, 255), (255, 255, 255)),
        ("16-bit PNG", lambda: _sixteen_bit("PNG"), (255, 255, 255), (128, 128, 128)),
        ("16-bit TIFF", lambda: _sixteen_bit("TIFF"), (255, 255, 255), (128, 128, 128)),
        ("32-bit TIFF", _int32, (255, 255, 255), (128, 128, 128)),
        (
            "CMYK JPEG",
            lambda: docgen.encode(_halves("CMYK", (0, 0, 0, 255), (0, 0, 0, 0)), "JPEG"),
            (0, 0, 0),
            (255, 255, 255),
        ),
        (
            "CMYK TIFF",
            lambda: docgen.encode(_halves("CMYK", (0, 255, 255, 0), (0, 0, 0, 0)), "TIFF"),
            (255, 0, 0),
            (255, 255, 255),
        ),
        ("1-bit", lambda: docgen.encode(_halves("1", 0, 1), "PNG"), (0, 0, 0), (255, 255, 255)),
        ("1-bit TIFF", lambda: docgen.encode(_halves("1", 0, 1), "TIFF"), (0, 0, 0), (255,) * 3),
        ("grey", lambda: docgen.encode(_halves("L", 50, 200), "PNG"), (50,) * 3, (200,) * 3),
        ("RGBA", _rgba, (200, 0, 0), (255, 255, 255)),
        ("LA", _la, (0, 0, 0), (255, 255, 255)),
    ],
)
def test_colour_modes_become_rgb(name, make, left, right):
    page = load(make()).pages[0]
    assert (page.mode, page.size) == ("RGB", (64, 32)), name
    assert close(page.getpixel((8, 16)), left), (name, page.getpixel((8, 16)))
    assert close(page.getpixel((56, 16)), right), (name, page.getpixel((56, 16)))


def test_half_transparent_text_is_flattened_on_white():
    img = Image.new("RGBA", (64, 32), (0, 0, 0, 128))
    page = load(docgen.encode(img, "PNG")).pages[0]
    assert close(page.getpixel((10, 10)), (127, 127, 127), tol=3)


# --- limits ----------------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds only a few bytes of image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj()
    idat = packer.compress(bytes(3 * width + 1)) + packer.flush(zlib.Z_SYNC_FLUSH)  # one row, cut
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


def test_oversized_image_is_refused_before_decoding():
    data = docgen.encode(Image.new("1", (12000, 9000), 1), "PNG")
    started = time.perf_counter()
    with pytest.raises(PageTooLarge) as err:
        load(data)
    assert time.perf_counter() - started < 1
    assert err.value.status == 413 and err.value.code == "page_too_large"
    assert "12000x9000" in err.value.message and "100,000,000" in err.value.message


def test_declared_size_alone_triggers_the_limit():
    # Were it decoded, this header-only file would fail as truncated, not as too large.
    with pytest.raises(PageTooLarge, match="40000x40000"):
        load(_png_header(40000, 40000))
    with pytest.raises(InvalidDocument, match="truncated"):
        load(_png_header(400, 400))


def test_pixel_limit_is_configurable():
    data = docgen.png(docgen.phrase_image(size=(1000, 200)))
    with pytest.raises(PageTooLarge):
        load(data, Limits(max_page_pixels=199_999))
    assert load(data, Limits(max_page_pixels=200_000)).pages


def test_oversized_pdf_page_counts_pixels_at_300_dpi():
    with pytest.raises(PageTooLarge, match="300 DPI") as err:
        load(docgen.text_pdf(["huge"], size=(3000, 3000)))  # 12500x12500 at 300 DPI
    assert "12500x12500" in err.value.message
    with pytest.raises(PageTooLarge):
        load(docgen.text_pdf(["a4"], size=(595, 842)), Limits(max_page_pixels=8_000_000))


def test_file_size_limit():
    data = docgen.png()
    with pytest.raises(DocumentTooLarge) as err:
        load(data, Limits(max_file_bytes=len(data) - 1))
    assert err.value.status == 413


# --- each model's limits --------------------------------------------------------------------

OCR = MODEL_LIMITS["ocr"][0]  # Upstage's current `ocr`
SEED = MODEL_LIMITS["ocr-2.2.1"][0]  # the seed's `ocr-2.2.1`


def test_models_have_the_limits_upstage_documents():
    assert (SEED.max_file_bytes, SEED.max_pages, SEED.truncate_pages) == (50 * 2**20, 30, True)
    assert (SEED.max_page_pixels, SEED.pixel_dpi) == (100_000_000, 300)
    assert (OCR.max_file_bytes, OCR.max_pages, OCR.truncate_pages) == (100 * 2**20, 100, False)
    assert (OCR.max_page_pixels, OCR.pixel_dpi) == (200_000_000, 150)
    limits = ModelLimits()
    assert limits[resolve_model(None)] == SEED  # no model: the seed's model and limits
    assert limits[resolve_model("ocr")] == OCR and limits["ocr-2.2.1"] == SEED
    assert limits.largest == OCR


def test_limit_overrides_apply_to_their_own_model(monkeypatch):
    monkeypatch.setenv("DOCUOCR_MAX_FILE_MB", "20")
    monkeypatch.setenv("DOCUOCR_OCR_MAX_PAGES", "7")
    monkeypatch.setenv("DOCUOCR_OCR_MAX_PAGE_PIXELS", "1000")
    monkeypatch.setenv("DOCUOCR_PDF_DPI", "100")  # not a limit: every model renders so
    limits = ModelLimits.from_env()
    assert limits["ocr-2.2.1"].max_file_bytes == 20 * 2**20
    assert limits["ocr"].max_file_bytes == 100 * 2**20
    assert (limits["ocr"].max_pages, limits["ocr-2.2.1"].max_pages) == (7, 30)
    assert (limits["ocr"].max_page_pixels, limits["ocr-2.2.1"].max_page_pixels) == (
        1000,
        100_000_000,
    )
    assert limits["ocr"].pdf_dpi == limits["ocr-2.2.1"].pdf_dpi == 100
    assert Limits.from_env() == limits["ocr-2.2.1"]


def _pages_pdf(n: int) -> bytes:
    """n tiny pages (1 x 1.25 inch) with a word each: cheap to render, cheap to read."""
    return docgen.text_pdf([f"page {i + 1}" for i in range(n)], size=(72, 90))


def test_ocr_reads_100_pages_and_refuses_101_before_rendering():
    out = load(_pages_pdf(100), OCR)
    assert (len(out.pages), out.total_pages) == (100, 100)
    started = time.perf_counter()
    with pytest.raises(DocumentTooLarge) as err:
        load(_pages_pdf(101), OCR)
    assert time.perf_counter() - started < 1
    assert (err.value.status, err.value.code) == (413, "too_many_pages")
    assert "101 pages" in err.value.message and "model ocr" in err.value.message
    # The seed's model reads the first 30 of either, as the hosted ocr-2.2.1 did.
    out = load(_pages_pdf(35), SEED)
    assert (len(out.pages), out.total_pages) == (30, 35)


def test_tiff_page_count_follows_the_model():
    data = docgen.tiff([Image.new("L", (32, 32), 255)] * 101)
    with pytest.raises(DocumentTooLarge, match="101 pages"):
        load(data, OCR)
    assert len(load(data, SEED).pages) == 30


def test_pdf_page_pixels_are_counted_at_the_models_dpi():
    # 3000 x 3000 pt: 12500 x 12500 = 156 MP at 300 DPI, 6250 x 6250 = 39 MP at 150 DPI.
    with pytest.raises(PageTooLarge, match="300 DPI"):
        load(docgen.text_pdf(["big"], size=(3000, 3000)), SEED)
    assert load(docgen.text_pdf(["big"], size=(3000, 3000)), replace(OCR, max_pages=1)).pages
    # 7000 x 7000 pt: 14583 x 14583 = 213 MP at 150 DPI, over ocr's 200 MP.
    with pytest.raises(PageTooLarge, match="150 DPI") as err:
        load(docgen.text_pdf(["huge"], size=(7000, 7000)), OCR)
    assert "14583x14583" in err.value.message and "model ocr" in err.value.message


def test_pdf_page_over_the_read_size_is_rendered_smaller_and_reported_full():
    # 6000 x 5000 pt at 150 DPI: 12500 x 10417 = 130 MP, rendered at half that on each side.
    out = load(docgen.text_pdf(["wide"], size=(6000, 5000)), OCR)
    assert out.pages[0].size == (6250, 5209)
    assert full_size(out.pages[0]) == (12500, 10417)


def _big_scan() -> Image.Image:
    """15000 x 10000 (150 MP), bilevel: fast to make and small to send."""
    img = Image.new("1", (15000, 10000), 1)
    ImageDraw.Draw(img).text((600, 600), "big scan", font=docgen.font(300), fill=0)
    return img


def test_150_mp_image_is_decoded_shrunk_for_ocr_and_refused_for_the_seed():
    data = docgen.png(_big_scan())
    with pytest.raises(PageTooLarge, match="15000x10000"):
        load(data, SEED)
    page = load(data, OCR).pages[0]
    assert (page.size, full_size(page), page.mode) == ((7500, 5000), (15000, 10000), "RGB")
    ink = np.asarray(page.convert("L").crop((300, 300, 2500, 500))) < 128
    assert ink.mean() > 0.02  # the text survived the shrinking, grey rather than lost


@pytest.mark.parametrize(
    ("make", "mode"),
    [
        (lambda img: docgen.jpeg(img, orientation=6), "jpeg turned"),
        (lambda img: docgen.png(img.convert("P")), "palette"),
        (lambda img: docgen.png(img.convert("1")), "bilevel"),
        (lambda img: docgen.tiff([img.convert("L"), img.convert("L")]), "tiff pages"),
        (
            lambda img: docgen.png(Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)),
            "16-bit",
        ),
    ],
)
def test_shrinking_keeps_each_kind_of_image(make, mode):
    img = docgen.phrase_image(size=(2000, 400), font_size=112)
    limits = replace(OCR, read_pixels=300_000)  # 800,000 pixels: read at half size
    assert factor(2000, 400, limits.read_pixels) == 2
    pages = load(make(img), limits).pages
    turned = mode == "jpeg turned"
    for page in pages:
        assert page.size == ((200, 1000) if turned else (1000, 200))
        assert full_size(page) == ((400, 2000) if turned else (2000, 400))
        assert page.mode == "RGB"
        want = docgen.phrase_image(size=(1000, 200), font_size=56)
        assert abs(dark(page) - dark(want)) < 0.03, mode


def test_pages_within_the_read_size_are_not_shrunk():
    page = load(docgen.png(docgen.phrase_image()), OCR).pages[0]
    assert full_size(page) == page.size == (1000, 200)
    assert factor(10000, 10000, 100_000_000) == 1
    assert factor(10001, 10000, 100_000_000) == 2
    assert factor(30000, 20000, 100_000_000) == 3


# --- bad input -------------------------------------------------------------------------------


def _gif() -> bytes:
    return docgen.encode(docgen.phrase_image().convert("P"), "GIF")


@pytest.mark.parametrize(
    ("name", "make", "error", "words"),
    [
        ("empty", lambda: b"", InvalidDocument, "empty"),
        ("random", lambda: random.Random(7).randbytes(4096), UnsupportedDocument, "PDF"),
        ("text", lambda: "영수증 total 42\n".encode() * 20, UnsupportedDocument, "text"),
        ("xml", lambda: b'<?xml version="1.0"?><a>b</a>', UnsupportedDocument, "text"),
        ("gif", _gif, UnsupportedDocument, "GIF"),
        ("webp", lambda: docgen.encode(docgen.phrase_image(), "WEBP"), UnsupportedDocument, "WebP"),
        ("truncated png", lambda: docgen.png()[:1500], InvalidDocument, "truncated"),
        ("truncated jpeg", lambda: docgen.jpeg()[:2000], InvalidDocument, "truncated"),
        ("cut signature", lambda: b"%PD", InvalidDocument, "truncated"),
        ("corrupt pdf", lambda: b"%PDF-1.7\n" + bytes(200), InvalidDocument, "PDF"),
        (
            "encrypted pdf",
            lambda: docgen.text_pdf(["x"], password="pw"),
            InvalidDocument,
            "encrypted",
        ),
        ("plain zip", lambda: _zip({"notes.txt": b"hi"}), UnsupportedDocument, "ZIP"),
        (
            "odt",
            lambda: _zip({"mimetype": b"application/vnd.oasis.opendocument.text"}),
            UnsupportedDocument,
            "OpenDocument",
        ),
        ("broken zip", lambda: b"PK\x03\x04" + bytes(100), InvalidDocument, "ZIP"),
    ],
)
def test_bad_input_gets_a_clear_error(name, make, error, words):
    with pytest.raises(error) as err:
        load(make())
    assert words in err.value.message, err.value.message
    assert err.value.status == (415 if error is UnsupportedDocument else 400)
    if error is UnsupportedDocument:
        assert "JPEG, PNG, BMP, TIFF, HEIC, PDF, DOCX, PPTX, XLSX" in err.value.message
    else:
        assert err.value.code == "invalid_document"


def test_password_check_is_real():
    """The encrypted test PDF opens with its password, so the refusal above is for the right reason."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(docgen.text_pdf(["hidden words"], password="pw"), password="pw")
    assert pdf[0].get_textpage().get_text_range() == "hidden words"


@pytest.mark.parametrize("fmt", ["png", "jpeg", "bmp", "tiff", "heic", "pdf"])
def test_damaged_files_only_raise_docuocr_errors(fmt):
    img = docgen.phrase_image(size=(300, 80), font_size=30)
    data = {
        "png": lambda: docgen.png(img),
        "jpeg": lambda: docgen.jpeg(img),
        "bmp": lambda: docgen.bmp(img),
        "tiff": lambda: docgen.tiff([img, img]),
        "heic": lambda: docgen.heic(img),
        "pdf": lambda: docgen.text_pdf(["a", "b"]),
    }[fmt]()
    rng = random.Random(fmt)
    variants = [
        data[:cut] for cut in (8, 16, 40, 100, len(data) // 3, len(data) // 2, len(data) - 5)
    ]
    for _ in range(12):
        damaged = bytearray(data)
        for pos in rng.sample(range(8, len(data)), 4):
            damaged[pos] = rng.randrange(256)
        variants.append(bytes(damaged))
    for variant in variants:
        try:
            out = load(variant)
        except DocuocrError as exc:
            assert exc.message and 400 <= exc.status < 500
        else:
            assert out.pages and all(p.mode == "RGB" for p in out.pages)


# --- office ZIP guards and LibreOffice -------------------------------------------------------


def _zip(members: dict[str, bytes], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _docx_like(extra: dict[str, bytes]) -> bytes:
    return _zip(
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>", **extra}
    )


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite a member's uncompressed size in the central directory, as a forged ZIP would."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_len] == member.encode():
            return data[: at + 24] + size.to_bytes(4, "little") + data[at + 28 :]
        at = data.index(b"PK\x01\x02", at + 4)


def test_zip_declaring_too_much_is_refused():
    data = _declare_size(
        _docx_like({"word/media/big.bin": b"x" * 1000}), "word/media/big.bin", 300 * 2**20
    )
    with pytest.raises(DocumentTooLarge, match="unpacks to 300 MB"):
        load(data)


def test_zip_with_absurd_ratio_is_refused():
    data = _docx_like({"word/media/zeros.bin": bytes(20 * 2**20)})
    assert len(data) < 100_000
    with pytest.raises(InvalidDocument, match="ZIP bomb"):
        load(data)


def test_zip_lying_about_its_size_is_refused():
    data = _declare_size(
        _docx_like({"word/media/zeros.bin": bytes(500_000)}), "word/media/zeros.bin", 1000
    )
    with pytest.raises(InvalidDocument, match="more than its declared"):
        load(data)


@needs_soffice
def test_damaged_docx_fails_before_libreoffice():
    data = bytearray(docgen.office("docx"))
    with pytest.raises(InvalidDocument, match="truncated or corrupt"):
        load(bytes(data[: len(data) // 2]))
    part = max(zipfile.ZipFile(io.BytesIO(data)).infolist(), key=lambda i: i.compress_size)
    data[part.header_offset + 30 + len(part.filename) + part.compress_size // 2] ^= 0xFF
    with pytest.raises(InvalidDocument, match="DOCX is corrupt"):  # checksum, inflate or size
        load(bytes(data))


@needs_soffice
def test_legacy_word_file_is_unsupported():
    doc = docgen.convert(docgen.office("docx"), "docx", "doc")
    with pytest.raises(UnsupportedDocument, match="legacy Microsoft Office"):
        load(doc)


@needs_soffice
def test_conversion_timeout_kills_libreoffice(tmp_path):
    data = docgen.office("docx")
    started = time.perf_counter()
    with pytest.raises(Timeout) as err:
        office.to_pdf(data, "docx", timeout_s=0.3, tmp_root=str(tmp_path))
    assert time.perf_counter() - started < 5
    assert err.value.status == 504 and "longer than 0.3 s" in err.value.message
    assert list(tmp_path.iterdir()) == []  # the work dir and profile are gone
    left = [p for p in Path("/proc").glob("[0-9]*") if str(tmp_path) in _cmdline(p)]
    assert left == [], "LibreOffice processes survived the timeout"
    with pytest.raises(Timeout):
        load(data, Limits(office_timeout_s=0.3))


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --- end to end through the real engine ------------------------------------------------------


def _words(doc) -> str:
    return "".join(" ".join(w.text for page in doc.pages for w in page.words).lower().split())


@pytest.mark.parametrize("fmt", ["png", pytest.param("docx", marks=needs_soffice)])
def test_words_come_back_through_the_engine(engine, fmt):
    from docuocr.pipeline import ocr_bytes

    data = docgen.png() if fmt == "png" else docgen.office("docx")
    doc = ocr_bytes(data, engine, Limits())
    assert doc.total_pages == 1 and len(doc.pages) == 1
    assert "intake" in _words(doc) and "2026" in _words(doc), _words(doc)


_CORRUPT_UNDER_CAP = """
import io, resource, sys
from PIL import Image
from docuocr.errors import DocuocrError
from docuocr.intake import load
img = Image.new("L", (8000, 8000), 255)
buf = io.BytesIO()
img.save(buf, "TIFF", compression="tiff_deflate")
tiff = Image.open(io.BytesIO(buf.getvalue()))
start, count = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
data = bytearray(buf.getvalue())
data[start + count // 4 : start + 3 * count // 4] = b"\\xff" * (count // 2)  # damage the strip
del img, tiff
if sys.argv[1] != "0":
    mapped = int(open("/proc/self/statm").read().split()[0]) * 4096
    resource.setrlimit(resource.RLIMIT_AS, (mapped + int(sys.argv[1]) * 2**20, resource.RLIM_INFINITY))
try:
    load(bytes(data))
except DocuocrError as exc:
    print(exc.status, type(exc).__name__)
"""


@pytest.mark.parametrize(
    ("cap_mb", "want"), [(0, "400 InvalidDocument"), (120, "413 DocumentTooLarge")]
)
def test_decoder_failure_under_a_memory_cap_is_memory_not_corruption(cap_mb, want):
    """libtiff says "decoder error -2" both for a damaged strip and for a failed allocation. With
    room for the 8000x8000 page (no cap) it is corrupt (400); in a worker whose cap leaves no room
    for the page's RGB copy, memory is what ran out (413), as the server's memory test expects."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _CORRUPT_UNDER_CAP, str(cap_mb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == want, out.stdout + out.stderr
