"""Reading order and blocks: group text boxes into visual rows, top to bottom, each left to right,
then consecutive rows into blocks (paragraphs), which the Page keeps and the formats read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from docuocr.document import Block, Line, Point, direction


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


@dataclass
class _Span:
    """A line's extent in its own frame: along (u) and across (n) the reading direction."""

    u0: float
    u1: float
    n0: float
    n1: float


def _span(line: Line, frame: Point) -> _Span:
    ux, uy = frame
    nx, ny = -uy, ux
    points = [p for w in line.words for p in w.quad]
    us = [x * ux + y * uy for x, y in points]
    ns = [x * nx + y * ny for x, y in points]
    return _Span(min(us), max(us), min(ns), max(ns))


def same_paragraph(above: Line, below: Line) -> bool:
    """Whether `below` continues `above`'s paragraph.

    It must sit under it (centre at least half a line lower, gap under 3/4 of a line), overlap it
    along the line, and have a similar height (a heading beside body text starts a new paragraph).
    Measured in `above`'s own frame, so rotated pages group the same way.
    """
    frame = direction([w.quad for w in above.words])
    a, b = _span(above, frame), _span(below, frame)
    ha, hb = a.n1 - a.n0, b.n1 - b.n0
    if min(ha, hb) <= 0 or max(ha, hb) > 1.5 * min(ha, hb):
        return False
    h = (ha + hb) / 2
    lower = (b.n0 + b.n1) / 2 - (a.n0 + a.n1) / 2 >= 0.5 * h
    close = b.n0 - a.n1 <= 0.75 * h
    overlap = min(a.u1, b.u1) - max(a.u0, b.u0) > 0
    return lower and close and overlap


def blocks(lines: list[Line]) -> list[Block]:
    """Group consecutive lines into blocks with `same_paragraph`, every line in exactly one.

    Only words with a visible character take part: a word whose text is empty or whitespace has no
    ink to place, so a line of only such words stays in the block it comes in.
    """
    groups: list[list[Line]] = []
    last: Line | None = None  # the current block's last line that has visible words, those only
    for line in lines:
        seen = Line([w for w in line.words if w.text.strip()])
        if groups and (not seen.words or last is None or same_paragraph(last, seen)):
            groups[-1].append(line)
        else:
            groups.append([line])
        if seen.words:
            last = seen
    return [Block(group) for group in groups]
