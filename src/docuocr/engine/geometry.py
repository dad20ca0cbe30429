"""Quads and page rotations. A quad is a 4×2 float array ordered TL, TR, BR, BL in reading direction."""

from __future__ import annotations

import cv2
import numpy as np


def order_quad(pts: np.ndarray) -> np.ndarray:
    """Order 4 corners as TL, TR, BR, BL, taking the long side as the reading direction (left to right)."""
    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    edges = [pts[(i + 1) % 4] - pts[i] for i in range(4)]
    long_edge = max(edges, key=lambda e: float(np.hypot(*e)))
    d = long_edge / (np.hypot(*long_edge) + 1e-6)
    if d[0] < 0 or (abs(d[0]) < 1e-6 and d[1] > 0):
        d = -d
    n = np.array([-d[1], d[0]])  # "down" for a left-to-right line
    along, across = pts @ d, pts @ n
    top = np.argsort(across)[:2]
    bottom = np.argsort(across)[2:]
    tl, tr = sorted(top, key=lambda i: along[i])
    bl, br = sorted(bottom, key=lambda i: along[i])
    return pts[[tl, tr, br, bl]]


def quad_size(q: np.ndarray) -> tuple[float, float]:
    """Width along the reading direction and height across it."""
    w = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return float(w), float(h)


def quad_angle(q: np.ndarray) -> float:
    """Angle of the reading direction in degrees (image coordinates, y down)."""
    d = (q[1] - q[0]) + (q[2] - q[3])
    return float(np.degrees(np.arctan2(d[1], d[0])))


def crop(image: np.ndarray, q: np.ndarray, min_height: int = 32) -> np.ndarray:
    """Warp the quad to an axis-aligned crop, text upright; small print is enlarged in the same step
    (one cubic warp is sharper than a warp and a later resize)."""
    w, h = quad_size(q)
    k = max(1.0, min_height / max(h, 1.0))
    w, h = max(int(round(w * k)), 1), max(int(round(h * k)), 1)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(
        image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def grow(q: np.ndarray, factor: float) -> np.ndarray:
    """The quad made `factor` times taller about its centre line (same width, same corner order)."""
    left, right = (q[0] + q[3]) / 2, (q[1] + q[2]) / 2
    return np.array(
        [
            left + (q[0] - left) * factor,
            right + (q[1] - right) * factor,
            right + (q[2] - right) * factor,
            left + (q[3] - left) * factor,
        ],
        dtype=np.float32,
    )


def along(q: np.ndarray, t0: float, t1: float, v0: float = 0.0, v1: float = 1.0) -> np.ndarray:
    """The sub-quad between fractions t0..t1 of the quad's width and v0..v1 of its height
    (keeps the corner order).

    Fractions are taken through the same perspective map `crop` warps with, so a position found in
    a crop lands on the same ink in the page. Detector quads are rounded to whole pixels, which
    makes a 16 px line a trapezoid a pixel taller at one end; interpolating its edges linearly
    instead put mid-line words 5 px off."""
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(unit, np.asarray(q, dtype=np.float32))
    pts = np.array([[t0, v0], [t1, v0], [t1, v1], [t0, v1]], dtype=np.float32)
    return cv2.perspectiveTransform(pts[None], m)[0]


def rotate_image(image: np.ndarray, degrees: int) -> np.ndarray:
    """Turn the image clockwise by 0/90/180/270 degrees."""
    k = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=-k)) if k else image


def unrotate_points(pts: np.ndarray, degrees: int, width: int, height: int) -> np.ndarray:
    """Map points in the image turned clockwise by `degrees` back to the original (width × height)."""
    pts = np.asarray(pts, dtype=np.float32)
    x, y = pts[..., 0], pts[..., 1]
    k = (degrees // 90) % 4
    if k == 0:
        ox, oy = x, y
    elif k == 1:  # turned clockwise: (x, y) -> (H - y, x)
        ox, oy = y, height - x
    elif k == 2:
        ox, oy = width - x, height - y
    else:  # turned counter-clockwise: (x, y) -> (y, W - x)
        ox, oy = width - y, x
    return np.stack([ox, oy], axis=-1)
