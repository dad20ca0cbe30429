"""Cut every reference an OOXML package makes to the outside, before LibreOffice sees it.

An uploaded DOCX, XLSX or PPTX can name URLs that a converter fetches while it lays the document
out: linked pictures, media and OLE objects, linked templates and subdocuments (relationships with
`TargetMode="External"`), Word fields (INCLUDEPICTURE, INCLUDETEXT, LINK, DDE...), Excel formulas
(WEBSERVICE, INDIRECT, DDE, external workbooks), web-query connections, VML image sources and XML
external entities. Each would let anyone with an API key make the server call internal addresses.
Here the package is rewritten with those references removed, so a linked picture simply does not
appear; cached results (a field's last text, a formula's last value) still show. This is the first
of three defences: LibreOffice also runs with links and remote content switched off, and in a
network namespace of its own (`office.to_pdf`).
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from docuocr.errors import InvalidDocument

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
SHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
VML_NAMESPACES = ("urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:office")
XML_SUFFIXES = (".xml", ".rels", ".vml")

# A URI with a scheme (http:, file:, smb:, mhtml:...), a network path (//host, \\host) or a
# Windows drive: what an internal part name never is.
OUTSIDE = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|//|\\\\)", re.IGNORECASE)
# Word fields that read files or URLs, or run another program.
FIELDS = re.compile(
    r"\b(?:INCLUDEPICTURE|INCLUDETEXT|INCLUDE|IMPORT|LINK|DDE|DDEAUTO|DATABASE|HYPERLINK)\b|"
    r"://|\\\\",
    re.IGNORECASE,
)
# Excel formulas that fetch, call out, or read another workbook ([1]Sheet!A1, app|topic!item).
FORMULAS = re.compile(
    r"\b(?:WEBSERVICE|FILTERXML|INDIRECT|RTD|CALL|REGISTER(?:\.ID)?|IMAGE|HYPERLINK|DDE)\s*\(|"
    r"\[\d+\]|[\w.]+\||://|\\\\",
    re.IGNORECASE,
)

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)


def neutralise(data: bytes, kind: str) -> bytes:
    """The package with its outside references removed; `data` itself when it has none."""
    name = kind.upper()
    changed: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        for info in infos:
            if info.filename.lower().endswith(XML_SUFFIXES):
                body = _clean_part(info.filename, zf.read(info), name)
                if body is not None:
                    changed[info.filename] = body
    if not changed:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in infos:
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            dst.writestr(copy, changed.get(info.filename) or src.read(info))
    return out.getvalue()


def _clean_part(part: str, raw: bytes, name: str) -> bytes | None:
    """The part rewritten, or None when nothing in it points outside."""
    try:
        tree = etree.parse(io.BytesIO(raw), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidDocument(
            f"the {name} is corrupt: part {part!r} is not well-formed XML ({exc})"
        ) from None
    if tree.docinfo.doctype:
        raise InvalidDocument(
            f"the {name} has a document type declaration in part {part!r}; office files never "
            "need one, and its entities could make the converter fetch files or URLs. Save the "
            "document again from its office suite"
        )
    root = tree.getroot()
    edits = (
        _external_relationships(root)
        + _word_fields(root)
        + _formulas(root)
        + _connections(root)
        + _vml_sources(root)
    )
    if not edits:
        return None
    return etree.tostring(
        tree, xml_declaration=True, encoding="UTF-8", standalone=tree.docinfo.standalone
    )


def _external_relationships(root: etree._Element) -> int:
    """Relationships to anything outside the package: linked pictures, media, OLE objects,
    templates, subdocuments, external workbooks, hyperlinks."""
    found = [
        rel
        for rel in root.iter("{*}Relationship")
        if rel.get("TargetMode", "").lower() == "external" or OUTSIDE.match(rel.get("Target", ""))
    ]
    for rel in found:
        rel.getparent().remove(rel)
    return len(found)


def _word_fields(root: etree._Element) -> int:
    """Blank the instructions of fields that include or link outside content; their cached
    result stays. A complex field's instruction may be split over several runs, and fields nest."""
    edits = 0
    for simple in list(root.iter(f"{{{W}}}fldSimple")):
        if FIELDS.search(simple.get(f"{{{W}}}instr", "")):
            _unwrap(simple)
            edits += 1
    stack: list[list[etree._Element]] = []
    judged: list[bool] = []
    tags = (f"{{{W}}}fldChar", f"{{{W}}}instrText", f"{{{W}}}delInstrText")
    for el in root.iter(*tags):
        if el.tag != tags[0]:
            if stack and not judged[-1]:
                stack[-1].append(el)
            continue
        kind = el.get(f"{{{W}}}fldCharType")
        if kind == "begin":
            stack.append([])
            judged.append(False)
        elif kind in ("separate", "end") and stack:
            if not judged[-1]:
                judged[-1] = True
                instr = "".join(t.text or "" for t in stack[-1])
                if FIELDS.search(instr):
                    for t in stack[-1]:
                        t.text = ""
                    edits += 1
            if kind == "end":
                stack.pop()
                judged.pop()
    return edits


def _unwrap(el: etree._Element) -> None:
    """Replace an element by its children (a simple field by its cached result)."""
    parent = el.getparent()
    index = parent.index(el)
    for offset, child in enumerate(list(el)):
        parent.insert(index + offset, child)
    parent.remove(el)


def _formulas(root: etree._Element) -> int:
    """Drop formulas that fetch or reach other files, keeping the cell's last value; and defined
    names built on them."""
    edits = 0
    for f in list(root.iter(f"{{{SHEET}}}f")):
        if f.text and FORMULAS.search(f.text):
            f.getparent().remove(f)
            edits += 1
    for dn in list(root.iter(f"{{{SHEET}}}definedName")):
        if dn.text and FORMULAS.search(dn.text):
            dn.getparent().remove(dn)
            edits += 1
    return edits


def _connections(root: etree._Element) -> int:
    """Web queries, databases and text imports (xl/connections.xml) read data from outside."""
    if root.tag != f"{{{SHEET}}}connections":
        return 0
    found = list(root)
    for conn in found:
        root.remove(conn)
    return len(found)


def _vml_sources(root: etree._Element) -> int:
    """VML shapes can name an image by URL in an attribute instead of a relationship."""
    edits = 0
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(
            tuple(f"{{{ns}}}" for ns in VML_NAMESPACES)
        ):
            continue
        for attr in list(el.attrib):
            local = attr.rsplit("}", 1)[-1].lower()
            if local in ("src", "href", "althref") and OUTSIDE.match(el.attrib[attr]):
                del el.attrib[attr]
                edits += 1
    return edits
