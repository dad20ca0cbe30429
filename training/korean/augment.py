"""Scan and photo degradation of 32-px line crops, cheap enough for on-the-fly training (~1 ms).

Blur, noise, JPEG, low resolution scaled back up, slight rotation/shear/perspective, slight
curvature, shadows and uneven contrast, thin table rules touching the text, faint watermark strokes
behind the text, crop jitter.
"""

from __future__ import annotations

import random

import cv2
import numpy as np


def _rules(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Thin table rules at the crop's edges, as when a cell's text touches its border."""
    h, w = img.shape
    ink = int(np.percentile(img, 2))
    t = rng.choice([1, 1, 2])
    if rng.random() < 0.6:
        y = rng.choice([rng.randint(0, 3), rng.randint(h - 4, h - 1)])
        cv2.line(img, (0, y), (w - 1, y), ink, t)
    else:
        x = rng.choice([rng.randint(0, 3), rng.randint(max(0, w - 4), w - 1)])
        cv2.line(img, (x, 0), (x, h - 1), ink, t)
    return img


def _watermark(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Faint, large strokes behind the text, as a diagonal "Confidential" stamp leaves across a
    line (the cookbook's water_mark.jpg): light grey, thick, at a steep angle, under the ink."""
    h, w = img.shape
    layer = np.full_like(img, 255)
    tone = rng.randint(150, 225)
    for _ in range(rng.randint(1, 4)):
        x = rng.randint(0, max(0, w - 1))
        dx = rng.choice([-1, 1]) * rng.uniform(0.5, 1.8) * h
        cv2.line(layer, (x, 0), (int(x + dx), h - 1), tone, rng.randint(2, max(3, h // 5)))
    return np.minimum(img, layer)


def _affine(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Slight rotation and shear (italic-like)."""
    h, w = img.shape
    angle = np.deg2rad(rng.uniform(-1.5, 1.5))
    shear = rng.uniform(-0.25, 0.25) if rng.random() < 0.4 else 0.0
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c, -s + shear, 0.0], [s, c, 0.0]], dtype=np.float32)
    m[:, 2] = np.array([w / 2, h / 2]) - m[:, :2] @ np.array([w / 2, h / 2])
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _perspective(img: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape
    d = 0.05 * h
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _curve(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A gentle wave along the line, as on a curled page."""
    h, w = img.shape
    amp = rng.uniform(0.5, 2.0)
    period = rng.uniform(1.0, 3.0) * w
    phase = rng.uniform(0, 2 * np.pi)
    xs = np.arange(w, dtype=np.float32)
    dy = (amp * np.sin(2 * np.pi * xs / period + phase)).astype(np.float32)
    map_x = np.tile(xs, (h, 1))
    map_y = np.arange(h, dtype=np.float32)[:, None] + dy[None, :]
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _lowres(img: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape
    f = rng.uniform(0.4, 0.8)
    small = cv2.resize(
        img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC]))


def _blur(img: np.ndarray, rng: random.Random) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.1))


def _shade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Shadows and uneven contrast: a gradient multiplied in, contrast squeezed."""
    h, w = img.shape
    g0, g1 = rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0)
    if rng.random() < 0.7:
        grad = np.linspace(g0, g1, w, dtype=np.float32)[None, :]
    else:
        grad = np.linspace(g0, g1, h, dtype=np.float32)[:, None]
    lo, hi = rng.uniform(0, 60), rng.uniform(190, 255)
    out = (lo + img.astype(np.float32) * (hi - lo) / 255.0) * grad
    return np.clip(out, 0, 255).astype(np.uint8)


def _noise(img: np.ndarray, rng: random.Random) -> np.ndarray:
    sigma = rng.uniform(3, 14)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, rng: random.Random) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(15, 60)])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else img


def _jitter(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """An imperfect detector box: cut a few rows off the top or bottom."""
    h = img.shape[0]
    top = rng.randint(0, max(0, h // 12))
    bottom = rng.randint(0, max(0, h // 12))
    return img[top : h - bottom] if h - top - bottom > h // 2 else img


# (function, probability), applied in this order: geometry first, then optics, then sensor.
STEPS = [
    (_jitter, 0.3),
    (_rules, 0.15),
    (_watermark, 0.1),
    (_affine, 0.3),
    (_perspective, 0.15),
    (_curve, 0.12),
    (_lowres, 0.25),
    (_blur, 0.3),
    (_shade, 0.25),
    (_noise, 0.3),
    (_jpeg, 0.3),
]


def degrade(img: np.ndarray, rng: random.Random, at_least: int = 1) -> np.ndarray:
    """Apply a random subset of the steps (at least `at_least` of them); returns a new image."""
    chosen = [rng.random() < p for _, p in STEPS]
    while sum(chosen) < at_least:
        chosen[rng.randrange(len(STEPS))] = True
    out = np.ascontiguousarray(img).copy()
    for (fn, _), on in zip(STEPS, chosen, strict=True):
        if on:
            out = fn(out, rng)
    h, w = out.shape
    if h != img.shape[0]:  # crop jitter changed the height: back to the model's height
        size = (max(1, round(w * img.shape[0] / h)), img.shape[0])
        out = cv2.resize(out, size, interpolation=cv2.INTER_LINEAR)
    return out
