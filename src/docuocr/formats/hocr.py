"""hOCR 1.2: the Document as XHTML, one `ocr_page` per page, one `ocr_line` per line and one
`ocrx_word` per word with its `bbox` (the quad's bounding box in page pixels) and `x_wconf`
(confidence 0-100). Lines that run at an angle carry `textangle` (degrees counter-clockwise).

The whole page is one `ocr_carea` with one `ocr_par`, as it always was: the Document's blocks are
not written here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from lxml import etree

from docuocr import __version__
from docuocr.document import Document, Point, Quad

XHTML = "http://www.w3.org/1999/xhtml"
DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)


def bbox(points: Iterable[Point]) -> tuple[int, int, int, int]:
    """The integer box around `points`: x0 y0 x1 y1, the far edges rounded outwards."""
    pts = list(points)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (
        max(0, math.floor(min(xs))),
        max(0, math.floor(min(ys))),
        math.ceil(max(xs)),
        math.ceil(max(ys)),
    )


def angle(quad: Quad) -> float:
    """The baseline's angle in degrees, counter-clockwise as seen on the page (y runs down)."""
    tl, tr, br, bl = quad
    dx = tr[0] - tl[0] + br[0] - bl[0]
    dy = tr[1] - tl[1] + br[1] - bl[1]
    return -math.degrees(math.atan2(dy, dx))


def _el(parent, tag: str, cls: str, ident: str, title: str):
    el = etree.SubElement(parent, f"{{{XHTML}}}{tag}")
    el.set("class", cls)
    el.set("id", ident)
    el.set("title", title)
    return el


def _box(b: tuple[int, int, int, int]) -> str:
    return "bbox {} {} {} {}".format(*b)


def to_hocr(doc: Document) -> bytes:
    """The hOCR file of `doc`, UTF-8."""
    html = etree.Element(f"{{{XHTML}}}html", nsmap={None: XHTML})
    html.set("{http://www.w3.org/XML/1998/namespace}lang", "ko")
    head = etree.SubElement(html, f"{{{XHTML}}}head")
    etree.SubElement(head, f"{{{XHTML}}}title").text = "docuocr"
    meta = etree.SubElement(head, f"{{{XHTML}}}meta")
    meta.set("http-equiv", "Content-Type")
    meta.set("content", "text/html;charset=utf-8")
    for name, content in (
        ("ocr-system", f"docuocr {__version__}"),
        ("ocr-capabilities", "ocr_page ocr_carea ocr_par ocr_line ocrx_word"),
        ("ocr-number-of-pages", str(len(doc.pages))),
    ):
        meta = etree.SubElement(head, f"{{{XHTML}}}meta")
        meta.set("name", name)
        meta.set("content", content)
    body = etree.SubElement(html, f"{{{XHTML}}}body")
    for p, page in enumerate(doc.pages, 1):
        page_box = (0, 0, page.width, page.height)
        page_el = _el(body, "div", "ocr_page", f"page_{p}", f"{_box(page_box)}; ppageno {p - 1}")
        words = [w for w in page.words if w.text]
        if not words:
            continue
        area_box = bbox(pt for w in words for pt in w.quad)
        area = _el(page_el, "div", "ocr_carea", f"block_{p}_1", _box(area_box))
        par = _el(area, "p", "ocr_par", f"par_{p}_1", _box(area_box))
        n_word = 0
        for n_line, line in enumerate(page.lines, 1):
            line_words = [w for w in line.words if w.text]
            if not line_words:
                continue
            title = _box(bbox(pt for w in line_words for pt in w.quad))
            turn = angle(line_words[0].quad)
            if abs(turn) >= 0.5:
                title += f"; textangle {round(turn) % 360}"
            line_el = _el(par, "span", "ocr_line", f"line_{p}_{n_line}", title)
            for word in line_words:
                n_word += 1
                conf = round(max(0.0, min(1.0, word.confidence)) * 100)
                word_el = _el(
                    line_el,
                    "span",
                    "ocrx_word",
                    f"word_{p}_{n_word}",
                    f"{_box(bbox(word.quad))}; x_wconf {conf}",
                )
                word_el.text = word.text
                word_el.tail = " "
            line_el[-1].tail = None
    return etree.tostring(html, xml_declaration=True, encoding="UTF-8", doctype=DOCTYPE)
