"""The OCR engine: one page image in, one `Page` out. Load once per worker process."""

from __future__ import annotations

from docuocr.engine.pipeline import Engine

__all__ = ["Engine"]
