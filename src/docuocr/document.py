"""The one document model every stage speaks: Document → Page → Block → Line → Word.

The engine builds it (its layout step groups a page's lines into blocks), the formats read it.
Coordinates are in the page image's pixels, and each quad starts at the word's natural top-left
corner and runs clockwise (TL, TR, BR, BL), whatever the page's rotation.
"""

from __future__ import annotations

import math
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
class Block:
    """Consecutive lines that read as one paragraph (engine/layout.py decides which)."""

    lines: list[Line]

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]


@dataclass
class Page:
    width: int
    height: int
    blocks: list[Block] = field(default_factory=list)
    rotation: int = 0  # clockwise degrees the page was turned by to read it upright

    @property
    def lines(self) -> list[Line]:
        """The page's lines in reading order, block after block."""
        return [line for block in self.blocks for line in block.lines]

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def confidence(self) -> float:
        words = self.words
        return fmean(w.confidence for w in words) if words else 0.0

    def scaled_to(self, width: int, height: int) -> Page:
        """This page as read from an image of width x height pixels instead (a page read shrunk)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height

        def scaled(line: Line) -> Line:
            return Line(
                [replace(w, quad=tuple((x * sx, y * sy) for x, y in w.quad)) for w in line.words]
            )

        blocks = [Block([scaled(line) for line in block.lines]) for block in self.blocks]
        return replace(self, width=width, height=height, blocks=blocks)


@dataclass
class Document:
    pages: list[Page]
    model: str = "ocr-2.2.1"
    # Pages in the input file, before the page limit cut it down.
    total_pages: int = 0

    @property
    def confidence(self) -> float:
        return min((p.confidence for p in self.pages), default=0.0)


def direction(quads: list[Quad]) -> Point:
    """Unit reading direction of a group of words: the mean of their top and bottom edges."""
    ux = sum(q[1][0] - q[0][0] + q[2][0] - q[3][0] for q in quads)
    uy = sum(q[1][1] - q[0][1] + q[2][1] - q[3][1] for q in quads)
    norm = math.hypot(ux, uy)
    return (ux / norm, uy / norm) if norm else (1.0, 0.0)
