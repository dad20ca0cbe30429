"""Tell the document type from its bytes. File names and client MIME types lie; magic numbers don't."""

from __future__ import annotations

import io
import zipfile

from docuocr.errors import InvalidDocument, UnsupportedDocument
from docuocr.intake.hwp import is_hwp

SUPPORTED = "JPEG, PNG, BMP, TIFF, HEIC, PDF, DOCX, PPTX, XLSX, HWP, HWPX"

MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "hwp": "application/x-hwp",
    "hwpx": "application/hwp+zip",
}

# Supported formats with a fixed signature at offset 0 (BMP, PDF, HEIC and ZIP need a closer look).
_SIGNATURES = [
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
]

# Formats people commonly send that we recognise but do not read, named in the error.
_UNSUPPORTED = [
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"8BPS", "a Photoshop file"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (
        b"HWP Document File V",
        "an HWP 3 document (Hangul 97 or older); save it as HWP 5, HWPX or PDF",
    ),
]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}  # generic HEIF: HEVC unless it says AVIF
_OFFICE_DIRS = {"word/": "docx", "ppt/": "pptx", "xl/": "xlsx"}


def unsupported(what: str) -> UnsupportedDocument:
    return UnsupportedDocument(
        f"unsupported document format: the file is {what}; supported formats are {SUPPORTED}"
    )


def sniff(data: bytes) -> str:
    """Return the document kind ("png", "pdf", "docx", ...), a key of MIME."""
    if not data:
        raise InvalidDocument("the document is empty (0 bytes)")
    head = data[:64]
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return _office_kind(data) if kind == "zip" else kind
        if len(data) < len(magic) and magic.startswith(data):
            raise InvalidDocument(f"the document is only {len(data)} bytes long: a truncated file")
    if b"%PDF-" in data[:1024]:  # readers accept up to 1 KB of junk before the header
        return "pdf"
    if _is_bmp(head):
        return "bmp"
    if head[4:8] == b"ftyp":
        return _ftyp_kind(data)
    if head.startswith(_OLE):
        if is_hwp(data):
            return "hwp"
        # Password-protected DOCX/XLSX/PPTX are OLE containers holding an "EncryptedPackage" stream.
        if "EncryptedPackage".encode("utf-16-le") in data[:1_000_000]:
            raise InvalidDocument(
                "the Office document is password-protected (encrypted); remove the password and "
                "try again"
            )
        raise unsupported(
            "a legacy Microsoft Office file (.doc, .xls, .ppt) or another OLE container; save it as "
            "DOCX, XLSX, PPTX or PDF"
        )
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise unsupported("a WebP image")
    for magic, what in _UNSUPPORTED:
        if head.startswith(magic):
            raise unsupported(what)
    if _looks_like_text(data):
        raise unsupported("plain text or markup (TXT, CSV, XML, HTML, SVG, ...)")
    raise unsupported("of a type we do not recognise")


def _is_bmp(head: bytes) -> bool:
    return (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    )


def _ftyp_kind(data: bytes) -> str:
    """ISO base media files: HEIC/HEIF images are ours; AVIF, MP4 and the rest are not."""
    size = int.from_bytes(data[0:4], "big")
    box = data[8 : min(max(size, 16), 256)]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4) if i != 4}  # skip minor version
    if b"avif" in brands or b"avis" in brands:
        raise unsupported("an AVIF image")
    if brands & _HEIC_BRANDS or brands & _HEIF_BRANDS:
        return "heic"
    raise unsupported("an ISO media file (MP4, MOV, ...), not a HEIC image")


def _office_kind(data: bytes) -> str:
    """A ZIP is DOCX/PPTX/XLSX only with [Content_Types].xml and the matching part folder."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            mimetype = _small_member(zf, "mimetype")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidDocument(f"the ZIP container is truncated or corrupt ({exc})") from exc
    if mimetype == "application/hwp+zip" or (
        not mimetype and any(n.startswith("Contents/section") for n in names)
    ):
        return "hwpx"
    if "[Content_Types].xml" in names:
        for prefix, kind in _OFFICE_DIRS.items():
            if any(n.startswith(prefix) for n in names):
                return kind
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        raise unsupported(f"an OpenDocument file ({mimetype}); save it as DOCX, XLSX, PPTX or PDF")
    raise unsupported("a ZIP archive that is not a DOCX, PPTX, XLSX or HWPX document")


def _small_member(zf: zipfile.ZipFile, name: str) -> str:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return ""
    if info.file_size > 200:
        return ""
    return zf.read(info).decode("ascii", "replace").strip()


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = sample[: len(sample) // 2 * 2].decode("utf-16", "replace")
    else:
        try:
            text = sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 3:  # not just a character cut at the sample's end
                return False
            text = sample[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return bool(text) and printable >= 0.95 * len(text)
