"""Split a recognised line into words, each with its own span along the line."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from docuocr.engine.hangul import Piece
from docuocr.engine.recognize import LineRead


@dataclass
class Span:
    text: str
    t0: float  # start and end along the line, 0..1 of its width
    t1: float
    probs: list[float]
    v0: float = 0.0  # top and bottom of the ink, 0..1 of the line's height
    v1: float = 1.0
    centers: list[float] | None = None  # character centres, 0..1 along the line, when known (CTC)
    engine: str = "ppocr"  # which recogniser read it

    @property
    def first(self) -> float | None:
        return self.centers[0] if self.centers else None

    @property
    def last(self) -> float | None:
        return self.centers[-1] if self.centers else None


def word_chars(text: str) -> list[list[int]]:
    """The indices of each whitespace-delimited word's characters in `text`."""
    words: list[list[int]] = [[]]
    for i, ch in enumerate(text):
        if not ch.isspace():
            words[-1].append(i)
        elif words[-1]:
            words.append([])
    return [w for w in words if w]


def ctc_words(read: LineRead, aspect: float) -> list[Span]:
    """Words from CTC character positions. `aspect` is the line's width / height."""
    spans: list[Span] = []
    for chars in word_chars(read.text):
        centers = [read.centers[i] for i in chars]
        # Half a character either side: the mean pitch inside the word, or a square-ish glyph when alone.
        pitch = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else 0.0
        half = max(pitch, 0.45 / max(aspect, 1e-6), read.step) / 2
        text = "".join(read.text[i] for i in chars)
        t0, t1 = max(0.0, centers[0] - half), min(1.0, centers[-1] + half)
        spans.append(Span(text, t0, t1, [read.probs[i] for i in chars], centers=centers))
    # Neighbours never overlap: split any overlap at its middle.
    for a, b in zip(spans, spans[1:], strict=False):
        if a.t1 > b.t0:
            mid = (a.t1 + b.t0) / 2
            a.t1, b.t0 = mid, mid
    return spans


def tesseract_words(pieces: list[Piece]) -> list[Span]:
    """Merge Tesseract's pieces back into the space-delimited words of its line text (our Korean
    model's pieces are whole words already, and pass through)."""
    spans: list[Span] = []
    for p in pieces:
        if spans and not p.space_before:
            last = spans[-1]
            last.text += p.text
            last.t1 = max(last.t1, p.x1)
            last.probs.extend(p.probs or [p.conf])
        else:
            spans.append(Span(p.text, p.x0, p.x1, list(p.probs or [p.conf]), engine=p.engine))
    return spans


def _band(profile: np.ndarray, floor: float) -> tuple[int, int]:
    """The run of rows holding the most ink; bits of the neighbouring lines sit in other runs."""
    best, best_mass, start = (0, len(profile)), -1.0, None
    for r, on in enumerate([*(profile >= floor), False]):
        if on and start is None:
            start = r
        elif not on and start is not None:
            mass = float(profile[start:r].sum())
            if mass > best_mass:
                best, best_mass = (start, r), mass
            start = None
    return best


def _widest_gap(columns: np.ndarray, lo: int, hi: int) -> tuple[int, int] | None:
    """The widest run of empty columns in [lo, hi): where one word ends and the next begins."""
    best, start = None, None
    for c in range(lo, hi + 1):
        empty = c < hi and columns[c] == 0
        if empty and start is None:
            start = c
        elif not empty and start is not None:
            if best is None or c - start > best[1] - best[0]:
                best = (start, c)
            start = None
    return best


