"""Reliability diagrams drawn with Pillow (no plotting library needed).

One panel per series: for each of the 15 equal-width confidence bins, a bar as high as the share of
right words in it, against the diagonal a calibrated system would follow, the gap to the bin's
mean confidence shaded, and a strip below showing how many words fell in each bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docuocr.bench import metrics as m

BINS = 15
SIZE = 300  # plot square, pixels
MARGIN = (56, 40, 20, 96)  # left, top, right, bottom
BAR = (66, 120, 200)
GAP = (235, 120, 100)
GRID = (225, 225, 225)
INK = (40, 40, 40)


@dataclass
class Series:
    title: str
    confidence: Sequence[float]
    correct: Sequence[bool]


def bins(
    confidence: Sequence[float], correct: Sequence[bool], n: int = BINS
) -> list[dict[str, float | int]]:
    """Per equal-width bin (1.0 in the last): words, mean confidence and share right, as
    `metrics.ece` bins them."""
    conf = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    right = np.asarray(correct, dtype=float)
    index = np.minimum((conf * n).astype(int), n - 1)
    out = []
    for b in range(n):
        sel = index == b
        k = int(sel.sum())
        out.append(
            {
                "lo": b / n,
                "hi": (b + 1) / n,
                "words": k,
                "confidence": float(conf[sel].mean()) if k else None,
                "accuracy": float(right[sel].mean()) if k else None,
            }
        )
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def panel(series: Series) -> Image.Image:
    left, top, right, bottom = MARGIN
    img = Image.new("RGB", (left + SIZE + right, top + SIZE + bottom), "white")
    d = ImageDraw.Draw(img)
    small, big = _font(11), _font(13)

    def px(cx: float, cy: float) -> tuple[float, float]:
        return left + cx * SIZE, top + (1 - cy) * SIZE

    for t in np.linspace(0, 1, 6):
        d.line([px(t, 0), px(t, 1)], fill=GRID)
        d.line([px(0, t), px(1, t)], fill=GRID)
        d.text((px(t, 0)[0], top + SIZE + 4), f"{t:.1f}", fill=INK, font=small, anchor="mt")
        d.text((left - 6, px(0, t)[1]), f"{t:.1f}", fill=INK, font=small, anchor="rm")
    stats = bins(series.confidence, series.correct)
    for b in stats:
        if not b["words"]:
            continue
        x0, x1 = px(b["lo"], 0)[0] + 1, px(b["hi"], 0)[0] - 1
        acc, conf = b["accuracy"], b["confidence"]
        d.rectangle([x0, px(0, acc)[1], x1, px(0, 0)[1]], fill=BAR)
        lo, hi = sorted((acc, conf))
        if hi - lo > 0.002:
            d.rectangle([x0, px(0, hi)[1], x1, px(0, lo)[1]], outline=GAP, width=2)
    d.line([px(0, 0), px(1, 1)], fill=INK, width=1)
    d.rectangle([px(0, 1), px(1, 0)], outline=INK)
    # Words per bin, on a log scale, under the axis labels.
    strip_top, strip_h = top + SIZE + 20, 28
    most = max((b["words"] for b in stats), default=0)
    for b in stats:
        if b["words"]:
            h = strip_h * np.log1p(b["words"]) / np.log1p(most)
            x0, x1 = px(b["lo"], 0)[0] + 1, px(b["hi"], 0)[0] - 1
            d.rectangle(
                [x0, strip_top + strip_h - h, x1, strip_top + strip_h], fill=(150, 150, 150)
            )
    d.text((left - 6, strip_top + strip_h / 2), "words", fill=INK, font=small, anchor="rm")
    d.text((left, 6), series.title, fill=INK, font=big)
    auc = m.auroc(series.confidence, series.correct)
    line = (
        f"words {len(series.correct)}   ECE {m.ece(series.confidence, series.correct):.3f}   "
        f"Brier {m.brier(series.confidence, series.correct):.3f}   "
        f"AUROC {'–' if auc is None else f'{auc:.3f}'}"
    )
    d.text((left, strip_top + strip_h + 8), line, fill=INK, font=small)
    d.text((left, 24), "share right (bars) vs confidence (x)", fill=(110, 110, 110), font=small)
    return img


def draw(series: Sequence[Series], path: str | Path, columns: int | None = None) -> Path:
    """Write the panels of `series` as one PNG grid (`columns` wide) and return its path."""
    if not series:
        raise ValueError("nothing to draw")
    panels = [panel(s) for s in series]
    columns = columns or min(len(panels), 3)
    rows = -(-len(panels) // columns)
    w, h = panels[0].size
    sheet = Image.new("RGB", (w * columns, h * rows), "white")
    for i, p in enumerate(panels):
        sheet.paste(p, ((i % columns) * w, (i // columns) * h))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
