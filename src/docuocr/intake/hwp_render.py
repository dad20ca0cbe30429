"""`python -m docuocr.intake.hwp_render IN OUT MAX_PAGES`: one HWP/HWPX file to PDF.

Run by `docuocr.intake.hwp.to_pdf` as a child process, never imported by the service, so a crash,
a runaway allocation or a hang in the native renderer costs only this process. The exit status
says what went wrong (see `hwp.EXIT_*`); the last line on stderr says it in words.

rhwp-python lays the document out and draws each page as SVG; rsvg-convert makes the PDF, finding
a face for every character through fontconfig (rhwp's own PDF writer drops text in fonts it lacks).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

from docuocr.intake.hwp import EXIT_INVALID, EXIT_NO_MEMORY, EXIT_TOO_MANY_PAGES, EXIT_UNAVAILABLE


def _import_rhwp():
    # The rhwp-python wheel bundles a FreeType older than the symbols its extension calls
    # (FT_Palette_Data_Get): the system's libfreetype, loaded first and global, supplies them.
    ctypes.CDLL("libfreetype.so.6", mode=ctypes.RTLD_GLOBAL)
    import rhwp

    return rhwp


def main(argv: list[str]) -> int:
    source, target, max_pages = Path(argv[0]), Path(argv[1]), int(argv[2])
    try:
        rhwp = _import_rhwp()
    except (ImportError, OSError) as exc:
        print(f"rhwp-python cannot be imported: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert is not on PATH", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        document = rhwp.Document.from_bytes(source.read_bytes())
        pages = document.page_count
        if pages > max_pages:
            print(f"{pages:,}", file=sys.stderr)
            return EXIT_TOO_MANY_PAGES
        if pages < 1:
            print("it lays out to no pages", file=sys.stderr)
            return EXIT_INVALID
        svgs = []
        for index in range(pages):  # one page in memory at a time
            svg = target.with_name(f"page-{index:05d}.svg")
            svg.write_text(document.render_svg(index), encoding="utf-8")
            svgs.append(str(svg))
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return EXIT_NO_MEMORY
    except Exception as exc:  # the renderer's errors are all "this file cannot be read"
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return EXIT_INVALID
    # Images come only from data: URIs inside the SVG; rsvg-convert refuses to read other files.
    drawn = subprocess.run(
        ["rsvg-convert", "--format", "pdf", "--output", str(target), *svgs],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if drawn.returncode != 0:
        print(drawn.stderr.decode("utf-8", "replace").strip()[-300:], file=sys.stderr)
        return EXIT_NO_MEMORY if drawn.returncode < 0 else EXIT_INVALID
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
