"""Intake: bytes in, upright-as-stored RGB page images out, within the configured limits.

Everything here raises a `DocuocrError` subclass for bad input; nothing else should escape.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from docuocr.config import Limits


@dataclass
class Intake:
    pages: list[Image.Image]  # RGB, at most limits.max_pages of them
    total_pages: int  # pages in the file before the page limit
    mime: str  # the sniffed type, e.g. "image/png", "application/pdf"


def load(data: bytes, limits: Limits | None = None) -> Intake:
    """Sniff, decode and rasterise `data` into page images."""
    from docuocr.intake.decode import load as _load

    return _load(data, limits or Limits())
