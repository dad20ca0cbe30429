"""Engine settings: packaged YAML defaults, overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

DEFAULTS = Path(__file__).with_name("defaults.yaml")


def load_config(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Defaults, then `DOCUOCR_ENGINE_<SECTION>_<KEY>` variables, then explicit overrides."""
    cfg: dict[str, dict[str, Any]] = yaml.safe_load(DEFAULTS.read_text())
    for section, values in cfg.items():
        for key, default in values.items():
            raw = os.environ.get(f"DOCUOCR_ENGINE_{section}_{key}".upper())
            if raw is not None:
                values[key] = type(default)(raw)
    for section, values in (overrides or {}).items():
        cfg.setdefault(section, {}).update(values)
    return cfg
