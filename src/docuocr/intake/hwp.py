"""Hancom HWP 5 and HWPX to PDF with the rhwp renderer (rhwp-python), in a subprocess.

The checks here run first, in the worker: the HWP FileHeader's password and DRM flags, and its
streams inflated with a bound (a small HWP can unpack to gigabytes) and their records walked for
nesting; or the HWPX's ZIP through `office.check_zip` and its XML parts through expat for nesting.
The renderer then runs as `python -m docuocr.intake.hwp_render`
in its own session and temporary directory, like LibreOffice: a timeout kills the whole group,
a crash in native code costs only that process, and it inherits the worker's memory cap.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import olefile

from docuocr.errors import DocumentTooLarge, DocuocrError, InvalidDocument
from docuocr.intake import converter, office

SIGNATURE = b"HWP Document File"
# FileHeader properties (HWP 5.0 format, "파일 인식 정보"): bit 0 compressed, 1 password,
# 2 distribution document, 4 DRM, 8 encrypted with a public certificate, 10 certificate DRM.
COMPRESSED = 1 << 0
PASSWORD = 1 << 1
DISTRIBUTION = 1 << 2
DRM = 1 << 4
CERT_ENCRYPTED = 1 << 8
CERT_DRM = 1 << 10

MAX_UNCOMPRESSED = office.MAX_UNCOMPRESSED  # what the body streams may inflate to, in all
MAX_PAGES = 2000  # pages the renderer lays out; more is an HWP bomb, not a document to OCR
MAX_NESTING = 64  # record nesting level in an HWP; real documents stay under 10
MAX_XML_DEPTH = 128  # element depth in an HWPX part; real sections stay under 20
MAX_RECORDS = 2_000_000  # records in an HWP, elements in an HWPX part (real: tens of thousands)
# Exit statuses of hwp_render, so the parent tells bad input from too much of it.
EXIT_INVALID = 2
EXIT_TOO_MANY_PAGES = 3
EXIT_NO_MEMORY = 4
EXIT_UNAVAILABLE = 5
_CHUNK = 1 << 20
_LOG_TAIL = 64 * 1024
_NO_MEMORY = re.compile(
    rb"memory allocation of|has overflowed its stack|MemoryError|failed to map segment|"
    rb"cannot allocate memory|out of memory|fatal glibc error|error creating thread",
    re.IGNORECASE,
)


def is_hwp(data: bytes) -> bool:
    """An OLE file with HWP's FileHeader stream (signed "HWP Document File") and its other
    streams; a .doc or .xls has none of them.

    An OLE directory too damaged to read still counts when the signature is in the bytes, so a
    truncated HWP gets "corrupt" rather than "a legacy Office file"."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:  # bytes under 1536 would be a path
            if not ole.exists("FileHeader"):
                return False
            if ole.openstream("FileHeader").read(len(SIGNATURE)) == SIGNATURE:
                return True
            # Cut short, the FileHeader reads empty; HWP's other stream names still tell.
            return ole.exists("DocInfo") and ole.exists("BodyText")
    except (OSError, ValueError, IndexError, EOFError):  # olefile's errors are OSErrors mostly
        return SIGNATURE in data[:1_000_000]


