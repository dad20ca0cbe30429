"""What the engine's stages hand each other: a page on its way (`Scan`) and each of its lines
(`TextLine`), which every stage fills in a little further. One record per line, so no stage has
to keep lists of boxes, scores, crops and readings in step."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from docuocr.document import Word
from docuocr.engine.geometry import order_quad, rotate_image, unrotate_points
from docuocr.engine.recognize import LineRead
from docuocr.engine.words import Span

# Who read a line's words (`TextLine.route`).
PPOCR = "ppocr"  # PP-OCR alone
HANGUL = "hangul"  # the Hangul route read the whole line again
HOLES = "holes"  # PP-OCR, with Hangul the Hangul route found in the holes PP-OCR left
CHECKBOX = "checkbox"  # not text: a checkbox, whose one word is its mark

NO_CROP = np.zeros((0, 0, 3), np.uint8)  # a line not cut out (yet, or ever: a checkbox)


@dataclass
class TextLine:
    """One line of the page, in the order its stages fill it in."""

    quad: np.ndarray  # detection: TL, TR, BR, BL in the upright page's pixels
    score: float  # detection: the detector's score (a checkbox's: its squareness)
    crop: np.ndarray = field(default_factory=lambda: NO_CROP)  # recognition: cut from the page
    read: LineRead = field(default_factory=lambda: LineRead(""))  # recognition: PP-OCR's reading
    spans: list[Span] = field(default_factory=list)  # its words along the line
    route: str = PPOCR  # who read them
    words: list[Word] = field(default_factory=list)  # the spans as words, in the page's pixels


@dataclass
class Scan:
    """A page on its way through the stages: the image as given, the same page turned so that its
    text reads upright, and its lines."""

    image: np.ndarray  # RGB, as given: the words' boxes end up in its pixels
    upright: np.ndarray  # `image` turned by `turn` degrees
    turn: int = 0
    angle: float = 0.0  # the text's angle on the upright page (watermarks and rows use it)
    lines: list[TextLine] = field(default_factory=list)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def turn_over(self) -> None:
        """Turn the upright page and its lines' boxes 180 degrees (their readings go stale)."""
        h, w = self.upright.shape[:2]
        for line in self.lines:
            line.quad = order_quad(unrotate_points(line.quad, 180, w, h))
        self.upright = rotate_image(self.upright, 180)
        self.turn = (self.turn + 180) % 360
