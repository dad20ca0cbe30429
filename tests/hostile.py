"""Office documents that point outside: each way OOXML can make a converter fetch a URL.

Each builder takes a real LibreOffice-written document (docgen.office) and adds references to
`url` (a loopback listener in the tests), as Word, Excel and PowerPoint write them. The visible
text of the base document stays, so a reader can check the document is still read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from tests import docgen

R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"


def _rel(rid: str, kind: str, target: str, external: bool = True) -> str:
    mode = ' TargetMode="External"' if external else ""
    return f'<Relationship Id="{rid}" Type="{R}/{kind}" Target="{target}"{mode}/>'


def edit(data: bytes, changes: dict[str, Callable[[str], str]], new: dict[str, str]) -> bytes:
    """Copy a package, passing the named parts through their edit and adding new parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename in changes:
                body = changes[info.filename](body.decode()).encode()
            dst.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
        for name, text in new.items():
            dst.writestr(name, text.encode(), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _add_rels(*rels: str) -> Callable[[str], str]:
    return lambda xml: xml.replace("</Relationships>", "".join(rels) + "</Relationships>")


def _before(tag: str, insert: str) -> Callable[[str], str]:
    return lambda xml: xml.replace(tag, insert + tag, 1)


def _field(instr: str) -> str:
    """A complex field (begin, instruction, separate, cached result, end), as Word writes it."""
    return (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        '<w:r><w:t>field result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )


def _drawing(attr: str) -> str:
    """An inline DrawingML picture whose blip is `attr` (r:link or r:embed)."""
    return (
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="952500" cy="952500"/>'
        '<wp:docPr id="9" name="Picture 9"/><a:graphic xmlns:a="' + NS_A + '">'
        f'<a:graphicData uri="{NS_PIC}"><pic:pic xmlns:pic="{NS_PIC}">'
        '<pic:nvPicPr><pic:cNvPr id="9" name="probe.png"/><pic:cNvPicPr/></pic:nvPicPr>'
        f"<pic:blipFill><a:blip {attr}/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>"
        '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>'
        "</a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )


def _docx_vectors(url: str) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """Word's ways out: (body XML, document relationships, other parts to edit or add)."""
    ole = (
        '<w:p><w:r><w:object><v:shape style="width:50pt;height:50pt">'
        '<v:imagedata r:id="rIdVml"/></v:shape>'
        '<o:OLEObject Type="Link" ProgID="Excel.Sheet.12" ShapeID="_x0000_i9" '
        'DrawAspect="Content" r:id="rIdOle" UpdateMode="Always"><o:LinkType>EnhancedMetaFile'
        "</o:LinkType></o:OLEObject></w:object></w:r></w:p>"
    )
    vml = (
        '<w:p><w:r><w:pict><v:shape style="width:50pt;height:50pt">'
        '<v:imagedata r:id="rIdVml" o:title=""/></v:shape></w:pict></w:r></w:p>'
    )
    vml_src = (
        '<w:p><w:r><w:pict><v:shape style="width:50pt;height:50pt">'
        f'<v:imagedata src="{url}/vml-src.png" o:href="{url}/vml-href.png"/></v:shape>'
        "</w:pict></w:r></w:p>"
    )
    simple = (
        f'<w:p><w:fldSimple w:instr=" INCLUDEPICTURE &quot;{url}/simple.png&quot; \\d ">'
        "<w:r><w:t>simple field</w:t></w:r></w:fldSimple></w:p>"
    )
    return {
        "linked-picture": (
            _drawing('r:link="rIdPic"'),
            [_rel("rIdPic", "image", f"{url}/drawing.png")],
        ),
        "vml-picture": (vml, [_rel("rIdVml", "image", f"{url}/vml.png")]),
        "vml-src": (vml_src, []),
        "linked-ole": (
            ole,
            [_rel("rIdVml", "image", f"{url}/ole.png"), _rel("rIdOle", "oleObject", f"{url}/ole")],
        ),
        "includepicture": (_field(f'INCLUDEPICTURE "{url}/includepicture.png" \\d'), []),
        "includetext": (_field(f'INCLUDETEXT "{url}/includetext.docx"'), []),
        "link-field": (_field(f'LINK Excel.Sheet.12 "{url}/link.xlsx" "Sheet1!R1C1" \\a'), []),
        "simple-field": (simple, []),
        "hyperlink": (
            '<w:p><w:hyperlink r:id="rIdLink"><w:r><w:t>a hyperlink</w:t></w:r></w:hyperlink></w:p>',
            [_rel("rIdLink", "hyperlink", f"{url}/hyperlink")],
        ),
        "subdocument": (
            '<w:subDoc r:id="rIdSub"/>',
            [_rel("rIdSub", "subDocument", f"{url}/subdocument.docx")],
        ),
    }


def docx_vector(vector: str, url: str) -> bytes:
    """A DOCX with one way out (a key of `_docx_vectors`, or "template")."""
    if vector == "template":
        return _docx_template(url)
    body, rels = _docx_vectors(url)[vector]
    changes = {"word/document.xml": _before("<w:sectPr>", body)}
    if rels:
        changes["word/_rels/document.xml.rels"] = _add_rels(*rels)
    return edit(docgen.office("docx"), changes, {})


def _docx_template(url: str) -> bytes:
    """A linked template, as `w:attachedTemplate` in the settings part."""
    return edit(
        docgen.office("docx"),
        {
            "word/settings.xml": lambda xml: xml.replace(
                "<w:settings ", f'<w:settings xmlns:r="{R}" ', 1
            ).replace("</w:settings>", '<w:attachedTemplate r:id="rIdTpl"/></w:settings>'),
        },
        {
            "word/_rels/settings.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_R}">'
                + _rel("rIdTpl", "attachedTemplate", f"{url}/template.dotx")
                + "</Relationships>"
            ),
        },
    )


def docx_links(url: str) -> bytes:
    """Every DOCX way out at once."""
    vectors = _docx_vectors(url)
    body = "".join(b for b, _ in vectors.values())
    rels = {r for _, rs in vectors.values() for r in rs}
    rels.discard(_rel("rIdVml", "image", f"{url}/ole.png"))
    return edit(
        _docx_template(url),
        {
            "word/document.xml": _before("<w:sectPr>", body),
            "word/_rels/document.xml.rels": _add_rels(*sorted(rels)),
        },
        {},
    )


def docx_entity(url: str) -> bytes:
    """An XML external entity in the main part: a parser that resolves it fetches the URL."""
    return edit(
        docgen.office("docx"),
        {
            "word/document.xml": lambda xml: xml.replace(
                "?>", f'?><!DOCTYPE w:document [<!ENTITY probe SYSTEM "{url}/entity.xml">]>', 1
            ).replace("docuocr intake check", "&probe; docuocr intake check", 1)
        },
        {},
    )


def _xlsx_cells(url: str) -> dict[str, str]:
    return {
        "webservice": f'<c r="A3" t="str"><f>WEBSERVICE("{url}/webservice")</f><v>cached</v></c>',
        "filterxml": (
            f'<c r="B3" t="str"><f>FILTERXML(WEBSERVICE("{url}/filterxml"),"//a")</f><v>x</v></c>'
        ),
        "dde": "<c r=\"C3\"><f>cmd|'/c calc'!A0</f><v>0</v></c>",
        "indirect": (
            f'<c r="D3" t="str"><f>INDIRECT("\'{url}/indirect.xlsx\'#$Sheet1.A1")</f><v>0</v></c>'
        ),
        "hyperlink": f'<c r="E3" t="str"><f>HYPERLINK("{url}/hyperlink","a link")</f><v>a link</v></c>',
    }


def xlsx_vector(vector: str, url: str) -> bytes:
    """An XLSX with one way out: a key of `_xlsx_cells`, "external-workbook" or "web-query"."""
    if vector == "external-workbook":
        return _xlsx_external(docgen.office("xlsx"), url)
    if vector == "web-query":
        return _xlsx_web_query(docgen.office("xlsx"), url)
    row = f'<row r="3">{_xlsx_cells(url)[vector]}</row>'
    return edit(
        docgen.office("xlsx"), {"xl/worksheets/sheet1.xml": _before("</sheetData>", row)}, {}
    )


CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _xlsx_external(data: bytes, url: str) -> bytes:
    """A formula reading another workbook ([1]Sheet1!A1) through an external link part."""
    external = (
        '<?xml version="1.0" encoding="UTF-8"?><externalLink '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{R}"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/>'
        '</sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>7</v>'
        "</cell></row></sheetData></sheetDataSet></externalBook></externalLink>"
    )
    return edit(
        data,
        {
            "xl/worksheets/sheet1.xml": _before(
                "</sheetData>", '<row r="4"><c r="A4"><f>[1]Sheet1!A1</f><v>7</v></c></row>'
            ),
            "xl/workbook.xml": lambda xml: xml.replace(
                "</sheets>",
                '</sheets><externalReferences><externalReference r:id="rIdExt"/>'
                "</externalReferences>",
                1,
            ),
            "xl/_rels/workbook.xml.rels": _add_rels(
                _rel("rIdExt", "externalLink", "externalLinks/externalLink1.xml", external=False)
            ),
            "[Content_Types].xml": _before(
                "</Types>",
                '<Override PartName="/xl/externalLinks/externalLink1.xml" '
                f'ContentType="{CT}.externalLink+xml"/>',
            ),
        },
        {
            "xl/externalLinks/externalLink1.xml": external,
            "xl/externalLinks/_rels/externalLink1.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_R}">'
                + _rel("rId1", "externalLinkPath", f"{url}/external.xlsx")
                + "</Relationships>"
            ),
        },
    )


def _xlsx_web_query(data: bytes, url: str) -> bytes:
    """A web query connection that asks to be refreshed on load."""
    connections = (
        '<?xml version="1.0" encoding="UTF-8"?><connections '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<connection id="1" name="probe" type="4" refreshedVersion="6" refreshOnLoad="1" '
        f'background="1" saveData="1"><webPr sourceData="1" url="{url}/webquery" '
        'htmlTables="1"/></connection></connections>'
    )
    return edit(
        data,
        {
            "xl/_rels/workbook.xml.rels": _add_rels(
                _rel("rIdCon", "connections", "connections.xml", external=False)
            ),
            "[Content_Types].xml": _before(
                "</Types>",
                f'<Override PartName="/xl/connections.xml" ContentType="{CT}.connections+xml"/>',
            ),
        },
        {"xl/connections.xml": connections},
    )


def xlsx_links(url: str) -> bytes:
    """Every XLSX way out at once."""
    row = '<row r="3">' + "".join(_xlsx_cells(url).values()) + "</row>"
    data = edit(
        docgen.office("xlsx"), {"xl/worksheets/sheet1.xml": _before("</sheetData>", row)}, {}
    )
    return _xlsx_web_query(_xlsx_external(data, url), url)


def _pic(rid_attr: str, extra: str = "") -> str:
    return (
        '<p:pic><p:nvPicPr><p:cNvPr id="90" name="probe"/><p:cNvPicPr/>'
        f"<p:nvPr>{extra}</p:nvPr></p:nvPicPr><p:blipFill><a:blip {rid_attr}/>"
        "<a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr><a:xfrm>"
        '<a:off x="100000" y="100000"/><a:ext cx="900000" cy="900000"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>'
    )


def _pptx_vectors(url: str) -> dict[str, tuple[str, list[str]]]:
    ole = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="93" name="ole"/>'
        "<p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm>"
        '<a:off x="0" y="0"/><a:ext cx="900000" cy="900000"/></p:xfrm><a:graphic><a:graphicData '
        'uri="http://schemas.openxmlformats.org/presentationml/2006/ole">'
        '<p:oleObj name="probe" r:id="rIdOle" progId="Excel.Sheet.12"><p:link updateAutomatic="1"/>'
        "</p:oleObj></a:graphicData></a:graphic></p:graphicFrame>"
    )
    link = (
        '<p:sp><p:nvSpPr><p:cNvPr id="94" name="link"><a:hlinkClick r:id="rIdLink"/></p:cNvPr>'
        '<p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r>'
        '<a:rPr lang="en-US"><a:hlinkClick r:id="rIdLink"/></a:rPr><a:t>a hyperlink</a:t></a:r>'
        "</a:p></p:txBody></p:sp>"
    )
    picture = _rel("rIdPic", "image", f"{url}/picture.png")
    return {
        "linked-picture": (_pic('r:link="rIdPic"'), [picture]),
        "linked-video": (
            _pic('r:link="rIdPic"', '<a:videoFile r:link="rIdVideo"/>'),
            [picture, _rel("rIdVideo", "video", f"{url}/video.mp4")],
        ),
        "linked-audio": (
            _pic('r:link="rIdPic"', '<a:audioFile r:link="rIdAudio"/>'),
            [picture, _rel("rIdAudio", "audio", f"{url}/audio.wav")],
        ),
        "linked-ole": (ole, [_rel("rIdOle", "oleObject", f"{url}/ole.xlsx")]),
        "hyperlink": (link, [_rel("rIdLink", "hyperlink", f"{url}/hyperlink")]),
    }


