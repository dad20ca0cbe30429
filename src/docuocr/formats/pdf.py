"""The searchable PDF: the pages docuocr read, with every word as invisible text over its image.

The technique is Tesseract's and OCRmyPDF's: text in render mode 3 (neither filled nor stroked)
in a glyphless font, so nothing is drawn and nothing needs a real Hangul or Hanja glyph, while a
ToUnicode CMap maps each character code back to its Unicode text for search, selection and copy.
Each word gets its own text matrix from its quad: its baseline's angle turns it, its box's height
is the font size and horizontal scaling (Tz) stretches it to the box's width, so a viewer
highlights the word where it is printed, rotated or tilted as it is. Words are separated by one
space and lines end in a line break (a new text position), as in the JSON's text.

Codes are assigned per document (one 2-byte code per distinct character, any Unicode plane), and
a CIDToGIDMap sends every code to the font's one blank glyph. The font itself is built with
fontTools (two empty glyphs, under 1 kB); pikepdf writes the PDF.

A PDF input keeps its own pages: the text layer is added to each page read, its coordinates
mapped from the rendered page's pixels to the page's points (crop box and /Rotate included).
Other inputs become one page per image, sized from the image's DPI (150 when it has none).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence

import numpy as np
import pikepdf
from PIL import Image

from docuocr.document import Document, Page, Point, Quad

DEFAULT_DPI = 150.0
FONT_NAME = "GlyphLessFont"
ADVANCE = 500  # every glyph's width, in 1/1000 em
ASCENT, DESCENT = 800, -200  # the font's vertical extent: a word's box is one em high
# Each glyph's (invisible) box, a little inside its cell, so that a word's characters stay
# inside its box even where the OCR boxes of neighbours overlap by a pixel or two.
INK_BOX = (20, -160, 480, 760)
JPEG_QUALITY = 90
SPACE = " "
SPACE_ADVANCE = 100  # narrow, so a word's space ends before the next word begins


@functools.cache
def glyphless_font() -> bytes:
    """A TrueType font of two empty glyphs, each ADVANCE wide, that maps nothing itself (the
    PDF's CIDToGIDMap does)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    names = [".notdef", "blank"]
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({0x20: "blank"})
    # The glyph's outline is never drawn (render mode 3), but it gives each character a box:
    # viewers highlight it, and extractors drop characters whose box is empty.
    pen = TTGlyphPen(None)
    x0, y0, x1, y1 = INK_BOX
    pen.moveTo((x0, y0))
    pen.lineTo((x0, y1))
    pen.lineTo((x1, y1))
    pen.lineTo((x1, y0))
    pen.closePath()
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "blank": pen.glyph()})
    fb.setupHorizontalMetrics({name: (ADVANCE, 0) for name in names})
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    fb.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT, usWinDescent=200)
    fb.setupPost()
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


