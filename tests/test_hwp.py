"""HWP 5 and HWPX: sniffing, the checks before the renderer, the renderer's limits, and one page
through a real server. Real Hancom files come from ../shared/data/hwp (skipped when absent)."""

from __future__ import annotations

import http.server
import io
import random
import re
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import olefile
import pytest
import requests

from docuocr.bench.datasets import pdf_text_layer
from docuocr.bench.metrics import char_counts, normalize_text, prf
from docuocr.config import Limits
from docuocr.errors import DocumentTooLarge, InvalidDocument, UnsupportedDocument
from docuocr.intake import hwp, load
from docuocr.intake.sniff import MIME, sniff

SHARED = Path(__file__).parents[2] / "shared"
HWP_DIR = SHARED / "data" / "hwp"


def dev_file(name: str) -> bytes:
    path = HWP_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path.read_bytes()


def with_flags(data: bytes, set_bits: int) -> bytes:
    """The same HWP with bits set in its FileHeader's properties (the DWORD after the version)."""
    at = data.index(hwp.SIGNATURE) + 36
    flags = int.from_bytes(data[at : at + 4], "little") | set_bits
    return data[:at] + flags.to_bytes(4, "little") + data[at + 4 :]


def with_stream(data: bytes, name: str, content: bytes) -> bytes:
    """The same OLE file with one stream's bytes replaced (olefile keeps the size)."""
    with olefile.OleFileIO(data, write_mode=False) as ole:
        size = ole.get_size(name)
    assert len(content) <= size
    buf = io.BytesIO(data)
    with olefile.OleFileIO(buf, write_mode=True) as ole:
        ole.write_stream(name, content.ljust(size, b"\0"))
    return buf.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


# --- sniffing ---------------------------------------------------------------------------------


def test_hwp_and_hwpx_are_told_from_their_bytes():
    assert sniff(dev_file("hwpjs_noori.hwp")) == "hwp"
    assert sniff(dev_file("hwpjs_noori.hwpx")) == "hwpx"
    assert (MIME["hwp"], MIME["hwpx"]) == ("application/x-hwp", "application/hwp+zip")


def test_docx_and_other_ole_files_are_not_taken_for_hwp():
    docx = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert sniff(docx) == "docx"
    # The same OLE container with its FileHeader stream renamed and the signature gone: an OLE
    # file that is not HWP, as a .doc or .xls is, keeps today's answer.
    data = dev_file("hwpjs_selfintroduce.hwp")
    data = data.replace("FileHeader".encode("utf-16-le"), "WordHeader".encode("utf-16-le"))
    data = data.replace(hwp.SIGNATURE, b"X" * len(hwp.SIGNATURE))
    with pytest.raises(UnsupportedDocument, match="legacy Microsoft Office"):
        sniff(data)
    with pytest.raises(UnsupportedDocument, match="legacy Microsoft Office"):
        sniff(data[:600])  # too short for an OLE directory, and no signature in it
    with pytest.raises(UnsupportedDocument, match="HWP 3"):
        sniff(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\0" * 200)
    with pytest.raises(UnsupportedDocument, match="OpenDocument"):
        sniff(zip_of({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b""}))


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cut"),
    [
        ("hwpjs_noori.hwp", 0.5),  # the OLE file itself is cut short
        ("hwpjs_noori.hwp", 0.97),
        ("hwpjs_noori.hwp", -600),  # a stream is
        ("hwpjs_selfintroduce.hwp", 0.5),  # the FileHeader, kept at the end, is gone
    ],
)
def test_truncated_hwp_is_invalid(name, cut):
    data = dev_file(name)
    end = int(len(data) * cut) if cut > 0 else len(data) + cut
    with pytest.raises(InvalidDocument, match="HWP is (truncated|corrupt)") as err:
        load(data[:end])
    assert err.value.status == 400


def test_corrupt_hwp_stream_is_invalid():
    data = dev_file("hwpjs_selfintroduce.hwp")
    with pytest.raises(InvalidDocument, match="BodyText/Section0"):
        load(with_stream(data, "BodyText/Section0", b"\xff" * 64))


def test_hwp_the_renderer_cannot_read_is_invalid():
    data = dev_file("hwpjs_selfintroduce.hwp")
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    garbage = packer.compress(random.Random(1).randbytes(400)) + packer.flush()
    with pytest.raises(InvalidDocument, match="HWP cannot be laid out") as err:
        load(with_stream(data, "DocInfo", garbage))  # inflates fine, but holds no records
    assert "docuocr-hwp-" not in err.value.message


