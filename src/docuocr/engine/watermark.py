"""Watermarks are not content: faint ink on lines that are much larger or tilted against the page."""

from __future__ import annotations

from typing import Any

import numpy as np


def contrast(line: np.ndarray) -> float:
    """Ink darkness against the background of an RGB line crop, 0..255."""
    gray = line.mean(axis=2) if line.ndim == 3 else line
    return float(np.percentile(gray, 90) - np.percentile(gray, 3))


def is_watermark(
    line_contrast: float,
    height: float,
    angle: float,
    median_height: float,
    page_angle: float,
    cfg: dict[str, Any],
) -> bool:
    if line_contrast >= cfg["max_contrast"]:
        return False
    tilted = abs((angle - page_angle + 90) % 180 - 90) >= cfg["min_angle"]
    big = height >= cfg["min_height_ratio"] * median_height
    return tilted or big
