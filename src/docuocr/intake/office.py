"""DOCX/PPTX/XLSX to PDF with headless LibreOffice, after checking the ZIP is not a bomb.

No uploaded document may make the server reach the network, so LibreOffice gets three fences:
the package's outside references are cut first (`links.neutralise`), its profile switches off
link updates, remote content and macros, and it runs in a network namespace of its own, with no
interface but a loopback that is down, wherever the OS allows one (`converter.run`).
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from docuocr.errors import DocumentTooLarge, DocuocrError, InvalidDocument, Timeout
from docuocr.intake import converter
from docuocr.intake.links import neutralise

log = logging.getLogger(__name__)

MAX_UNCOMPRESSED = 200 * 2**20  # real office files are a few MB unpacked; LibreOffice holds it all
MAX_MEMBERS = 10_000
MAX_RATIO = 500  # deflate tops out near 1032:1; real office parts stay well below 100:1
RATIO_FLOOR = 2**20  # small parts may compress absurdly well without harm
_CHUNK = 1 << 20

# LibreOffice settings for a conversion profile: never update links (Writer 2, Calc 1), never
# recalculate formulas on load (keep the saved results), block linked pictures and other content
# from outside trusted locations (there are none), and never run macros.
PROFILE_SETTINGS = {
    "/org.openoffice.Office.Writer/Content/Update": {"Link": ("int", "2")},
    "/org.openoffice.Office.Calc/Content/Update": {"Link": ("int", "1")},
    "/org.openoffice.Office.Calc/Formula/Load": {
        "OOXMLRecalcMode": ("int", "1"),
        "ODFRecalcMode": ("int", "1"),
    },
    "/org.openoffice.Office.Common/Security/Scripting": {
        "BlockUntrustedRefererLinks": ("boolean", "true"),
        "MacroSecurityLevel": ("int", "3"),
        "DisableMacrosExecution": ("boolean", "true"),
    },
}


def check_zip(data: bytes, kind: str) -> None:
    """Refuse ZIPs that unpack to too much, by the directory's word and then by inflating them.

    The directory can lie, so every member is inflated (output discarded, never more than its
    declared size) and its CRC checked: LibreOffice then never sees a byte we have not counted.
    """
    name = kind.upper()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidDocument(f"the {name} is truncated or corrupt ({exc})") from exc
    if len(infos) > MAX_MEMBERS:
        raise InvalidDocument(
            f"the {name} has {len(infos):,} parts, over the limit of {MAX_MEMBERS:,}"
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise DocumentTooLarge(
            f"the {name} unpacks to {total / 2**20:,.0f} MB, over the limit of "
            f"{MAX_UNCOMPRESSED / 2**20:.0f} MB"
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise InvalidDocument(f"the {name} is encrypted (part {info.filename!r})")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InvalidDocument(
                f"the {name} looks like a ZIP bomb: part {info.filename!r} claims to unpack "
                f"{info.compress_size:,} bytes into {info.file_size:,}"
            )
    for info in infos:
        _verify_member(data, info, name)


def _verify_member(data: bytes, info: zipfile.ZipInfo, name: str) -> None:
    """Inflate one member's raw stream, stopping as soon as it exceeds its declared size."""
    start = info.header_offset
    local = data[start : start + 30]
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise InvalidDocument(f"the {name} is corrupt: part {info.filename!r} is missing")
    offset = (
        start + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    )
    raw = memoryview(data)[offset : offset + info.compress_size]
    if len(raw) < info.compress_size:
        raise InvalidDocument(f"the {name} is truncated: part {info.filename!r} is cut short")
    if info.compress_type == zipfile.ZIP_STORED:
        out_size, crc = len(raw), zlib.crc32(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        out_size, crc = _inflate(raw, info, name)
    else:
        raise InvalidDocument(
            f"the {name} uses an unsupported ZIP compression ({info.compress_type}) "
            f"for part {info.filename!r}"
        )
    if out_size != info.file_size or crc != info.CRC:
        raise InvalidDocument(f"the {name} is corrupt: part {info.filename!r} fails its checksum")


def _inflate(raw: memoryview, info: zipfile.ZipInfo, name: str) -> tuple[int, int]:
    inflater = zlib.decompressobj(-15)
    out_size, crc = 0, 0
    try:
        for pos in range(0, len(raw), _CHUNK):
            pending = raw[pos : pos + _CHUNK].tobytes()
            while pending:
                # max_length bounds memory; a stream that outgrows its declared size is refused.
                chunk = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                out_size += len(chunk)
                crc = zlib.crc32(chunk, crc)
                if out_size > info.file_size:
                    raise InvalidDocument(
                        f"the {name} is corrupt or a ZIP bomb: part {info.filename!r} unpacks "
                        f"to more than its declared {info.file_size:,} bytes"
                    )
        chunk = inflater.flush()
        out_size += len(chunk)
        crc = zlib.crc32(chunk, crc)
    except zlib.error as exc:
        raise InvalidDocument(
            f"the {name} is corrupt: part {info.filename!r} cannot be inflated ({exc})"
        ) from exc
    return out_size, crc


def to_pdf(data: bytes, kind: str, timeout_s: float, tmp_root: str | None = None) -> bytes:
    """Convert with LibreOffice in a private temp dir and profile, so conversions run in parallel."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise DocuocrError(
            "DOCX, PPTX and XLSX need LibreOffice (soffice), which is not installed on this server",
            code="office_unavailable",
            status=503,
        )
    name = kind.upper()
    with tempfile.TemporaryDirectory(prefix="docuocr-office-", dir=tmp_root) as tmp:
        work = Path(tmp)
        source = work / f"document.{kind}"
        source.write_bytes(neutralise(data, kind))
        write_profile(work / "profile")
        cmd = [
            soffice,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nodefault",
            "--nolockcheck",
            "--nologo",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        log_path = work / "soffice.log"
        too_slow = Timeout(
            f"converting the {name} to PDF took longer than {timeout_s:g} s and was "
            f"stopped; split the document or send it as PDF",
            code="conversion_timeout",
        )
        status = converter.run(
            cmd, cwd=work, log_path=log_path, timeout_s=timeout_s, too_slow=too_slow
        )
        pdf = work / "out" / "document.pdf"
        if status != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-2:]
            raise InvalidDocument(
                f"LibreOffice could not convert the {name} to PDF; the file is probably corrupt "
                f"(exit status {status}: {' / '.join(tail) or 'no output'})"
            )
        return pdf.read_bytes()


def write_profile(profile: Path) -> None:
    """Seed a fresh LibreOffice profile with `PROFILE_SETTINGS`; LibreOffice fills in the rest."""
    items = []
    for path, props in PROFILE_SETTINGS.items():
        for name, (kind, value) in props.items():
            items.append(
                f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse" '
                f'oor:type="xs:{kind}"><value>{value}</value></prop></item>'
            )
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        + "\n".join(items)
        + "\n</oor:items>\n",
        encoding="utf-8",
    )
