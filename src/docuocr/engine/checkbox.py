"""Checkboxes, which Upstage reports as words: "□" for an empty box, "■" for a ticked or filled one.

The text detector does not see them (they are not text). A checkbox is a square outline about as
tall as the text beside it, outside every text line; its inside is blank when empty, inked when
ticked, crossed or filled.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

EMPTY, CHECKED = "□", "■"


def find(
    image: np.ndarray, quads: list[np.ndarray], cfg: dict[str, Any]
) -> list[tuple[np.ndarray, str, float]]:
    """(quad, "□" or "■", squareness score) for each checkbox on an upright RGB page."""
    if not cfg["enabled"] or not quads:
        return []
    heights = [float(np.linalg.norm(q[3] - q[0])) for q in quads]
    line_h = float(np.median(heights))
    lo, hi = cfg["min_size"] * line_h, cfg["max_size"] * line_h
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # Outer boundaries only: the hole of an empty table cell is square too, but it is a hole.
    contours, tree = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parents = tree[0][:, 3] if tree is not None else []
    outer = [c for c, parent in zip(contours, parents, strict=True) if parent < 0]
    text = np.zeros(ink.shape, np.uint8)
    for q in quads:
        cv2.fillPoly(text, [np.round(q).astype(np.int32)], 255)

    found: list[tuple[np.ndarray, str, float]] = []
    for c in outer:
        x, y, w, h = cv2.boundingRect(c)
        if not (max(lo, 8) <= h <= hi and 0.8 <= w / h <= 1.25):
            continue
        fill = cv2.contourArea(c) / (w * h)
        if (
            fill < cfg["min_fill"]
            or len(cv2.approxPolyDP(c, 0.1 * cv2.arcLength(c, True), True)) != 4
        ):
            continue
        if text[y : y + h, x : x + w].mean() > 255 * 0.2:  # part of a text line (ㅁ, 口, O)
            continue
        m = max(2, round(0.2 * h))
        inner = ink[y + m : y + h - m, x + m : x + w - m]
        inked = float(inner.mean()) / 255 if inner.size else 0.0
        found.append((_quad(x, y, w, h), CHECKED if inked > cfg["checked_ink"] else EMPTY, fill))
    return found


def _quad(x: int, y: int, w: int, h: int) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
