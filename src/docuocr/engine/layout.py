"""Reading order: group text boxes into visual rows, top to bottom, each left to right."""

from __future__ import annotations

import numpy as np


def rows(quads: list[np.ndarray], angle: float) -> list[list[int]]:
    """Indices of `quads` grouped into rows, in reading order.

    Works in a frame turned by the page's dominant text `angle`, so a skewed photo still groups right.
    """
    if not quads:
        return []
    a = np.radians(angle)
    d = np.array([np.cos(a), np.sin(a)])
    n = np.array([-d[1], d[0]])
    spans = []
    for i, q in enumerate(quads):
        across = q @ n
        alongs = q @ d
        spans.append((float(across.min()), float(across.max()), float(alongs.min()), i))
    spans.sort(key=lambda s: (s[0] + s[1]) / 2)
    groups: list[list[tuple[float, float, float, int]]] = []
    for s in spans:
        top, bottom = s[0], s[1]
        placed = False
        for g in reversed(groups[-4:]):
            g_top = float(np.median([x[0] for x in g]))
            g_bottom = float(np.median([x[1] for x in g]))
            overlap = min(bottom, g_bottom) - max(top, g_top)
            if overlap > 0.5 * min(bottom - top, g_bottom - g_top):
                g.append(s)
                placed = True
                break
        if not placed:
            groups.append([s])
    groups.sort(key=lambda g: float(np.median([(x[0] + x[1]) / 2 for x in g])))
    return [[x[3] for x in sorted(g, key=lambda x: x[2])] for g in groups]