def pptx_vector(vector: str, url: str) -> bytes:
    """A PPTX with one way out (a key of `_pptx_vectors`)."""
    shapes, rels = _pptx_vectors(url)[vector]
    return _pptx(shapes, rels)


def pptx_links(url: str) -> bytes:
    """Every PPTX way out at once."""
    vectors = _pptx_vectors(url).values()
    return _pptx("".join(s for s, _ in vectors), sorted({r for _, rs in vectors for r in rs}))


def _pptx(shapes: str, rels: list[str]) -> bytes:
    return edit(
        docgen.office("pptx"),
        {
            "ppt/slides/slide1.xml": _before("</p:spTree>", shapes),
            "ppt/slides/_rels/slide1.xml.rels": _add_rels(*rels),
        },
        {},
    )


VECTORS = {
    "docx": ["template", *_docx_vectors("")],
    "xlsx": [*_xlsx_cells(""), "external-workbook", "web-query"],
    "pptx": [*_pptx_vectors("")],
}
BUILDERS = {"docx": docx_vector, "xlsx": xlsx_vector, "pptx": pptx_vector}
# Every way out of one kind in one document, and a document with an external entity.
COMBINED = {"docx": docx_links, "xlsx": xlsx_links, "pptx": pptx_links, "entity": docx_entity}