def check_hwp(data: bytes) -> None:
    """Refuse locked, corrupt, truncated or bomb-like HWP files before the renderer sees them."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except (OSError, ValueError, IndexError, EOFError) as exc:
        raise InvalidDocument(f"the HWP is truncated or corrupt ({exc})") from exc
    with ole:
        header = _stream(ole, ["FileHeader"])
        if len(header) < 40 or not header.startswith(SIGNATURE):
            raise InvalidDocument("the HWP is corrupt: its FileHeader is missing or damaged")
        flags = int.from_bytes(header[36:40], "little")
        if flags & PASSWORD:
            raise InvalidDocument(
                "the HWP document is password-protected; open it in Hancom Office, remove the "
                "password (or save it as PDF) and try again"
            )
        if flags & (DRM | CERT_ENCRYPTED | CERT_DRM):
            raise InvalidDocument(
                "the HWP document is DRM-protected or encrypted with a certificate; export it "
                "unlocked (or as PDF) from the program that can open it and try again"
            )
        if flags & DISTRIBUTION:
            return  # its body is encrypted in ViewText; the renderer decides whether it can read it
        names = [n for n in ole.listdir() if n[0] in ("DocInfo", "BodyText")]
        if ["DocInfo"] not in names or not any(n[0] == "BodyText" for n in names):
            raise InvalidDocument("the HWP is corrupt: it has no DocInfo or BodyText stream")
        total, records = 0, _Records()
        for name in names:
            raw = _stream(ole, name)
            records.start("/".join(name))
            if flags & COMPRESSED:
                total += _inflate(raw, "/".join(name), MAX_UNCOMPRESSED - total, records.feed)
            else:
                records.feed(raw)


def _stream(ole: olefile.OleFileIO, name: list[str]) -> bytes:
    path = "/".join(name)
    try:
        size = ole.get_size(path)
        raw = ole.openstream(name).read()
    except (OSError, ValueError, IndexError, EOFError) as exc:
        raise InvalidDocument(
            f"the HWP is corrupt: stream {path!r} cannot be read ({exc})"
        ) from exc
    if len(raw) < size:
        raise InvalidDocument(f"the HWP is truncated: stream {path!r} is cut short")
    return raw


def _inflate(raw: bytes, name: str, budget: int, sink: Callable[[bytes], None]) -> int:
    """Inflate one raw-deflate stream a chunk at a time into `sink`, refusing it past `budget`
    bytes; return its inflated size."""
    inflater = zlib.decompressobj(-15)
    size = 0
    try:
        for pos in range(0, len(raw), _CHUNK):
            pending = raw[pos : pos + _CHUNK]
            while pending:
                chunk = inflater.decompress(pending, _CHUNK)
                size += len(chunk)
                sink(chunk)
                pending = inflater.unconsumed_tail
                if size > budget:
                    raise DocumentTooLarge(
                        f"the HWP's text streams unpack to more than "
                        f"{MAX_UNCOMPRESSED / 2**20:.0f} MB (at {name!r}): it is too large or an "
                        f"HWP bomb"
                    )
            if inflater.eof:
                break
    except zlib.error as exc:
        raise InvalidDocument(f"the HWP is corrupt: stream {name!r} cannot be inflated") from exc
    if not inflater.eof:
        raise InvalidDocument(f"the HWP is truncated or corrupt: stream {name!r} ends early")
    return size


class _Records:
    """Walks the records of HWP streams as they inflate (a 4-byte header: tag, nesting level,
    size; size 0xFFF means a 4-byte size follows) and refuses too many or too deeply nested.
    Real documents nest a few levels (at most 7 in the dev files) and hold tens of thousands."""

    def __init__(self) -> None:
        self.count = 0
        self.name = ""
        self._head = b""
        self._skip = 0
        self._level = -1

    def start(self, name: str) -> None:
        self.name, self._head, self._skip, self._level = name, b"", 0, -1

    def feed(self, chunk: bytes) -> None:
        pos, end = 0, len(chunk)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            need = 4 if len(self._head) < 4 else 8
            take = min(need - len(self._head), end - pos)
            self._head += chunk[pos : pos + take]
            pos += take
            if len(self._head) < need:
                return
            header = int.from_bytes(self._head[:4], "little")
            size = header >> 20
            if size == 0xFFF and need == 4:
                continue  # the real size is in the next 4 bytes
            if size == 0xFFF:
                size = int.from_bytes(self._head[4:8], "little")
            self._record((header >> 10) & 0x3FF)
            self._head, self._skip = b"", size

    def _record(self, level: int) -> None:
        self.count += 1
        # A record nests at most one level below the one before it; a jump is damage, which the
        # renderer reports (400), not nesting.
        nested, self._level = level <= self._level + 1, level
        if nested and level > MAX_NESTING:
            raise DocumentTooLarge(
                f"the HWP nests objects {level} deep (in {self.name!r}), over the limit of "
                f"{MAX_NESTING}: it is an HWP bomb or badly damaged"
            )
        if self.count > MAX_RECORDS:
            raise DocumentTooLarge(
                f"the HWP holds more than {MAX_RECORDS:,} records: it is too large or an HWP bomb"
            )


def check_hwpx(data: bytes) -> None:
    """The ZIP bomb checks of the office formats, then OWPML's own encryption marker."""
    office.check_zip(data, "hwpx")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = zf.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
    if b"encryption-data" in manifest:
        raise InvalidDocument(
            "the HWPX document is password-protected (encrypted); open it in Hancom Office, remove "
            "the password (or save it as PDF) and try again"
        )
    if not any(n.startswith("Contents/") for n in names):
        raise InvalidDocument("the HWPX is corrupt: it has no Contents/ part")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in sorted(names):
            if name.startswith("Contents/") and name.endswith(".xml"):
                _check_xml(zf, name)


