"""The OCR engine: one page image in, one `Page` out. Load once per worker process:
`Engine(default_stages(overrides))`."""

from __future__ import annotations

from docuocr.engine.pipeline import Engine, Stages, default_stages

__all__ = ["Engine", "Stages", "default_stages"]