def _split_at_spaces(
    span: Span, columns: np.ndarray, w: int, text_h: int, min_gap: float
) -> list[Span]:
    """PP-OCR drops the space between tightly set words; a blank run between two characters that
    is wider than `min_gap` of the text height, and than twice the word's usual letter gap (so
    that narrow letters in monospaced receipt print do not count), is a space all the same."""
    if min_gap <= 0 or not span.centers or len(span.centers) < 2:
        return [span]
    blanks = []
    for i in range(len(span.centers) - 1):
        gap = _widest_gap(columns, int(span.centers[i] * w), int(span.centers[i + 1] * w))
        blanks.append((i + 1, gap, gap[1] - gap[0] if gap else 0))
    usual = float(np.median([b for _, _, b in blanks]))
    cuts = [
        (i, gap)
        for i, gap, b in blanks
        if gap
        and b >= max(min_gap * text_h, 2 * usual)
        and not _joined(span.text[i - 1], span.text[i])
        and not _in_number(span.text, i)
    ]
    if not cuts:
        return [span]
    parts, start, t0 = [], 0, span.t0
    for i, (c0, c1) in [*cuts, (len(span.text), (span.t1 * w, span.t1 * w))]:
        parts.append(
            Span(span.text[start:i], t0, c0 / w, span.probs[start:i], centers=span.centers[start:i])
        )
        start, t0 = i, c1 / w
    return parts


# An underscore lies below the text band, where the blank columns are counted; narrow glyphs stand
# apart by their side bearings alone. (A hyphen is no such sign: receipts set " - " with spaces.)
BELOW_BAND = "_"
NARROW = "il1I|!'"


def _joined(left: str, right: str) -> bool:
    """A blank between these two characters is no sign of a space: an underscore on either side
    ("document_name"), or two narrow glyphs ("Waybill", "2024-06-11")."""
    return left in BELOW_BAND or right in BELOW_BAND or (left in NARROW and right in NARROW)


def _in_number(text: str, i: int) -> bool:
    """A cut before text[i] would break a number at its separator ("4.13", "1,250", "12:30"):
    receipt print sets the point in a full-width cell, so the blank beside it looks like a space."""
    seps = ".,:"
    left, right = text[i - 1], text[i]
    if left in seps:
        return i >= 2 and text[i - 2].isdigit() and right.isdigit()
    return right in seps and left.isdigit() and i + 1 < len(text) and text[i + 1].isdigit()


def tighten(
    spans: list[Span], line: np.ndarray, margin: float = 0.12, min_gap: float = 0.5
) -> list[Span]:
    """Fit each span to the ink it holds. Detector boxes are padded (DB's unclip) and CTC positions
    are a few pixels off, but a word box should hug the word, with a small even margin: that is
    what users draw and what box-matching benchmarks expect."""
    gray = cv2.cvtColor(line, cv2.COLOR_RGB2GRAY) if line.ndim == 3 else line
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if ink.mean() > 0.6:  # mostly "ink": light text on dark, or no contrast; leave as is
        return spans
    h, w = ink.shape
    top, bottom = _band(ink.sum(axis=1).astype(float), max(1.0, 0.01 * w))
    if bottom - top < 3:
        return spans
    columns = ink[top:bottom].sum(axis=0)
    spans = [part for s in spans for part in _split_at_spaces(s, columns, w, bottom - top, min_gap)]
    # Word boundaries go to the blank columns between the neighbours' outer characters.
    for a, b in zip(spans, spans[1:], strict=False):
        if a.last is not None and b.first is not None:
            gap = _widest_gap(columns, int(a.last * w), int(b.first * w))
            if gap:
                a.t1, b.t0 = gap[0] / w, gap[1] / w
    pad = margin * (bottom - top)
    for s in spans:
        c0 = int(s.t0 * w)
        c1 = max(c0 + 1, int(np.ceil(s.t1 * w)))
        part = ink[top:bottom, c0:c1]
        rows = np.flatnonzero(part.sum(axis=1) >= 1)
        cols = np.flatnonzero(part.sum(axis=0) >= 1)
        if len(rows) < 2 or len(cols) < 1:
            continue
        s.v0, s.v1 = max(0.0, top + rows[0] - pad) / h, min(h, top + rows[-1] + 1 + pad) / h
        s.t0, s.t1 = max(0.0, c0 + cols[0] - pad) / w, min(w, c0 + cols[-1] + 1 + pad) / w
    return spans
