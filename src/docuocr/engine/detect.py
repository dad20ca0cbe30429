"""Text line detection: PP-OCRv6 small DB detector, with rapidocr's DB post-processing."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import DBPostProcess

from docuocr.engine.geometry import order_quad
from docuocr.engine.onnx import session


class Detector:
    def __init__(self, cfg: dict[str, Any], threads: int = 0) -> None:
        self.cfg = cfg
        self.session = session(cfg["model"], threads)
        self.post = DBPostProcess(
            thresh=cfg["thresh"],
            box_thresh=cfg["box_thresh"],
            max_candidates=cfg["max_candidates"],
            unclip_ratio=cfg["unclip_ratio"],
            use_dilation=True,
            score_mode="fast",
        )

    def scale_for(self, h: int, w: int) -> float:
        # Native resolution when it fits: downscaling loses the small print documents are full of.
        scale = min(1.0, self.cfg["max_side"] / max(h, w))
        if min(h, w) * scale < self.cfg["min_side"]:
            scale = min(self.cfg["min_side"] / min(h, w), self.cfg["max_side"] / max(h, w) * 1.5)
        return scale

    def __call__(self, image: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
        """RGB page → ordered line quads (TL, TR, BR, BL) in page pixels, with their scores."""
        h, w = image.shape[:2]
        scale = self.scale_for(h, w)
        rh, rw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        resized = cv2.resize(
            image, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        x = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
        pred = self.session.run(None, {self.session.get_inputs()[0].name: x})[0]
        boxes, scores = self.post(pred, (h, w))
        if boxes is None or len(boxes) == 0:
            return [], []
        return [order_quad(b) for b in boxes], [float(s) for s in scores]
