"""Searchable PDF, hOCR and ALTO from the real engine on a generated page; `docuocr ocr --format`,
`POST /v1/docuocr/searchable-pdf`, and OCRmyPDF running with the docuocr plugin."""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import requests
from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from docuocr.config import Limits
from docuocr.document import Document
from docuocr.formats.alto import ALTO, to_alto
from docuocr.formats.files import document_file
from docuocr.formats.hocr import XHTML, to_hocr
from tests.docgen import font, png, text_pdf

DOCUOCR = Path(sys.executable).with_name("docuocr")
OCRMYPDF = Path(sys.executable).with_name("ocrmypdf")
KOREAN_FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
KOREAN = "대한민국 헌법 제1조 國民"
ENGLISH = "docuocr intake check 2026"
TILT = 30  # degrees, counter-clockwise
KEY = "test-key"
ALTO_SUBSET = Path(__file__).with_name("schemas") / "alto-4-subset.xsd"


@functools.cache
def page_image() -> Image.Image:
    """An English line, a Korean line with Hanja, and one word turned by TILT degrees."""
    img = Image.new("RGB", (1000, 520), "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), ENGLISH, font=font(44), fill="black")
    draw.text((40, 130), KOREAN, font=ImageFont.truetype(KOREAN_FONT, 44), fill="black")
    word = Image.new("RGB", (330, 80), "white")
    ImageDraw.Draw(word).text((10, 8), "rotated", font=font(48), fill="black")
    img.paste(word.rotate(TILT, expand=True, fillcolor="white"), (300, 250))
    return img


@pytest.fixture(scope="module")
def read() -> tuple[Document, list[Image.Image], bytes]:
    """The page read once by the real engine: its Document, page images and searchable PDF."""
    from docuocr.engine import Engine, default_stages
    from docuocr.pipeline import ocr_bytes, searchable_pdf

    engine = Engine(default_stages())
    images: list[Image.Image] = []
    doc = ocr_bytes(png(page_image()), engine, Limits(), on_page=images.append)
    again, pdf = searchable_pdf(png(page_image()), engine, Limits())
    assert [w.text for w in again.pages[0].words] == [w.text for w in doc.pages[0].words]
    return doc, images, pdf


def pdf_points(quad, page_height_pt: float, dpi: float = 150):
    s = 72 / dpi
    return [(x * s, page_height_pt - y * s) for x, y in quad]


def inside(point, polygon) -> bool:
    """Ray casting: is `point` inside the polygon?"""
    x, y = point
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_the_page_reads(read):
    doc, _, _ = read
    lines = [line.text for line in doc.pages[0].lines]
    assert ENGLISH in lines and KOREAN in lines
    assert any("rotated" in line for line in lines)


def test_pdf_words_are_inside_their_boxes(read):
    doc, images, pdf = read
    page = pdfium.PdfDocument(pdf)[0]
    assert page.get_size() == pytest.approx((1000 * 72 / 150, 520 * 72 / 150), abs=0.01)
    text = page.get_textpage()
    for word in doc.pages[0].words:
        poly = pdf_points(word.quad, page.get_height())
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        found = text.get_text_bounded(min(xs), min(ys), max(xs), max(ys))
        assert word.text in found.split(), (word.text, found)
    # every character's centre lies inside its own word's (turned) box
    chars = [text.get_text_range(i, 1) for i in range(text.count_chars())]
    centres = []
    for i, ch in enumerate(chars):
        left, bottom, right, top = text.get_charbox(i)
        centres.append((ch, ((left + right) / 2, (bottom + top) / 2)))
    for word in doc.pages[0].words:
        poly = pdf_points(word.quad, page.get_height())
        mine = "".join(ch for ch, c in centres if not ch.isspace() and inside(c, poly))
        assert mine == word.text, (word.text, mine)


def test_pdf_text_has_the_json_words_and_spaces(read):
    doc, _, pdf = read
    extracted = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    lines = [" ".join(line.split()) for line in extracted.splitlines() if line.strip()]
    assert KOREAN in lines and ENGLISH in lines  # spaces between words, none inside them
    assert sorted(extracted.split()) == sorted(w.text for w in doc.pages[0].words)


def test_pdf_turned_word_follows_its_box(read):
    doc, _, pdf = read
    (word,) = [w for w in doc.pages[0].words if "rotated" in w.text]
    document = pikepdf.open(io.BytesIO(pdf))  # kept open while its page is read
    matrices = [
        [float(v) for v in op.operands]
        for op in pikepdf.parse_content_stream(document.pages[0])
        if str(op.operator) == "Tm"
    ]
    angles = sorted(round(math.degrees(math.atan2(m[1], m[0]))) for m in matrices)
    assert angles[-1] == pytest.approx(TILT, abs=4)
    assert angles[0] == pytest.approx(0, abs=2)


def test_pdf_shows_the_page_image_and_draws_no_text(read):
    _, _, pdf = read
    document = pikepdf.open(io.BytesIO(pdf))
    page = document.pages[0]
    assert len(page.get_images()) == 1
    ops = [str(op.operator) for op in pikepdf.parse_content_stream(page)]
    assert "Do" in ops and ops[ops.index("BT") + 1] == "Tr"
    trs = [op.operands for op in pikepdf.parse_content_stream(page) if str(op.operator) == "Tr"]
    assert trs == [[3]]  # invisible text only
    # rendered with and without its text objects, the page looks exactly the same
    plain = pikepdf.open(io.BytesIO(pdf))
    ops = pikepdf.parse_content_stream(plain.pages[0])
    start = next(i for i, op in enumerate(ops) if str(op.operator) == "BT")
    plain.pages[0].Contents = plain.make_stream(pikepdf.unparse_content_stream(ops[:start]))
    buf = io.BytesIO()
    plain.save(buf)
    with_text = pdfium.PdfDocument(pdf)[0].render(scale=150 / 72).to_pil()
    without = pdfium.PdfDocument(buf.getvalue())[0].render(scale=150 / 72).to_pil()
    assert with_text.tobytes() == without.tobytes()
    assert with_text.size[0] - 1000 in (0, 1) and with_text.size[1] - 520 in (0, 1)


def test_hocr_and_alto_have_every_word_with_a_box(read):
    doc, _, _ = read
    words = [w.text for w in doc.pages[0].words]
    hocr = etree.fromstring(to_hocr(doc))
    spans = hocr.findall(f".//{{{XHTML}}}span[@class='ocrx_word']")
    assert [s.text for s in spans] == words
    for span in spans:
        title = span.get("title")
        assert title.startswith("bbox ") and "x_wconf " in title
        conf = int(title.split("x_wconf ")[1])
        assert 0 <= conf <= 100
    assert len(hocr.findall(f".//{{{XHTML}}}div[@class='ocr_page']")) == 1
    assert len(hocr.findall(f".//{{{XHTML}}}span[@class='ocr_line']")) == 3
    turned = [
        s
        for s in hocr.findall(f".//{{{XHTML}}}span[@class='ocr_line']")
        if "textangle" in s.get("title")
    ]
    assert len(turned) == 1 and abs(int(turned[0].get("title").split("textangle ")[1]) - TILT) <= 4

    alto = etree.fromstring(to_alto(doc))
    strings = alto.findall(f".//{{{ALTO}}}String")
    assert [s.get("CONTENT") for s in strings] == words
    for s in strings:
        assert all(int(s.get(k)) >= 0 for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
        assert 0 <= float(s.get("WC")) <= 1


def test_alto_validates(read):
    """Against tests/schemas/alto-4-subset.xsd: ALTO 4.4's rules for the elements docuocr writes
    (the official XSD is not shipped here), then the structure itself."""
    doc, _, _ = read
    schema = etree.XMLSchema(etree.parse(str(ALTO_SUBSET)))
    alto = etree.fromstring(to_alto(doc))
    assert schema.validate(alto), schema.error_log
    broken = etree.fromstring(to_alto(doc))
    del broken.find(f".//{{{ALTO}}}String").attrib["CONTENT"]
    assert not schema.validate(broken)  # the schema does check
    assert alto.tag == f"{{{ALTO}}}alto"
    ns = {"a": ALTO}
    assert alto.xpath("a:Description/a:MeasurementUnit/text()", namespaces=ns) == ["pixel"]
    (page,) = alto.xpath("a:Layout/a:Page", namespaces=ns)
    assert page.get("WIDTH") == "1000" and page.get("HEIGHT") == "520" and page.get("ID")
    lines = page.xpath("a:PrintSpace/a:TextBlock/a:TextLine", namespaces=ns)
    assert len(lines) == 3
    for line in lines:
        assert [etree.QName(c).localname for c in line][::2] == ["String"] * ((len(line) + 1) // 2)
        assert all(etree.QName(c).localname == "SP" for c in line[1::2])
    ids = alto.xpath("//@ID")
    assert len(ids) == len(set(ids))


def test_empty_document_formats():
    empty = Document(pages=[])
    assert etree.fromstring(to_hocr(empty)) is not None
    assert etree.fromstring(to_alto(empty)) is not None


# --- a PDF input keeps its own pages ----------------------------------------------------------


@pytest.mark.parametrize("rotate", [0, 90])
def test_pdf_input_keeps_its_pages_and_gets_a_text_layer(rotate):
    from docuocr.engine import Engine, default_stages
    from docuocr.pipeline import searchable_pdf

    source_pdf = pikepdf.open(io.BytesIO(text_pdf(["searchable layer on its own page"])))
    source_pdf.pages[0].Rotate = rotate
    buf = io.BytesIO()
    source_pdf.save(buf)
    doc, pdf = searchable_pdf(buf.getvalue(), Engine(default_stages()), Limits())
    out_pdf = pikepdf.open(io.BytesIO(pdf))
    original, out = source_pdf.pages[0], out_pdf.pages[0]
    assert [float(v) for v in out.mediabox] == [float(v) for v in original.mediabox]
    assert int(out.obj.get("/Rotate", 0)) == rotate
    assert len(out.get_images()) == 0  # still the original vector page, no page image added
    text = pdfium.PdfDocument(pdf)[0].get_textpage()
    chars = [(text.get_text_range(i, 1), text.get_charbox(i)) for i in range(text.count_chars())]
    assert "".join(ch for ch, _ in chars).split().count("page") == 2  # the page's own, and ours
    # docuocr's letters lie on the page's own letters (the same 'g', in page space)
    (theirs, ours) = [box for ch, box in chars if ch == "g"]
    for a, b in zip(theirs, ours, strict=True):
        assert a == pytest.approx(b, abs=4)


# --- the command line ---------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DOCUOCR), *args], capture_output=True, timeout=300)


def test_cli_formats(tmp_path, read):
    doc, _, _ = read
    path = tmp_path / "page.png"
    path.write_bytes(png(page_image()))
    result = run("ocr", str(path), "--format", "alto", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    alto = (tmp_path / "out" / "page.xml").read_bytes()
    assert alto == document_file(doc, "alto")
    result = run("ocr", str(path), "--format", "pdf")  # stdout is a pipe here, not a terminal
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"%PDF-")
    text = pdfium.PdfDocument(result.stdout)[0].get_textpage().get_text_range()
    assert KOREAN in " ".join(text.split())
    bad = run("ocr", str(path), "--format", "hocr", "--schema", "clova")
    assert bad.returncode == 2 and b"--schema" in bad.stderr


def test_batch_writes_the_format(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(png(page_image()))
    result = run("batch", str(src), str(tmp_path / "out"), "--format", "hocr", "--workers", "1")
    assert result.returncode == 0, result.stderr
    hocr = etree.fromstring((tmp_path / "out" / "a.hocr").read_bytes())
    words = [s.text for s in hocr.findall(f".//{{{XHTML}}}span[@class='ocrx_word']")]
    assert " ".join(words[4:8]) == KOREAN


# --- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(serve):
    return serve(DOCUOCR_API_KEYS=KEY)


def test_http_searchable_pdf(server):
    url = server.url + "/v1/docuocr/searchable-pdf"
    auth = {"Authorization": f"Bearer {KEY}"}
    response = requests.post(url, headers=auth, files={"document": ("scan.png", png(page_image()))})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "scan.pdf" in response.headers["content-disposition"]
    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert KOREAN in " ".join(text.split())

    bad = requests.post(url, headers=auth, files={"document": ("x.png", b"not an image at all")})
    assert 400 <= bad.status_code < 500
    assert bad.json()["error"]["code"] and bad.json()["error"]["message"]
    missing = requests.post(url, headers=auth, data={"model": "ocr"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_document"
    unauthorised = requests.post(url, files={"document": ("scan.png", png(page_image()))})
    assert unauthorised.status_code == 401


# --- OCRmyPDF -----------------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("ocrmypdf") is None or shutil.which("tesseract") is None,
    reason="OCRmyPDF is not installed (make install installs it)",
)
def test_ocrmypdf_plugin(tmp_path):
    import img2pdf

    scan = tmp_path / "scan.png"
    page_image().save(scan, dpi=(150, 150))
    (tmp_path / "in.pdf").write_bytes(img2pdf.convert(str(scan)))

    def ocrmypdf(*args: str) -> subprocess.CompletedProcess:
        command = [str(OCRMYPDF), "--plugin", "docuocr.ocrmypdf", "--jobs", "1"]
        return subprocess.run(
            [*command, "--output-type", "pdf", *args], capture_output=True, text=True, timeout=300
        )

    result = ocrmypdf(str(tmp_path / "in.pdf"), str(tmp_path / "out.pdf"))
    assert result.returncode == 0, result.stderr
    # a page with text: OCRmyPDF's own choices apply (here --redo-ocr replaces the layer)
    again = ocrmypdf(str(tmp_path / "out.pdf"), str(tmp_path / "again.pdf"))
    assert again.returncode != 0 and "already has text" in again.stderr
    redo = ocrmypdf("--redo-ocr", str(tmp_path / "out.pdf"), str(tmp_path / "redo.pdf"))
    assert redo.returncode == 0, redo.stderr
    redone = pdfium.PdfDocument(tmp_path / "redo.pdf")[0].get_textpage().get_text_range()
    assert redone.split().count("대한민국") == 1
    text = pdfium.PdfDocument(tmp_path / "out.pdf")[0].get_textpage().get_text_range()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert KOREAN in lines and ENGLISH in lines, text
    with pikepdf.open(tmp_path / "out.pdf") as out:
        assert "docuocr" in str(out.docinfo.get("/Creator", ""))


def test_cli_pdf_refuses_a_terminal(tmp_path):
    import os
    import pty

    path = tmp_path / "page.png"
    path.write_bytes(png(page_image()))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [str(DOCUOCR), "ocr", str(path), "--format", "pdf"],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert b"--out" in result.stderr
