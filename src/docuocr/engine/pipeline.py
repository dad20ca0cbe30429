"""The engine: detection → orientation → recognition (PP-OCRv6; our Korean model or Tesseract for
Hangul) → words → rows, as stages handed to it (`default_stages` builds the usual set)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from docuocr.calibration import Calibrator
from docuocr.document import Page
from docuocr.engine.config import load_config
from docuocr.engine.detect import Detector
from docuocr.engine.hangul import TesseractLines
from docuocr.engine.hangul_route import HangulRoute, korean_recognizer
from docuocr.engine.lexicon import Lexicon
from docuocr.engine.orientation import Classifier, UpsideDown
from docuocr.engine.recognize import Recognizer
from docuocr.engine.scan import Scan
from docuocr.engine.stages import (
    Checkboxes,
    DropWatermarks,
    FindLines,
    PpocrWords,
    ReadLines,
    Words,
    layout,
)


@dataclass
class Stages:
    """An Engine's parts, in the order a page goes through them. Each is called with the page's
    `Scan` and fills in its part of its `TextLine`s; `find` makes the Scan from the image,
    `upside_down` only answers, `layout` makes the Page and the calibrator sets its confidences."""

    find: FindLines  # detection: the lines; a sideways page turned; small print
    watermarks: DropWatermarks  # watermark lines dropped; the text's angle
    recognize: ReadLines  # each line's crop, read by PP-OCR
    upside_down: UpsideDown  # is the page turned over? (then it is turned, and read again)
    ppocr_words: PpocrWords  # PP-OCR's words, the word list choosing between close readings
    hangul: HangulRoute  # Hangul lines, and Hangul in PP-OCR's holes, read again
    checkboxes: Checkboxes  # checkboxes, as lines of one word
    words: Words  # words fitted to their ink, in the page's pixels
    layout: Callable[[Scan], Page]  # rows in reading order: the Page
    calibrator: Calibrator  # word confidences from their raw signals


class Engine:
    """Load once per process (the runtime builds it from `default_stages`); `read` is then
    called for every page."""

    def __init__(self, stages: Stages) -> None:
        self.stages = stages

    def read(self, image: np.ndarray) -> Page:
        """Read an RGB uint8 page image into a Page whose boxes are in this image's pixels."""
        s = self.stages
        scan = s.find(image)
        s.watermarks(scan)
        if not scan.lines:
            return Page(width=scan.width, height=scan.height, rotation=scan.turn)
        s.recognize(scan)
        if s.upside_down(scan):
            scan.turn_over()  # rare: the page and its boxes turned over, and read again
            s.recognize(scan)
        s.ppocr_words(scan)
        s.hangul(scan)
        s.checkboxes(scan)
        s.words(scan)
        return s.calibrator.apply_page(s.layout(scan))

    @property
    def recognize(self) -> Recognizer:
        """PP-OCR's recogniser, which the CLI's threads lend each other (`recognize.Spares`)."""
        return self.stages.recognize.recognizer

    def release_memory(self) -> None:
        """Let the models go of buffers sized for the largest page so far (OpenVINO keeps them):
        the next page compiles them afresh from the cache, in about 0.1 s each."""
        s = self.stages
        for model in [
            *s.find.models(),
            *s.recognize.models(),
            *s.upside_down.models(),
            *s.hangul.models(),
        ]:
            model.release()


def default_stages(
    overrides: dict[str, dict[str, Any]] | None = None, calibrator: Calibrator | None = None
) -> Stages:
    """The usual stages, from the engine's settings (defaults.yaml, then `overrides`), and the
    calibrator given, else the file the settings name (calibration.file), else the shipped fit.
    The models load here: slow, so once per process."""
    cfg = load_config(overrides)
    runtime = cfg["runtime"]
    detector = Detector(cfg["detection"], runtime)
    recognizer = Recognizer(cfg["recognition"], runtime)  # shared: lines, votes, Latin in Hangul
    classifier = Classifier(cfg["orientation"], runtime)
    tesseract = TesseractLines(cfg["hangul"])
    korean = korean_recognizer(cfg["hangul"], cfg["recognition"], runtime)
    return Stages(
        find=FindLines(detector, cfg["orientation"], cfg["small_print"]),
        watermarks=DropWatermarks(cfg["watermark"]),
        recognize=ReadLines(recognizer),
        upside_down=UpsideDown(cfg["orientation"], classifier, recognizer, korean, tesseract),
        ppocr_words=PpocrWords(Lexicon(cfg["lexicon"])),
        hangul=HangulRoute(cfg["hangul"], recognizer, korean, tesseract),
        checkboxes=Checkboxes(cfg["checkbox"]),
        words=Words(cfg["words"]),
        layout=layout,
        calibrator=calibrator or Calibrator.load(cfg["calibration"]["file"] or None),
    )