def test_truncated_hwpx_is_invalid():
    data = dev_file("hwpjs_selfintroduce.hwpx")
    with pytest.raises(InvalidDocument) as err:
        load(data[: len(data) - 500])
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("bits", "words"),
    [(hwp.PASSWORD, "password-protected"), (hwp.DRM, "DRM-protected")],
)
def test_locked_hwp_says_so(bits, words):
    data = with_flags(dev_file("hwpjs_selfintroduce.hwp"), bits)
    with pytest.raises(InvalidDocument, match=words) as err:
        load(data)
    assert err.value.status == 400


def test_encrypted_hwpx_says_so():
    data = dev_file("hwpjs_selfintroduce.hwpx")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["META-INF/manifest.xml"] = (
        b'<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        b'<odf:file-entry odf:full-path="Contents/section0.xml"><odf:encryption-data/>'
        b"</odf:file-entry></odf:manifest>"
    )
    with pytest.raises(InvalidDocument, match="HWPX document is password-protected"):
        load(zip_of(members))


def test_hwp_stream_bomb_is_413_before_rendering(monkeypatch):
    data = dev_file("hwpjs_selfintroduce.hwp")
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = bomb.compress(b"\0" * (600 * 1024)) + bomb.flush()  # 600 KB in about 600 bytes
    data = with_stream(data, "BodyText/Section0", packed)
    monkeypatch.setattr(hwp, "MAX_UNCOMPRESSED", 512 * 1024)
    with pytest.raises(DocumentTooLarge, match="HWP bomb") as err:
        load(data)
    assert err.value.status == 413


def test_hwp_nesting_bomb_is_413():
    """Records each one level below the last, 100 deep: what tables in tables look like."""
    data = dev_file("hwpjs_selfintroduce.hwp")
    para_header = 66  # HWPTAG_BEGIN + 50
    records = b"".join((para_header | level << 10).to_bytes(4, "little") for level in range(100))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = with_stream(data, "BodyText/Section0", packer.compress(records) + packer.flush())
    with pytest.raises(DocumentTooLarge, match="nests objects 65 deep"):
        load(data)


def test_hwp_record_count_bomb_is_413(monkeypatch):
    monkeypatch.setattr(hwp, "MAX_RECORDS", 50)  # the self-introduction has 114
    with pytest.raises(DocumentTooLarge, match="more than 50 records"):
        load(dev_file("hwpjs_selfintroduce.hwp"))


def test_hwpx_nesting_bomb_is_413():
    """A table nested in its own first cell 30 times, as rhwp would recurse into it."""
    with zipfile.ZipFile(io.BytesIO(dev_file("hwpjs_noori.hwpx"))) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    section = members["Contents/section0.xml"].decode()
    start = section.index("<hp:tbl")
    end = section.index("</hp:tbl>", start) + len("</hp:tbl>")
    table = section[start:end]
    text = re.search(r"<hp:t>[^<]*</hp:t>", table)
    nested = table
    for _ in range(30):
        nested = table[: text.start()] + nested + table[text.end() :]
    members["Contents/section0.xml"] = (section[:start] + nested + section[end:]).encode()
    with pytest.raises(DocumentTooLarge, match="nests elements more than 128 deep"):
        load(zip_of(members))


def test_hwpx_zip_bomb_is_413():
    members = {"mimetype": b"application/hwp+zip", "Contents/section0.xml": b"\0" * (300 << 20)}
    with pytest.raises(DocumentTooLarge, match="HWPX unpacks to"):
        load(zip_of(members))


def test_page_count_bomb_is_413(monkeypatch):
    monkeypatch.setattr(hwp, "MAX_PAGES", 2)
    with pytest.raises(DocumentTooLarge, match="lays out to 3 pages, over the limit of 2"):
        load(dev_file("hwpjs_noori.hwp"))


_UNDER_CAP = """
import resource, sys
from docuocr.errors import DocuocrError
from docuocr.intake import hwp
data = open(sys.argv[1], "rb").read()
resource.setrlimit(resource.RLIMIT_AS, (200 * 2**20, resource.RLIM_INFINITY))
try:
    hwp.to_pdf(data, "hwp", 60)
    print("200")
except DocuocrError as exc:
    print(exc.status, exc.code)
"""


