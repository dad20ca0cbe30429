"""The one document model every stage speaks: Document → Page → Line → Word.

The engine builds it, the formats read it. Coordinates are in the page image's pixels, and each quad
starts at the word's natural top-left corner and runs clockwise (TL, TR, BR, BL), whatever the
page's rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from statistics import fmean

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass
class Word:
    text: str
    quad: Quad
    confidence: float
    # Raw signals kept for calibration and debugging (char probabilities, detection score, ...).
    signals: dict[str, float] = field(default_factory=dict)
    engine: str = ""  # which recogniser read it: "ppocr" or "tesseract"
    script: str = ""  # dominant script: "latin", "hangul", "han", "kana", "other"


@dataclass
class Line:
    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Page:
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    rotation: int = 0  # clockwise degrees the page was turned by to read it upright

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def text(self) -> str:
        # Upstage joins words with " " and lines with " \n".
        return " \n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        words = self.words
        return fmean(w.confidence for w in words) if words else 0.0

    def scaled_to(self, width: int, height: int) -> Page:
        """This page as read from an image of width x height pixels instead (a page read shrunk)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        lines = [
            Line([replace(w, quad=tuple((x * sx, y * sy) for x, y in w.quad)) for w in line.words])
            for line in self.lines
        ]
        return replace(self, width=width, height=height, lines=lines)


@dataclass
class Document:
    pages: list[Page]
    model: str = "ocr-2.2.1"
    # Pages in the input file, before the page limit cut it down.
    total_pages: int = 0

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pages)

    @property
    def confidence(self) -> float:
        return min((p.confidence for p in self.pages), default=0.0)