class TextFont:
    """The document's one invisible font and its character codes."""

    def __init__(self, pdf: pikepdf.Pdf, chars: Sequence[str]) -> None:
        self.codes = {ch: n + 1 for n, ch in enumerate(sorted(set(chars)))}
        last = max(self.codes.values(), default=0)
        to_gid = pikepdf.Stream(pdf, b"\x00\x00" + b"\x00\x01" * last)
        font_file = pikepdf.Stream(pdf, glyphless_font())
        descriptor = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.FontDescriptor,
                FontName=pikepdf.Name("/" + FONT_NAME),
                Flags=5,
                FontBBox=[0, DESCENT, ADVANCE, ASCENT],
                ItalicAngle=0,
                Ascent=ASCENT,
                Descent=DESCENT,
                CapHeight=ASCENT,
                StemV=80,
                FontFile2=font_file,
            )
        )
        cid_font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.CIDFontType2,
                BaseFont=pikepdf.Name("/" + FONT_NAME),
                CIDSystemInfo=pikepdf.Dictionary(
                    Registry=pikepdf.String("Adobe"),
                    Ordering=pikepdf.String("Identity"),
                    Supplement=0,
                ),
                FontDescriptor=descriptor,
                DW=ADVANCE,
                W=[self.codes.get(SPACE, 0), [SPACE_ADVANCE]],
                CIDToGIDMap=pdf.make_indirect(to_gid),
            )
        )
        self.font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type0,
                BaseFont=pikepdf.Name("/" + FONT_NAME),
                Encoding=pikepdf.Name("/Identity-H"),
                DescendantFonts=[cid_font],
                ToUnicode=pdf.make_indirect(pikepdf.Stream(pdf, self._to_unicode())),
            )
        )

    def _to_unicode(self) -> bytes:
        lines = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
        ]
        items = sorted(self.codes.items(), key=lambda kv: kv[1])
        for start in range(0, len(items), 100):  # at most 100 entries per block
            chunk = items[start : start + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            for ch, code in chunk:
                lines.append(f"<{code:04X}> <{ch.encode('utf-16-be').hex().upper()}>")
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return "\n".join(lines).encode("ascii")

    def encode(self, text: str) -> bytes:
        return b"".join(self.codes[ch].to_bytes(2, "big") for ch in text)


# --- geometry ----------------------------------------------------------------------------------


class PageMap:
    """Page-image pixels (x right, y down) to PDF points, for a page `width` x `height` points
    as displayed, whose unrotated user space is `box` (x0, y0, x1, y1) turned by `rotate`."""

    def __init__(
        self,
        px_width: int,
        px_height: int,
        box: tuple[float, float, float, float],
        rotate: int = 0,
    ) -> None:
        self.box = box
        self.rotate = rotate % 360
        x0, y0, x1, y1 = box
        w, h = (y1 - y0, x1 - x0) if self.rotate in (90, 270) else (x1 - x0, y1 - y0)
        self.sx = w / max(px_width, 1)
        self.sy = h / max(px_height, 1)

    def __call__(self, p: Point) -> Point:
        dx, dy = p[0] * self.sx, p[1] * self.sy  # points from the displayed top-left corner
        x0, y0, x1, y1 = self.box
        if self.rotate == 90:
            return x0 + dy, y0 + dx
        if self.rotate == 180:
            return x1 - dx, y0 + dy
        if self.rotate == 270:
            return x1 - dy, y1 - dx
        return x0 + dx, y1 - dy


def _dist(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def word_matrix(quad: Quad) -> tuple[float, float, float, float, float] | None:
    """(angle, origin x, origin y, width, height) of a word from its quad in PDF points: the
    baseline runs along the box's bottom edge, ASCENT/1000 of the height below its top."""
    tl, tr, br, bl = quad
    width = (_dist(tl, tr) + _dist(bl, br)) / 2
    height = (_dist(tl, bl) + _dist(tr, br)) / 2
    if width <= 0 or height <= 0:
        return None
    ux = (tr[0] - tl[0] + br[0] - bl[0]) / 2
    uy = (tr[1] - tl[1] + br[1] - bl[1]) / 2
    angle = math.atan2(uy, ux)
    # the up direction, at right angles to the baseline; the origin sits DESCENT above the bottom
    nx, ny = -math.sin(angle), math.cos(angle)
    lift = -DESCENT / 1000 * height
    # the bottom-left corner, projected so the box's slant (a tilted quad) does not shift it
    ox = (bl[0] + tl[0]) / 2 - nx * height / 2 + nx * lift
    oy = (bl[1] + tl[1]) / 2 - ny * height / 2 + ny * lift
    return angle, ox, oy, width, height


def _num(x: float) -> float:
    return round(x, 3)


def text_operators(page: Page, font: TextFont, to_pdf: PageMap) -> list:
    """The content stream operators of a page's invisible text layer."""
    ops: list = []
    for line in page.lines:
        words = [w for w in line.words if w.text]
        quads = [tuple(to_pdf(p) for p in w.quad) for w in words]
        for n, (word, quad) in enumerate(zip(words, quads, strict=True)):
            following = quads[n + 1] if n + 1 < len(quads) else None
            ops += _word_operators(word.text, quad, following, font)  # type: ignore[arg-type]
    if not ops:
        return []
    return [
        pikepdf.ContentStreamInstruction([], pikepdf.Operator("BT")),
        pikepdf.ContentStreamInstruction([3], pikepdf.Operator("Tr")),
        *ops,
        pikepdf.ContentStreamInstruction([], pikepdf.Operator("ET")),
    ]


def _word_operators(text: str, quad: Quad, following: Quad | None, font: TextFont) -> list:
    """A word stretched over its box, then (inside a line) a space stretched over the gap to
    the next word, so no two characters overlap and extractors keep every one."""
    geometry = word_matrix(quad)
    if geometry is None:
        return []
    angle, ox, oy, width, size = geometry
    em = ADVANCE / 1000 * size
    cos, sin = math.cos(angle), math.sin(angle)
    op = pikepdf.Operator
    ops = [
        pikepdf.ContentStreamInstruction([pikepdf.Name("/F1"), _num(size)], op("Tf")),
        pikepdf.ContentStreamInstruction([_num(100 * width / (len(text) * em))], op("Tz")),
        pikepdf.ContentStreamInstruction(
            [_num(cos), _num(sin), _num(-sin), _num(cos), _num(ox), _num(oy)], op("Tm")
        ),
        pikepdf.ContentStreamInstruction([pikepdf.String(font.encode(text))], op("Tj")),
    ]
    if following is not None:
        ops[-1] = pikepdf.ContentStreamInstruction(
            [pikepdf.String(font.encode(text + SPACE))], op("Tj")
        )
    return ops


# --- pages -------------------------------------------------------------------------------------


def _chars(doc: Document) -> list[str]:
    return [ch for page in doc.pages for w in page.words for ch in w.text + SPACE]


def _dpi(img: Image.Image) -> float:
    dpi = img.info.get("dpi")
    try:
        value = float(dpi[0] if isinstance(dpi, tuple) else dpi)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI
    return value if 30 <= value <= 2400 else DEFAULT_DPI


def _image_xobject(pdf: pikepdf.Pdf, img: Image.Image) -> pikepdf.Stream:
    """Grey pages losslessly (Flate), colour pages as JPEG."""
    rgb = np.asarray(img.convert("RGB"))
    grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    if grey:
        stream = pikepdf.Stream(pdf, rgb[..., 0].tobytes())  # Flate-compressed on save
        colorspace = pikepdf.Name.DeviceGray
    else:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY)
        stream = pikepdf.Stream(pdf, b"")
        stream.write(buf.getvalue(), filter=pikepdf.Name.DCTDecode)
        colorspace = pikepdf.Name.DeviceRGB
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = img.width, img.height
    stream.ColorSpace = colorspace
    stream.BitsPerComponent = 8
    return stream


def _save(pdf: pikepdf.Pdf) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buf.getvalue()


def to_pdf(
    doc: Document,
    images: Sequence[Image.Image],
    source: bytes | None = None,
    draw_images: bool = True,
) -> bytes:
    """The searchable PDF of `doc`.

    `images` are the page images the engine read (one per page, in order). With `source` (the
    input PDF's bytes), its own pages carry the text instead. Without `draw_images`, the pages
    hold the text layer only (OCRmyPDF's sandwich renderer grafts it onto its page)."""
    if len(images) != len(doc.pages):
        raise ValueError(f"{len(images)} page images for {len(doc.pages)} OCR pages")
    if source is not None:
        try:
            return _graft(doc, source)
        except pikepdf.PdfError:  # a PDF that PDFium reads but qpdf cannot: its images, then
            pass
    pdf = pikepdf.Pdf.new()
    font = TextFont(pdf, _chars(doc))
    for page, img in zip(doc.pages, images, strict=True):
        scale = 72 / _dpi(img)
        w, h = img.width * scale, img.height * scale
        pdf_page = pdf.add_blank_page(page_size=(w, h))
        pdf_page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font.font))
        ops = []
        if draw_images:
            pdf_page.Resources.XObject = pikepdf.Dictionary(Im0=_image_xobject(pdf, img))
            ops = [
                pikepdf.ContentStreamInstruction([], pikepdf.Operator("q")),
                pikepdf.ContentStreamInstruction(
                    [_num(w), 0, 0, _num(h), 0, 0], pikepdf.Operator("cm")
                ),
                pikepdf.ContentStreamInstruction([pikepdf.Name.Im0], pikepdf.Operator("Do")),
                pikepdf.ContentStreamInstruction([], pikepdf.Operator("Q")),
            ]
        to_pdf_map = PageMap(page.width, page.height, (0, 0, w, h))
        ops += text_operators(page, font, to_pdf_map)
        pdf_page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(ops))
    return _save(pdf)


def _graft(doc: Document, source: bytes) -> bytes:
    """The input PDF's first len(doc.pages) pages, each with its text layer added on top."""
    pdf = pikepdf.open(io.BytesIO(source))
    del pdf.pages[len(doc.pages) :]
    font = TextFont(pdf, _chars(doc))
    for page, pdf_page in zip(doc.pages, pdf.pages, strict=True):
        box = tuple(float(v) for v in pdf_page.cropbox)
        rotate = int(pdf_page.obj.get("/Rotate", 0))
        ops = text_operators(page, font, PageMap(page.width, page.height, box, rotate))
        if not ops:
            continue
        name = pdf_page.add_resource(font.font, pikepdf.Name.Font, prefix="FDocuocr")
        ops[2:-1] = [_rename_font(op, name) for op in ops[2:-1]]
        # the page's own graphics state is closed off, so the text starts from the default
        pdf_page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        pdf_page.contents_add(pdf.make_stream(b"\nQ\n" + pikepdf.unparse_content_stream(ops)))
    return _save(pdf)


def _rename_font(op: pikepdf.ContentStreamInstruction, name: pikepdf.Name):
    if str(op.operator) != "Tf":
        return op
    return pikepdf.ContentStreamInstruction([name, op.operands[1]], op.operator)
