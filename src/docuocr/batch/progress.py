"""A progress line on stderr for `docuocr batch`: files, pages, pages/s and ETA, no dependencies.

On a terminal the line is redrawn in place (at most 5 times a second); otherwise, e.g. in a log
file, one line is printed per finished file.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total  # files to do in this run
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.files = 0
        self.pages = 0
        self.failed = 0
        self.skipped = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.pages / elapsed
        left = self.total - self.files
        eta = _clock(elapsed / self.files * left) if self.files and left else "-"
        filled = WIDTH * self.files // self.total if self.total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        extra = ""
        if self.failed or self.skipped:
            extra = f", {self.failed} failed, {self.skipped} skipped"
        return (
            f"[{bar}] {self.files}/{self.total} files, {self.pages} pages, "
            f"{rate:.2f} pages/s, ETA {eta}{extra}"
        )

    def done(
        self, name: str, pages: int = 0, *, failed: bool = False, skipped: bool = False
    ) -> None:
        """One file finished (read, failed or skipped)."""
        self.files += 1
        self.pages += pages
        self.failed += failed
        self.skipped += skipped
        if self.tty:
            now = time.monotonic()
            if now - self._drawn >= 0.2 or self.files == self.total:
                self._drawn = now
                self.stream.write("\r\033[K" + self.line())
                self.stream.flush()
        else:
            self.stream.write(f"{self.line()}  {name}\n")
            self.stream.flush()

    def note(self, message: str) -> None:
        """A message of its own (a skipped or failed file), above the progress line."""
        if self.tty:
            self.stream.write("\r\033[K" + message + "\n" + self.line())
        else:
            self.stream.write(message + "\n")
        self.stream.flush()

    def finish(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write("\n")
        summary = (
            f"{self.files - self.failed - self.skipped} file(s) read, {self.failed} failed, "
            f"{self.skipped} skipped; {self.pages} pages in {_clock(elapsed)} "
            f"({self.pages / max(elapsed, 1e-6):.2f} pages/s)"
        )
        self.stream.write(summary + "\n")
        self.stream.flush()
        return summary
