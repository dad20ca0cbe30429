"""ALTO v4 XML: Layout → Page → PrintSpace → TextBlock → TextLine → String, one String per word
with CONTENT, its box (HPOS, VPOS, WIDTH, HEIGHT, in page pixels) and WC (confidence 0-1), and
an SP between words. Each page is one TextBlock, as it always was: the Document's blocks are not
written here.
"""

from __future__ import annotations

from lxml import etree

from docuocr import __version__
from docuocr.document import Document
from docuocr.formats.hocr import bbox

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _sub(parent, tag: str, **attrs):
    el = etree.SubElement(parent, f"{{{ALTO}}}{tag}")
    for key, value in attrs.items():
        el.set(key, str(value))
    return el


def _box(b: tuple[int, int, int, int]) -> dict[str, int]:
    x0, y0, x1, y1 = b
    return {"HPOS": x0, "VPOS": y0, "WIDTH": x1 - x0, "HEIGHT": y1 - y0}


def to_alto(doc: Document) -> bytes:
    """The ALTO file of `doc`, UTF-8."""
    root = etree.Element(f"{{{ALTO}}}alto", nsmap={None: ALTO, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{ALTO} {SCHEMA}")
    desc = _sub(root, "Description")
    _sub(desc, "MeasurementUnit").text = "pixel"
    processing = _sub(_sub(desc, "Processing", ID="docuocr"), "processingSoftware")
    _sub(processing, "softwareName").text = "docuocr"
    _sub(processing, "softwareVersion").text = __version__
    layout = _sub(root, "Layout")
    n_string = 0
    for p, page in enumerate(doc.pages, 1):
        words = [w for w in page.words if w.text]
        page_el = _sub(
            layout,
            "Page",
            ID=f"page_{p}",
            PHYSICAL_IMG_NR=p,
            WIDTH=page.width,
            HEIGHT=page.height,
        )
        if words:
            page_el.set("PC", f"{page.confidence:.4f}")
        space = _sub(page_el, "PrintSpace", HPOS=0, VPOS=0, WIDTH=page.width, HEIGHT=page.height)
        if not words:
            continue
        block = _sub(
            space, "TextBlock", ID=f"block_{p}_1", **_box(bbox(pt for w in words for pt in w.quad))
        )
        for n_line, line in enumerate(page.lines, 1):
            line_words = [w for w in line.words if w.text]
            if not line_words:
                continue
            line_box = bbox(pt for w in line_words for pt in w.quad)
            line_el = _sub(block, "TextLine", ID=f"line_{p}_{n_line}", **_box(line_box))
            for n, word in enumerate(line_words):
                if n:
                    _sub(line_el, "SP")
                n_string += 1
                _sub(
                    line_el,
                    "String",
                    ID=f"string_{n_string}",
                    **_box(bbox(word.quad)),
                    CONTENT=word.text,
                    WC=f"{max(0.0, min(1.0, word.confidence)):.4f}",
                )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
