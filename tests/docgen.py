"""Real test documents, generated on the fly: every supported format carrying a known phrase.

Images are drawn with a TrueType font, PDFs are written by hand (text in Helvetica, optionally
RC4-encrypted), and DOCX/PPTX/XLSX are exported by LibreOffice from flat OpenDocument XML, so each
is a file a real office suite wrote. Intake and API tests use these to check words come back.
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

PHRASE = "docuocr intake check 2026"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
]


def font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    raise FileNotFoundError(f"none of {FONTS} is installed")


def phrase_image(text: str = PHRASE, size: tuple[int, int] = (1000, 200), font_size: int = 56):
    """Black text on white, left-aligned and vertically centred, as an RGB image."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    face = font(font_size)
    top, bottom = draw.textbbox((0, 0), text, font=face)[1::2]
    draw.text((40, (size[1] - (bottom - top)) // 2 - top), text, fill="black", font=face)
    return img


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def png(img: Image.Image | None = None) -> bytes:
    return encode(img or phrase_image(), "PNG")


def jpeg(img: Image.Image | None = None, orientation: int = 1) -> bytes:
    """A JPEG whose EXIF orientation tag says how to turn the stored pixels upright."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode((img or phrase_image()).convert("RGB"), "JPEG", quality=92, exif=exif.tobytes())


def bmp(img: Image.Image | None = None) -> bytes:
    return encode(img or phrase_image(), "BMP")


def tiff(pages: list[Image.Image]) -> bytes:
    """A multi-page TIFF, one IFD per image."""
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")


def heic(img: Image.Image | None = None, orientation: int = 1) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode((img or phrase_image()).convert("RGB"), "HEIF", quality=90, exif=exif.tobytes())


# --- PDF -------------------------------------------------------------------------------------

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def text_pdf(
    pages: list[str], size: tuple[float, float] = (595, 842), password: str | None = None
) -> bytes:
    """A PDF with one line of Helvetica text per page; with `password`, RC4-40 encrypted (R2).

    Written by hand because nothing installed here writes encrypted PDFs.
    """
    width, height = size
    n = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, then (page, content) pairs, then the Encrypt dict.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    file_id = hashlib.md5(repr((pages, size)).encode()).digest()
    key = None
    if password is not None:
        owner = _pad(password + "-owner")
        o_entry = _rc4(hashlib.md5(owner).digest()[:5], _pad(password))
        perms = -44
        key = hashlib.md5(_pad(password) + o_entry + struct.pack("<i", perms) + file_id).digest()[
            :5
        ]
        u_entry = _rc4(key, _PAD)
    font_size = max(8, min(36, int(width / 20)))
    for i, text in enumerate(pages):
        safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 {font_size} Tf 36 {height / 2:.0f} Td ({safe}) Tj ET".encode("latin-1")
        num = 5 + 2 * i
        if key is not None:
            stream = _rc4(_object_key(key, num), stream)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {num} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    trailer_extra = b""
    if key is not None:
        objects.append(
            b"<< /Filter /Standard /V 1 /R 2 /O <"
            + o_entry.hex().encode()
            + b"> /U <"
            + u_entry.hex().encode()
            + f"> /P {perms} >>".encode()
        )
        trailer_extra = f" /Encrypt {len(objects)} 0 R".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /ID [<{file_id.hex()}> <{file_id.hex()}>]".encode()
        + trailer_extra
        + f" >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _pad(password: str) -> bytes:
    return (password.encode("latin-1") + _PAD)[:32]


def _object_key(key: bytes, num: int, gen: int = 0) -> bytes:
    digest = hashlib.md5(key + num.to_bytes(3, "little") + gen.to_bytes(2, "little")).digest()
    return digest[: min(len(key) + 5, 16)]


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


# --- Office ----------------------------------------------------------------------------------

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'office:version="1.2"'
)
_TEXT_STYLE = '<style:text-properties fo:font-size="{size}" fo:font-family="DejaVu Sans"/>'


def _fodt(pages: list[str]) -> str:
    paras = "".join(
        f'<text:p text:style-name="{"P2" if i else "P1"}">{escape(t)}</text:p>'
        for i, t in enumerate(pages)
    )
    return (
        f'<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.text">'
        "<office:automatic-styles>"
        f'<style:style style:name="P1" style:family="paragraph">{_TEXT_STYLE.format(size="28pt")}'
        "</style:style>"
        '<style:style style:name="P2" style:family="paragraph">'
        '<style:paragraph-properties fo:break-before="page"/>'
        f"{_TEXT_STYLE.format(size='28pt')}</style:style>"
        "</office:automatic-styles>"
        f"<office:body><office:text>{paras}</office:text></office:body></office:document>"
    )


def _fods(pages: list[str]) -> str:
    sheets = "".join(
        f'<table:table table:name="Sheet{i + 1}"><table:table-column table:style-name="co1"/>'
        '<table:table-row><table:table-cell table:style-name="ce1" office:value-type="string">'
        f"<text:p>{escape(t)}</text:p></table:table-cell></table:table-row></table:table>"
        for i, t in enumerate(pages)
    )
    return (
        f'<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        "<office:automatic-styles>"
        '<style:style style:name="co1" style:family="table-column">'
        '<style:table-column-properties style:column-width="17cm"/></style:style>'
        '<style:style style:name="ce1" style:family="table-cell">'
        f"{_TEXT_STYLE.format(size='24pt')}</style:style>"
        "</office:automatic-styles>"
        f"<office:body><office:spreadsheet>{sheets}</office:spreadsheet></office:body>"
        "</office:document>"
    )


def _fodp(pages: list[str]) -> str:
    slides = "".join(
        f'<draw:page draw:name="page{i + 1}" draw:master-page-name="Default">'
        '<draw:frame svg:x="1.5cm" svg:y="5cm" svg:width="25cm" svg:height="4cm">'
        f'<draw:text-box><text:p text:style-name="P1">{escape(t)}</text:p></draw:text-box>'
        "</draw:frame></draw:page>"
        for i, t in enumerate(pages)
    )
    return (
        f"<office:document {_NS} "
        'office:mimetype="application/vnd.oasis.opendocument.presentation">'
        "<office:automatic-styles>"
        '<style:page-layout style:name="PM1"><style:page-layout-properties fo:page-width="28cm" '
        'fo:page-height="15.75cm" style:print-orientation="landscape"/></style:page-layout>'
        f'<style:style style:name="P1" style:family="paragraph">{_TEXT_STYLE.format(size="32pt")}'
        "</style:style></office:automatic-styles>"
        '<office:master-styles><style:master-page style:name="Default" '
        'style:page-layout-name="PM1"/></office:master-styles>'
        f"<office:body><office:presentation>{slides}</office:presentation></office:body>"
        "</office:document>"
    )


_FLAT = {"docx": ("fodt", _fodt), "xlsx": ("fods", _fods), "pptx": ("fodp", _fodp)}


@functools.lru_cache(maxsize=16)
def office(kind: str, pages: tuple[str, ...] = (PHRASE,)) -> bytes:
    """A DOCX/XLSX/PPTX with one page, sheet or slide per entry of `pages` (LibreOffice-written)."""
    ext, build = _FLAT[kind]
    xml = '<?xml version="1.0" encoding="UTF-8"?>' + build(list(pages))
    return convert(xml.encode(), ext, kind)


def convert(data: bytes, ext: str, target: str, timeout: float = 120) -> bytes:
    """Convert a document with LibreOffice (e.g. to "doc" or "pdf"), in a private profile."""
    if SOFFICE is None:
        raise FileNotFoundError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="docgen-") as tmp:
        src = Path(tmp) / f"doc.{ext}"
        src.write_bytes(data)
        subprocess.run(
            [
                SOFFICE,
                f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                str(Path(tmp, "out")),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return next(Path(tmp, "out").iterdir()).read_bytes()
