"""Engine settings: the packaged YAML defaults (`docuocr.config.ENGINE_DEFAULTS`, each with its
reason), with the overrides the engine is built with. The DOCUOCR_ENGINE_* variables are read at
the edge (`docuocr.config.engine_from_env`) and arrive here as overrides."""

from __future__ import annotations

from typing import Any

from docuocr.config import engine_defaults


def load_config(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Defaults, then `overrides` (by section and key)."""
    cfg = engine_defaults()
    for section, values in (overrides or {}).items():
        cfg.setdefault(section, {}).update(values)
    return cfg
