"""DB post-processing: the detector's probability map → scored text-line quads.

A trimmed copy of rapidocr's `DBPostProcess` (Apache-2.0, from PaddleOCR), same results. Importing it
from rapidocr pulled in the whole rapidocr package, 0.7 s of every worker's start.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyclipper


class DBPostProcess:
    def __init__(
        self, thresh: float, box_thresh: float, max_candidates: int, unclip_ratio: float
    ) -> None:
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.max_candidates = max_candidates
        self.unclip_ratio = unclip_ratio
        self.min_size = 3

    def __call__(
        self, pred: np.ndarray, shape: tuple[int, int]
    ) -> tuple[list[np.ndarray], list[float]]:
        """`pred` is the (1, 1, H, W) map; quads come back in the pixels of an image of `shape`."""
        prob = pred[0, 0]
        mask = cv2.dilate((prob > self.thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        height, width = prob.shape
        dest_h, dest_w = shape
        boxes, scores = [], []
        for contour in contours[: self.max_candidates]:
            points, short = _mini_box(contour)
            if short < self.min_size:
                continue
            score = _box_score(prob, points)
            if score < self.box_thresh:
                continue
            points, short = _mini_box(self._unclip(points))
            if short < self.min_size + 2:
                continue
            points[:, 0] = np.clip(np.round(points[:, 0] / width * dest_w), 0, dest_w)
            points[:, 1] = np.clip(np.round(points[:, 1] / height * dest_h), 0, dest_h)
            box = _clockwise(points.astype(np.int32).astype(np.float32))
            box[:, 0] = np.clip(box[:, 0], 0, dest_w - 1).astype(np.int32)
            box[:, 1] = np.clip(box[:, 1], 0, dest_h - 1).astype(np.int32)
            if np.linalg.norm(box[0] - box[1]) < 4 or np.linalg.norm(box[0] - box[3]) < 4:
                continue
            boxes.append(box)
            scores.append(float(score))
        return boxes, scores

    def _unclip(self, box: np.ndarray) -> np.ndarray:
        """Grow the shrunk text kernel back to the text's extent (DB's unclip)."""
        poly = box.astype(np.float32).reshape(-1, 1, 2)
        distance = cv2.contourArea(poly) * self.unclip_ratio / max(cv2.arcLength(poly, True), 1e-6)
        offset = pyclipper.PyclipperOffset()
        offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        return np.array(offset.Execute(distance)).reshape((-1, 1, 2))


def _mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(contour)
    p = sorted(cv2.boxPoints(rect), key=lambda x: x[0])
    a, d = (p[0], p[1]) if p[1][1] > p[0][1] else (p[1], p[0])
    b, c = (p[2], p[3]) if p[3][1] > p[2][1] else (p[3], p[2])
    return np.array([a, b, c, d]), min(rect[1])


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the box."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(mask, (box - [x0, y0]).reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0]


def _clockwise(pts: np.ndarray) -> np.ndarray:
    by_x = pts[np.argsort(pts[:, 0]), :]
    tl, bl = by_x[:2][np.argsort(by_x[:2, 1])]
    tr, br = by_x[2:][np.argsort(by_x[2:, 1])]
    return np.array([tl, tr, br, bl], dtype=np.float32)
