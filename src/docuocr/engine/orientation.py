"""Page orientation (0/90/180/270): box shapes say whether text runs across or down the page, and the
PP-OCR line classifier votes on upside-down."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from docuocr.engine.geometry import along, crop, quad_size, rotate_image
from docuocr.engine.hangul import TesseractLines, suspect
from docuocr.engine.onnx import Model
from docuocr.engine.recognize import LineRead, Recognizer
from docuocr.engine.scan import Scan

# The Korean model's mean character probability, one way up or the other, that says the lines are
# Hangul at all (on Japanese it reads garbage at 0.4-0.5 both ways).
KOREAN_SURE = 0.6
# How much surer PP-OCR must be of the lines turned over before the page is: turning a page on a
# coin toss costs all of it, and upright is by far the common case. Blurred, tilted photos of
# Korean pages read about as badly either way up (0.54 against 0.46); a page really turned over
# reads far better turned (a Japanese page: 0.99 against 0.61).
FLIP_MARGIN = 0.1


class Classifier:
    """The 0/180 line classifier that ships with rapidocr."""

    def __init__(self, cfg: dict[str, Any], runtime: dict[str, Any]) -> None:
        self.cfg = cfg
        self.model = Model(cfg["model"], runtime)

    def __call__(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probability that each crop is turned 180 degrees. Reliable on Latin and Han, not on Hangul."""
        if not crops:
            return np.zeros(0)
        batch = np.zeros((len(crops), 3, 48, 192), dtype=np.float32)
        for i, c in enumerate(crops):
            rw = min(192, max(1, int(np.ceil(48 * c.shape[1] / max(c.shape[0], 1)))))
            img = cv2.resize(c, (rw, 48)).astype(np.float32)
            batch[i, :, :, :rw] = ((img / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        probs = self.model(batch)
        return probs[:, 1]


def is_sideways(quads: list[np.ndarray], tall_share: float) -> bool:
    """True when most text area sits in boxes taller than wide: the page is turned 90 or 270."""
    tall = wide = 0.0
    for q in quads:
        xs, ys = q[:, 0], q[:, 1]
        w, h = float(xs.max() - xs.min()), float(ys.max() - ys.min())
        if h > 1.5 * w:
            tall += w * h
        elif w > 1.5 * h:
            wide += w * h
    return tall + wide > 0 and tall / (tall + wide) >= tall_share


def vote_crops(image: np.ndarray, quads: list[np.ndarray]) -> list[np.ndarray]:
    """The first few characters of each line: enough to vote on, cheap to classify."""
    out = []
    for q in quads:
        w, h = quad_size(q)
        out.append(crop(image, along(q, 0.0, min(1.0, 10 * h / max(w, 1.0)))))
    return out


class UpsideDown:
    """The stage that votes on 180 degrees, once the page's lines are read (`Scan.turn_over`
    then turns it, and they are read again)."""

    def __init__(
        self,
        cfg: dict[str, Any],
        classifier: Classifier,
        recognizer: Recognizer,
        korean: Recognizer | None,
        tesseract: TesseractLines,
    ) -> None:
        self.sample_lines = int(cfg["sample_lines"])
        self.classifier = classifier
        self.recognize = recognizer
        self.korean = korean
        self.tesseract = tesseract

    def models(self) -> list[Model]:
        return [self.classifier.model]

    def __call__(self, scan: Scan) -> bool:
        """Vote on 180 degrees over the longest lines: the line classifier where PP-OCR could read the
        line (Latin, Han), Tesseract's confidence both ways where it could not (Hangul, on which the
        classifier is wrong). Reuses the page's recognition, so the common upright page pays only
        for the classifier."""
        image = scan.upright
        quads = [line.quad for line in scan.lines]
        reads = [line.read for line in scan.lines]
        ranked = sorted(range(len(quads)), key=lambda i: -quad_size(quads[i])[0])
        sample = [i for i in ranked if quad_size(quads[i])[1] >= 6][: self.sample_lines]
        if not sample:
            return False
        heads = vote_crops(image, [quads[i] for i in sample])
        flipped = self.classifier(heads)
        votes, others = [], []
        for i, p in zip(sample, flipped, strict=True):
            w, h = quad_size(quads[i])
            if suspect(reads[i].text, reads[i].probs, w, h):
                others.append(i)
            else:
                votes.append(float(p))
        if len(votes) >= len(others) and float(np.mean(votes)) <= 0.5:
            return False
        # Either the classifier says turned over (it errs on short samples), or PP-OCR could not
        # read most lines (upside-down Latin, or Hangul): read the lines turned over. Upside-down
        # Latin reads plainly once turned; Hangul does not, and Tesseract decides for it.
        turned = self.recognize([rotate_image(crop(image, quads[i]), 180) for i in sample])
        readable = sum(
            not suspect(r.text, r.probs, *quad_size(quads[i]))
            for i, r in zip(sample, turned, strict=True)
        )
        if len(votes) >= len(others) or readable > len(sample) // 2:
            return _mean_prob(turned) > _mean_prob([reads[i] for i in sample]) + FLIP_MARGIN
        heads_of = dict(zip(sample, heads, strict=True))
        lines = [heads_of[i] for i in others[:4]]
        if self.korean is not None:
            # Our Korean model is far surer of upright Hangul than Tesseract's confidence is: on
            # one-line pages Tesseract's vote turned 7 of 400 degraded lines over.
            up = _mean_prob(self.korean(lines))
            down = _mean_prob(self.korean([rotate_image(c, 180) for c in lines]))
            if max(up, down) >= KOREAN_SURE:
                return down > up
            # Not Hangul either way up: Japanese or Chinese, which PP-OCR reads (as "odd" text).
            # The Korean model's guesses are a coin toss there (0.469 against 0.470 on a page of
            # Japanese that PP-OCR read at 0.99 upright and 0.61 turned over).
            return _mean_prob(turned) > _mean_prob([reads[i] for i in sample]) + FLIP_MARGIN
        up = sum(self.tesseract.confidence(c) for c in lines)
        down = sum(self.tesseract.confidence(rotate_image(c, 180)) for c in lines)
        return down > up


def _mean_prob(reads: list[LineRead]) -> float:
    probs = [p for r in reads for p in r.probs]
    return float(np.mean(probs)) if probs else 0.0
