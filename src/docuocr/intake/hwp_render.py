"""`python -m docuocr.intake.hwp_render IN OUT MAX_PAGES`: one HWP/HWPX file to PDF.

Run by `docuocr.intake.hwp.to_pdf` as a child process, never imported by the service, so a crash,
a runaway allocation or a hang in the native renderer costs only this process. The exit status
says what went wrong (see `hwp.EXIT_*`); the last line on stderr says it in words.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from docuocr.intake.hwp import EXIT_INVALID, EXIT_NO_MEMORY, EXIT_TOO_MANY_PAGES, EXIT_UNAVAILABLE


def main(argv: list[str]) -> int:
    source, target, max_pages = Path(argv[0]), Path(argv[1]), int(argv[2])
    try:
        import hwp_ingest
    except ImportError as exc:
        print(f"hwp-ingest cannot be imported: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if shutil.which("rsvg-convert") is None:  # hwp-ingest draws SVG pages and makes the PDF with it
        print("rsvg-convert is not on PATH", file=sys.stderr)
        return EXIT_UNAVAILABLE
    data = source.read_bytes()
    try:
        pages = hwp_ingest.analyze_bytes(data).page_count
        if pages > max_pages:
            print(f"{pages:,}", file=sys.stderr)
            return EXIT_TOO_MANY_PAGES
        if pages < 1:
            print("it lays out to no pages", file=sys.stderr)
            return EXIT_INVALID
        target.write_bytes(hwp_ingest.to_pdf_bytes(data))
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return EXIT_NO_MEMORY
    except Exception as exc:  # the renderer's errors are all "this file cannot be read"
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return EXIT_INVALID
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
