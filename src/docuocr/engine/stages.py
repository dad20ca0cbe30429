"""The engine's small stages. Each is called with the page's `Scan` and fills in its part of the
page's `TextLine`s (`FindLines` makes the Scan); the models they run are handed to them. The
Hangul route (`hangul_route.py`) and the vote on 180 degrees (`orientation.UpsideDown`) are
stages too, in modules of their own."""

from __future__ import annotations

from typing import Any

import numpy as np

from docuocr.document import Line, Page, Word
from docuocr.engine import checkbox
from docuocr.engine.detect import Detector
from docuocr.engine.geometry import (
    along,
    crop,
    quad_angle,
    quad_size,
    rotate_image,
    unrotate_points,
)
from docuocr.engine.hangul import script_of
from docuocr.engine.layout import blocks, rows
from docuocr.engine.lexicon import Lexicon
from docuocr.engine.onnx import Model
from docuocr.engine.orientation import is_sideways
from docuocr.engine.recognize import Recognizer
from docuocr.engine.scan import CHECKBOX, Scan, TextLine
from docuocr.engine.watermark import contrast, is_watermark
from docuocr.engine.words import Span, ctc_words, tighten


class FindLines:
    """Detection: the page's lines. A page whose text runs down it is turned a quarter and
    detected again; then the small print the first pass missed is looked for, enlarged."""

    def __init__(
        self, detector: Detector, orientation: dict[str, Any], small_print: dict[str, Any]
    ) -> None:
        self.detect = detector
        self.tall_share = orientation["tall_share"]
        self.small_print = small_print

    def models(self) -> list[Model]:
        return [self.detect.model, self.detect.sheet_model]

    def __call__(self, image: np.ndarray) -> Scan:
        turn, upright = 0, image
        quads, scores = self.detect(image)
        if is_sideways(quads, self.tall_share):
            turn, upright = 90, rotate_image(image, 90)
            quads, scores = self.detect(upright)
        if self.small_print["enabled"]:
            more, more_scores = self.detect.small_print(upright, quads, self.small_print)
            quads, scores = quads + more, scores + more_scores
        lines = [TextLine(q, s) for q, s in zip(quads, scores, strict=True)]
        return Scan(image, upright, turn, lines=lines)


class DropWatermarks:
    """Lines that are watermarks are not content; the page's text angle is taken here, over all
    its long lines."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg

    def __call__(self, scan: Scan) -> None:
        if not scan.lines:
            return
        sizes = [quad_size(line.quad) for line in scan.lines]
        angles = [quad_angle(line.quad) for line in scan.lines]
        long_lines = [a for a, (w, h) in zip(angles, sizes, strict=True) if w > 2 * h]
        scan.angle = float(np.median(long_lines)) if long_lines else 0.0
        median_h = float(np.median([h for _, h in sizes]))
        scan.lines = [
            line
            for line, (_, h), angle in zip(scan.lines, sizes, angles, strict=True)
            if not is_watermark(
                contrast(crop(scan.upright, line.quad, 0)),
                h,
                angle,
                median_h,
                scan.angle,
                self.cfg,
            )
        ]


class ReadLines:
    """Recognition: each line cut out of the upright page and read by PP-OCR, all the page's
    crops in one call (the recogniser orders and shares them out itself)."""

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer

    def models(self) -> list[Model]:
        return [self.recognizer.model]

    def __call__(self, scan: Scan) -> None:
        crops = [crop(scan.upright, line.quad) for line in scan.lines]
        for line, c, read in zip(scan.lines, crops, self.recognizer(crops), strict=True):
            line.crop, line.read = c, read


class PpocrWords:
    """PP-OCR's words of each line, from its character positions, once the word list has chosen
    between the recogniser's close readings."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def __call__(self, scan: Scan) -> None:
        for line in scan.lines:
            h, w = line.crop.shape[:2]
            line.spans = ctc_words(self.lexicon(line.read), w / max(h, 1))


class Checkboxes:
    """Checkboxes, which Upstage reports as words: each a line of one word, its mark."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg

    def __call__(self, scan: Scan) -> None:
        found = checkbox.find(scan.upright, [line.quad for line in scan.lines], self.cfg)
        for q, mark, score in found:
            span = Span(mark, 0.0, 1.0, [score], engine="checkbox")
            scan.lines.append(TextLine(q, score, spans=[span], route=CHECKBOX))


class Words:
    """Each line's spans as Words in the given image's pixels, boxes fitted to their ink."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg

    def __call__(self, scan: Scan) -> None:
        for line in scan.lines:
            if line.route != CHECKBOX and self.cfg["tight_boxes"]:
                line.spans = tighten(line.spans, line.crop, min_gap=self.cfg["split_gap"])
            line.words = [word(span, line, scan) for span in line.spans]


def word(span: Span, line: TextLine, scan: Scan) -> Word:
    """One span of a line as a Word, its box in the pixels of the image as given."""
    q = along(line.quad, span.t0, span.t1, span.v0, span.v1)
    if scan.turn:
        # Upright pixels back to the original image; corner order (natural TL first) is kept.
        q = unrotate_points(q, scan.turn, scan.width, scan.height)
    q = np.clip(q, 0, [scan.width, scan.height])
    probs = span.probs or [0.0]
    mean_p = float(np.mean(probs))
    return Word(
        text=span.text,
        quad=tuple((float(x), float(y)) for x, y in q),
        confidence=mean_p,
        signals={
            "char_min": float(np.min(probs)),
            "char_mean": mean_p,
            "char_prod": float(np.prod(probs)),
            "det_score": line.score,
            "length": float(len(span.text)),
        },
        engine=span.engine,
        script=script_of(span.text),
    )


def layout(scan: Scan) -> Page:
    """The Page: the lines' words grouped into rows in reading order (`layout.rows`)."""
    lines = []
    for row in rows([line.quad for line in scan.lines], scan.angle):
        words = [w for i in row for w in scan.lines[i].words]
        if words:
            lines.append(Line(words))
    return Page(width=scan.width, height=scan.height, blocks=blocks(lines), rotation=scan.turn)
