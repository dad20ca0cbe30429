"""Text line detection: PP-OCRv6 small DB detector and its DB post-processing."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from docuocr.engine.dbpost import DBPostProcess
from docuocr.engine.geometry import order_quad
from docuocr.engine.onnx import Model, bucket
from docuocr.engine.smalltext import clusters, uncovered_text


class Detector:
    def __init__(self, cfg: dict[str, Any], runtime: dict[str, Any]) -> None:
        self.cfg = cfg
        self.model = Model(cfg["model"], runtime, cfg["precision"])
        # Pages and the small-print sheet both default to bfloat16, 3x faster than f32 on this
        # CPU (boxes move a pixel or two); one model then serves both.
        self.sheet_model = self.model
        if cfg["sheet_precision"] != cfg["precision"]:
            self.sheet_model = Model(cfg["model"], runtime, cfg["sheet_precision"])
        self.post = DBPostProcess(
            thresh=cfg["thresh"],
            box_thresh=cfg["box_thresh"],
            max_candidates=cfg["max_candidates"],
            unclip_ratio=cfg["unclip_ratio"],
        )
        self.buckets = int(runtime.get("shape_buckets", 0))  # for the small-print sheet

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
        self, image: np.ndarray, scale: float | None = None, model: Model | None = None
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
        pred = (model or self.model)(x)
        boxes, scores = self.post(pred, (h, w))
        return [order_quad(b) for b in boxes], scores

    def small_print(
        self, image: np.ndarray, quads: list[np.ndarray], cfg: dict[str, Any]
    ) -> tuple[list[np.ndarray], list[float]]:
        """Lines of small print the first pass missed, found by detecting uncovered ink enlarged."""
        # Regions share a sheet up to max_pixels: a 100 MP page's regions on one sheet would be a
        # 100 MP detector input, whose activations no worker's memory cap allows.
        sheets: list[list[tuple[tuple[int, int, int, int], float]]] = []
        room = 0.0
        for box, scale in small_print_regions(image, quads, cfg):
            x0, y0, x1, y1 = box
            pixels = (x1 - x0) * (y1 - y0) * scale * scale
            if not sheets or pixels > room:
                sheets.append([])
                room = cfg["max_pixels"]
            sheets[-1].append((box, scale))
            room -= pixels
        found, scores = [], []
        for regions in sheets:
            for q, s in self._on_one_sheet(image, regions):
                if not _mostly_inside(q, quads):  # the region's margin reaches known lines
                    found.append(q)
                    scores.append(s)
        return found, scores

    def _on_one_sheet(
        self, image: np.ndarray, regions: list[tuple[tuple[int, int, int, int], float]]
    ) -> list[tuple[np.ndarray, float]]:
        """Detect enlarged regions in one run: the regions are laid out on one sheet of their
        paper, SHEET_GAP apart, and each box found is mapped back into its own region.

        One run instead of one per region, because each region was a new input shape, and a new
        shape costs OpenVINO more than a known one (about 250 ms on a page-sized input). The
        detector is mostly local: its SE blocks pool over the whole input, so a region reads
        nearly, not exactly, as it does alone (test_small_print_on_one_sheet_finds_what_...)."""
        if not regions:
            return []
        pieces = []
        for (x0, y0, x1, y1), scale in regions:
            size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            pieces.append(cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR))
        places, sheet_w, sheet_h = _shelves([p.shape[:2] for p in pieces], SHEET_GAP)
        sheet_w, sheet_h = bucket(sheet_w, self.buckets), bucket(sheet_h, self.buckets)
        edges = np.concatenate([np.concatenate([p[0], p[-1], p[:, 0], p[:, -1]]) for p in pieces])
        sheet = np.empty((sheet_h, sheet_w, 3), np.uint8)
        sheet[:] = np.median(edges, axis=0).astype(np.uint8)
        for piece, (px, py) in zip(pieces, places, strict=True):
            sheet[py : py + piece.shape[0], px : px + piece.shape[1]] = piece
        out = []
        for q, s in zip(*self(sheet, 1.0, self.sheet_model), strict=True):
            cx, cy = q.mean(axis=0)
            for ((x0, y0, x1, y1), _), piece, (px, py) in zip(regions, pieces, places, strict=True):
                ph, pw = piece.shape[:2]
                if px <= cx < px + pw and py <= cy < py + ph:
                    local = np.clip(q - [px, py], 0, [pw, ph])
                    scale = np.array([(x1 - x0) / pw, (y1 - y0) / ph], dtype=np.float32)
                    out.append(((local * scale + [x0, y0]).astype(np.float32), s))
                    break
        return out


def small_print_regions(
    image: np.ndarray, quads: list[np.ndarray], cfg: dict[str, Any]
) -> list[tuple[tuple[int, int, int, int], float]]:
    """Regions of uncovered ink worth a second look, each with its enlargement."""
    h, w = image.shape[:2]
    plans = []
    for (x0, y0, x1, y1), text_h in clusters(uncovered_text(image, quads, cfg), w, h):
        scale = min(cfg["max_scale"], max(1.5, cfg["target_height"] / text_h))
        scale = min(scale, (cfg["max_pixels"] / ((x1 - x0) * (y1 - y0))) ** 0.5)
        if scale >= 1.2:
            plans.append(((x0, y0, x1, y1), scale, (x1 - x0) * (y1 - y0) * scale * scale))
    # Small print sits in small regions; broad ones (handwriting, logos, rules on forms) rarely
    # hold any. Smallest first, within a pixel budget: the second look costs at most `max_share`
    # of a page.
    budget = cfg["max_share"] * h * w
    chosen = []
    for box, scale, pixels in sorted(plans, key=lambda p: p[2]):
        if pixels > budget:  # what the budget has left, at a smaller enlargement
            area = pixels / (scale * scale)
            scale = (budget / area) ** 0.5
            if scale < 1.2:
                break
            pixels = area * scale * scale
        budget -= pixels
        chosen.append((box, scale))
    return chosen


SHEET_GAP = 32  # paper between regions on the sheet: more than the detector's reach across blank


def _shelves(sizes: list[tuple[int, int]], gap: int) -> tuple[list[tuple[int, int]], int, int]:
    """Top-left corners for boxes of these (height, width) sizes packed in rows on a sheet at
    least 1024 px wide, `gap` around each; and the sheet's width and height (multiples of 32)."""
    width = -(-max(1024, max(w for _, w in sizes) + 2 * gap) // 32) * 32
    places: list[tuple[int, int]] = [(0, 0)] * len(sizes)
    x, y, row_h = gap, gap, 0
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i][0]):
        h, w = sizes[i]
        if x + w + gap > width:
            x, y, row_h = gap, y + row_h + gap, 0
        places[i] = (x, y)
        x, row_h = x + w + gap, max(row_h, h)
    return places, width, -(-(y + row_h + gap) // 32) * 32


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
