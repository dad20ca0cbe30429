"""Text line detection: PP-OCRv6 small DB detector and its DB post-processing."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from docuocr.engine.dbpost import DBPostProcess
from docuocr.engine.geometry import order_quad
from docuocr.engine.onnx import session
from docuocr.engine.smalltext import clusters, uncovered_text


class Detector:
    def __init__(self, cfg: dict[str, Any], threads: int = 0) -> None:
        self.cfg = cfg
        self.session = session(cfg["model"], threads)
        self.post = DBPostProcess(
            thresh=cfg["thresh"],
            box_thresh=cfg["box_thresh"],
            max_candidates=cfg["max_candidates"],
            unclip_ratio=cfg["unclip_ratio"],
        )

    def scale_for(self, h: int, w: int) -> float:
        # Native resolution when it fits: downscaling loses the small print documents are full of.
        scale = min(1.0, self.cfg["max_side"] / max(h, w))
        if min(h, w) * scale < self.cfg["min_side"]:
            # Enlarge low-resolution pages, but not tiny images: upscaled noise becomes "text".
            scale = min(
                self.cfg["min_side"] / min(h, w), self.cfg["max_side"] / max(h, w) * 1.5, 3.0
            )
        return scale

    def __call__(
        self, image: np.ndarray, scale: float | None = None
    ) -> tuple[list[np.ndarray], list[float]]:
        """RGB page → ordered line quads (TL, TR, BR, BL) in page pixels, with their scores."""
        h, w = image.shape[:2]
        scale = scale or self.scale_for(h, w)
        rh, rw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        resized = cv2.resize(
            image, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        x = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
        pred = self.session.run(None, {self.session.get_inputs()[0].name: x})[0]
        boxes, scores = self.post(pred, (h, w))
        return [order_quad(b) for b in boxes], scores

    def small_print(
        self, image: np.ndarray, quads: list[np.ndarray], cfg: dict[str, Any]
    ) -> tuple[list[np.ndarray], list[float]]:
        """Lines of small print the first pass missed, found by detecting uncovered ink enlarged."""
        h, w = image.shape[:2]
        plans = []
        for (x0, y0, x1, y1), text_h in clusters(uncovered_text(image, quads, cfg), w, h):
            scale = min(cfg["max_scale"], max(1.5, cfg["target_height"] / text_h))
            scale = min(scale, (cfg["max_pixels"] / ((x1 - x0) * (y1 - y0))) ** 0.5)
            if scale >= 1.2:
                plans.append(((x0, y0, x1, y1), scale, (x1 - x0) * (y1 - y0) * scale * scale))
        # Small print sits in small regions; broad ones (handwriting, logos, rules on forms) rarely
        # hold any. Smallest first, within a pixel budget: the second look costs at most
        # `max_share` of a page.
        budget = cfg["max_share"] * h * w
        found, scores = [], []
        for (x0, y0, x1, y1), scale, pixels in sorted(plans, key=lambda p: p[2]):
            budget -= pixels
            if budget < 0:
                break
            qs, ss = self(image[y0:y1, x0:x1], scale)
            for q, s in zip(qs, ss, strict=True):
                q = q + np.array([x0, y0], dtype=np.float32)
                if not _mostly_inside(q, quads):  # the region's margin reaches known lines
                    found.append(q)
                    scores.append(s)
        return found, scores


def _mostly_inside(q: np.ndarray, quads: list[np.ndarray], share: float = 0.5) -> bool:
    """Whether over `share` of q's bounding box lies in the bounding box of one of `quads`."""
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    for other in quads:
        ox0, oy0 = other.min(axis=0)
        ox1, oy1 = other.max(axis=0)
        iw, ih = min(x1, ox1) - max(x0, ox0), min(y1, oy1) - max(y0, oy0)
        if iw > 0 and ih > 0 and iw * ih / area > share:
            return True
    return False