def test_renderer_out_of_memory_is_413_not_corrupt():
    """The renderer inherits the worker's address-space cap. When it runs out (the loader, glibc,
    GLib or Rust failing to allocate), the answer is memory (413), not a corrupt file (400)."""
    path = HWP_DIR / "rhwp_80168_regulatory_analysis.hwp"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    out = subprocess.run(
        [sys.executable, "-c", _UNDER_CAP, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "413 out_of_memory", out.stdout + out.stderr


def test_renderer_timeout_is_413_and_leaves_nothing(tmp_path):
    data = dev_file("hwpjs_table-bug.hwp")
    started = time.perf_counter()
    with pytest.raises(DocumentTooLarge, match="longer than 0.05 s") as err:
        hwp.to_pdf(data, "hwp", timeout_s=0.05, tmp_root=str(tmp_path))
    assert time.perf_counter() - started < 5
    assert err.value.code == "conversion_timeout"
    assert list(tmp_path.iterdir()) == []


def test_hwpx_pointing_at_a_url_fetches_nothing():
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        data = dev_file("hwpjs_noori.hwpx")
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {i.filename: zf.read(i) for i in zf.infolist()}
        url = f"http://127.0.0.1:{httpd.server_address[1]}/image1.jpg".encode()
        embedded = b'href="BinData/image1.jpg" media-type="image/jpg" isEmbeded="1"'
        linked = b'href="' + url + b'" media-type="image/jpg" isEmbeded="0"'
        assert embedded in members["Contents/content.hpf"]
        members["Contents/content.hpf"] = members["Contents/content.hpf"].replace(embedded, linked)
        del members["BinData/image1.jpg"]
        assert len(load(zip_of(members)).pages) == 3
    finally:
        httpd.shutdown()
    assert hits == []


# --- real documents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pages"),
    [
        ("hwpjs_selfintroduce.hwp", 1),
        ("hwpjs_selfintroduce.hwpx", 1),
        ("hwpjs_noori.hwp", 3),  # Hancom's own export: hwpjs_noori-{1,2,3}page.jpg
        ("hwpjs_noori.hwpx", 3),
    ],
)
def test_dev_documents_lay_out_to_hancoms_page_count(name, pages):
    out = load(dev_file(name))
    assert (len(out.pages), out.total_pages) == (pages, pages)
    assert out.mime == MIME[name.rsplit(".", 1)[1]]
    width, height = out.pages[0].size
    assert 1200 <= min(width, height) <= 1260  # an A4 page at 150 DPI, as a PDF page would be


@pytest.mark.parametrize("kind", ["hwp", "hwpx"])
def test_held_out_document_is_paginated_as_hancom_prints_it(kind, tmp_path):
    """The housing notice against Hancom's own PDF of it: the same 29 pages, each holding the
    same text (a table that ran over onto a page of its own would shift every later page)."""
    hancom_pdf = HWP_DIR / "rhwp_hwpx_sample2.hancom2024.pdf"
    if not hancom_pdf.is_file():
        pytest.skip(f"{hancom_pdf} is absent")
    ours = tmp_path / "ours.pdf"
    ours.write_bytes(hwp.to_pdf(dev_file(f"rhwp_hwpx_sample2.{kind}"), kind, timeout_s=120))
    theirs, mine = pdf_text_layer(hancom_pdf), pdf_text_layer(ours)
    assert len(mine) == len(theirs) == 29
    for page, (truth, pred) in enumerate(zip(theirs, mine, strict=True), start=1):
        n_truth, n_pred, hits = char_counts(normalize_text(truth), normalize_text(pred))
        f1 = prf(hits, n_truth, n_pred)[2]
        assert f1 >= 0.95, f"page {page}: char F1 {f1:.3f} against Hancom's page"


def test_page_limit_applies_to_hwp():
    out = load(dev_file("hwpjs_noori.hwpx"), Limits(max_pages=2))
    assert (len(out.pages), out.total_pages) == (2, 3)


@pytest.fixture(scope="module")
def server(serve):
    return serve(DOCUOCR_API_KEYS="test-key")


def test_hwpx_through_the_server_gives_korean_text(server):
    data = dev_file("hwpjs_selfintroduce.hwpx")
    response = requests.post(
        server.url + "/v1/document-ai/ocr",
        headers={"Authorization": "Bearer test-key"},
        files={"document": ("자기소개.hwpx", data)},
        data={"model": "ocr"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numBilledPages"] == 1 == len(body["pages"])
    text = "".join(body["text"].split())
    for words in ("나를소개합니다", "혈액형", "자유로운영혼", "할머니"):
        assert words in text, body["text"]


def test_locked_hwp_through_the_server_is_a_400_that_says_so(server):
    data = with_flags(dev_file("hwpjs_selfintroduce.hwp"), hwp.PASSWORD)
    response = requests.post(
        server.url + "/v1/document-ai/ocr",
        headers={"Authorization": "Bearer test-key"},
        files={"document": ("locked.hwp", data)},
        timeout=120,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_document"
    assert "password-protected" in error["message"]
