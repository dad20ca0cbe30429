"""Split a recognised line into words, each with its own span along the line."""

from __future__ import annotations

from dataclasses import dataclass

from docuocr.engine.hangul import Piece
from docuocr.engine.recognize import LineRead


@dataclass
class Span:
    text: str
    t0: float  # start and end along the line, 0..1 of its width
    t1: float
    probs: list[float]


def ctc_words(read: LineRead, aspect: float) -> list[Span]:
    """Words from CTC character positions. `aspect` is the line's width / height."""
    spans: list[Span] = []
    chars: list[int] = []

    def flush() -> None:
        if not chars:
            return
        centers = [read.centers[i] for i in chars]
        # Half a character either side: the mean pitch inside the word, or a square-ish glyph when alone.
        pitch = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else 0.0
        half = max(pitch, 0.45 / max(aspect, 1e-6), read.step) / 2
        text = "".join(read.text[i] for i in chars)
        t0, t1 = max(0.0, centers[0] - half), min(1.0, centers[-1] + half)
        spans.append(Span(text, t0, t1, [read.probs[i] for i in chars]))
        chars.clear()

    for i, ch in enumerate(read.text):
        if ch.isspace():
            flush()
        else:
            chars.append(i)
    flush()
    # Neighbours never overlap: split any overlap at its middle.
    for a, b in zip(spans, spans[1:], strict=False):
        if a.t1 > b.t0:
            mid = (a.t1 + b.t0) / 2
            a.t1, b.t0 = mid, mid
    return spans


def tesseract_words(pieces: list[Piece]) -> list[Span]:
    """Merge Tesseract's pieces back into the space-delimited words of its line text."""
    spans: list[Span] = []
    for p in pieces:
        if spans and not p.space_before:
            last = spans[-1]
            last.text += p.text
            last.t1 = max(last.t1, p.x1)
            last.probs.append(p.conf)
        else:
            spans.append(Span(p.text, p.x0, p.x1, [p.conf]))
    return spans
