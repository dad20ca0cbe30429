"""Page orientation (0/90/180/270): box shapes say whether text runs across or down the page, and the
PP-OCR line classifier votes on upside-down."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from docuocr.engine.geometry import along, crop, quad_size
from docuocr.engine.onnx import Model


class Classifier:
    """The 0/180 line classifier that ships with rapidocr."""

    def __init__(self, cfg: dict[str, Any], runtime: dict[str, Any]) -> None:
        self.cfg = cfg
        self.model = Model(cfg["model"], runtime)

    def __call__(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probability that each crop is turned 180 degrees. Reliable on Latin and Han, not on Hangul."""
        if not crops:
            return np.zeros(0)
        batch = np.zeros((len(crops), 3, 48, 192), dtype=np.float32)
        for i, c in enumerate(crops):
            rw = min(192, max(1, int(np.ceil(48 * c.shape[1] / max(c.shape[0], 1)))))
            img = cv2.resize(c, (rw, 48)).astype(np.float32)
            batch[i, :, :, :rw] = ((img / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        probs = self.model(batch)
        return probs[:, 1]


def is_sideways(quads: list[np.ndarray], tall_share: float) -> bool:
    """True when most text area sits in boxes taller than wide: the page is turned 90 or 270."""
    tall = wide = 0.0
    for q in quads:
        xs, ys = q[:, 0], q[:, 1]
        w, h = float(xs.max() - xs.min()), float(ys.max() - ys.min())
        if h > 1.5 * w:
            tall += w * h
        elif w > 1.5 * h:
            wide += w * h
    return tall + wide > 0 and tall / (tall + wide) >= tall_share


def vote_crops(image: np.ndarray, quads: list[np.ndarray]) -> list[np.ndarray]:
    """The first few characters of each line: enough to vote on, cheap to classify."""
    out = []
    for q in quads:
        w, h = quad_size(q)
        out.append(crop(image, along(q, 0.0, min(1.0, 10 * h / max(w, 1.0)))))
    return out