def _check_xml(zf: zipfile.ZipFile, name: str) -> None:
    """Stream one OWPML part through expat, refusing deep nesting (tables in tables in ...) and
    absurd element counts before the renderer recurses into them. Real sections nest under 20."""
    depth, elements = 0, 0

    def start(tag: str, attrs: dict) -> None:
        nonlocal depth, elements
        depth += 1
        elements += 1
        if depth > MAX_XML_DEPTH:
            raise DocumentTooLarge(
                f"the HWPX nests elements more than {MAX_XML_DEPTH} deep (in {name!r}): it is an "
                f"HWPX bomb or badly damaged"
            )
        if elements > MAX_RECORDS:
            raise DocumentTooLarge(
                f"the HWPX part {name!r} has more than {MAX_RECORDS:,} elements: it is too large "
                f"or an HWPX bomb"
            )

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with zf.open(name) as part:
            while chunk := part.read(_CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        raise InvalidDocument(
            f"the HWPX is corrupt: {name!r} is not well-formed XML ({exc})"
        ) from exc


def to_pdf(data: bytes, kind: str, timeout_s: float, tmp_root: str | None = None) -> bytes:
    """Lay out and render with rhwp in a child process; the PDF it writes comes back."""
    name = kind.upper()
    with tempfile.TemporaryDirectory(prefix="docuocr-hwp-", dir=tmp_root) as tmp:
        work = Path(tmp)
        source, target = work / f"document.{kind}", work / "document.pdf"
        source.write_bytes(data)
        # TMPDIR: the renderer's own scratch files (SVG pages for rsvg-convert) stay in here too.
        env = {**os.environ, "TMPDIR": tmp, "HOME": tmp}
        cmd = [sys.executable, "-m", "docuocr.intake.hwp_render", str(source), str(target)]
        cmd.append(str(MAX_PAGES))
        too_slow = DocumentTooLarge(
            f"laying out the {name} took longer than {timeout_s:g} s and was stopped: it "
            f"is too large or too complex; split it or send it as PDF",
            code="conversion_timeout",
        )
        # rhwp reports every layout overflow: into a file, not a pipe. The converter's network
        # namespace, as LibreOffice's: the file can name images by URL.
        log_path = work / "render.log"
        status = converter.run(
            cmd, cwd=tmp, log_path=log_path, timeout_s=timeout_s, too_slow=too_slow, env=env
        )
        with log_path.open("rb") as log:
            log.seek(max(0, log_path.stat().st_size - _LOG_TAIL))
            err = log.read().replace(tmp.encode(), b"")  # no server paths in the answer
        message = _last_line(err)
        if status == 0 and target.is_file() and target.stat().st_size > 0:
            return target.read_bytes()
    if status == EXIT_TOO_MANY_PAGES:
        raise DocumentTooLarge(
            f"the {name} lays out to {message} pages, over the limit of "
            f"{MAX_PAGES:,}: split it or send the pages you need"
        )
    if status == EXIT_NO_MEMORY or _out_of_memory(err):
        raise DocumentTooLarge(
            f"laying out the {name} needs more memory than an OCR worker has: it is too large, "
            f"too deeply nested, or an HWP bomb",
            code="out_of_memory",
        )
    if status == EXIT_UNAVAILABLE:
        raise DocuocrError(
            f"HWP and HWPX need the rhwp-python package and rsvg-convert (librsvg2-bin), which are "
            f"not installed on this server ({message})",
            code="hwp_unavailable",
            status=503,
        )
    if status < 0:
        message = f"the renderer stopped on signal {-status}"
    raise InvalidDocument(
        f"the {name} cannot be laid out; the file is probably corrupt ({message or 'no output'})"
    )


def _last_line(err: bytes) -> str:
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:300] if lines else ""


def _out_of_memory(err: bytes) -> bool:
    """How the renderer's parts fail when the memory cap is reached (or Rust's stack overflows on
    deep nesting): in Rust, Python, the dynamic loader, glibc, GLib's thread creation."""
    return _NO_MEMORY.search(err) is not None
