"""The Hangul route: PP-OCRv6 has no Hangul and reads it as confident look-alikes, so the lines it
could not really read are read again by our Korean line model (or Tesseract), whose reading
replaces PP-OCR's where it is Korean."""

from __future__ import annotations

from typing import Any

import numpy as np

from docuocr.engine.geometry import along, crop, grow, quad_size
from docuocr.engine.hangul import (
    SYLLABLE,
    Piece,
    TesseractLines,
    gaps,
    is_hangul,
    mean_conf,
    odd,
    suspect,
    too_short,
)
from docuocr.engine.onnx import Model
from docuocr.engine.recognize import Recognizer
from docuocr.engine.scan import HANGUL, HOLES, Scan
from docuocr.engine.words import Span, ctc_words, tesseract_words, word_chars


class HangulRoute:
    """The stage after PP-OCR's words: Hangul lines, and Hangul in the holes of PP-OCR's lines,
    read by our Korean model (or Tesseract, with `hangul.recognizer` ""). PP-OCR's recogniser
    reads the Latin inside the Korean lines again."""

    def __init__(
        self,
        cfg: dict[str, Any],
        recognizer: Recognizer,
        korean: Recognizer | None,
        tesseract: TesseractLines,
    ) -> None:
        self.cfg = cfg
        self.recognize = recognizer
        self.korean = korean
        self.tesseract = tesseract

    def models(self) -> list[Model]:
        return [self.korean.model] if self.korean else []

    def __call__(self, scan: Scan) -> None:
        """Each line's words, from PP-OCR unless the Korean reader reads Hangul there.

        First, lines PP-OCR plainly could not read (non-Latin look-alikes, far too few characters)
        go to the Korean reader. Only on a page where that found Korean do Latin-looking lines
        PP-OCR was unsure of, and holes it left in lines (Hangul beside digits), go too:
        Tesseract's kor model reads blurred Latin, rules and dashes as Hangul, so an English page
        skips them.
        """
        upright, lines = scan.upright, scan.lines
        unsure, holes = [], []
        korean = 0
        # Our model reads the Latin and digits beside Hangul as they are ("포스 ID : 11"), so
        # its readings need fewer syllables than Tesseract's to count as Korean.
        share = self.cfg["model_share" if self.korean else "tesseract_share"]
        for line in lines:
            h, w = line.crop.shape[:2]
            if not suspect(line.read.text, line.read.probs, w, h):
                holes.append(line)
            elif not odd(line.read.text) and not too_short(line.read.text, w, h):
                unsure.append(line)
            else:
                pieces = self.read_hangul(upright, line.quad)
                # Below min_conf, a barcode or rule read as Hangul.
                if is_hangul(pieces, share, min_conf=0.4):
                    line.spans = self.latin_words(upright, line.quad, tesseract_words(pieces))
                    line.route = HANGUL
                    korean += mean_conf(pieces) >= 0.6
        if not korean:
            return
        for line in unsure:
            pieces = self.read_hangul(upright, line.quad)
            if is_hangul(pieces, min_conf=0.6):
                line.spans = self.latin_words(upright, line.quad, tesseract_words(pieces))
                line.route = HANGUL
        for line in holes:
            h, w = line.crop.shape[:2]
            for a, b in gaps(line.read.centers, line.read.step, w / max(h, 1)):
                pieces = self.read_hangul(upright, along(line.quad, a, b))
                # An unsure symbol beside the Hangul (a blurred '#' read as 't') is not content,
                # and must not sink the hole's reading with it.
                pieces = [p for p in pieces if SYLLABLE.search(p.text) or p.conf >= 0.5]
                if is_hangul(pieces, 0.5, 0.7):
                    for s in tesseract_words(pieces):
                        s.t0, s.t1 = a + s.t0 * (b - a), a + s.t1 * (b - a)
                        line.spans.append(s)
                        line.route = HOLES
            line.spans.sort(key=lambda s: s.t0)

    def latin_words(self, upright: np.ndarray, quad: np.ndarray, spans: list[Span]) -> list[Span]:
        """Words without a Hangul syllable in a line Tesseract read, read again by PP-OCR.

        Tesseract's kor model garbles Latin words and codes inside Korean lines ("OCR" as "068",
        "LA" as "ㄴ&"), which PP-OCR reads well; its reading wins when it is confident plain Latin.
        """
        targets = [
            s for s in spans if not SYLLABLE.search(s.text) and any(c.isalnum() for c in s.text)
        ]
        if not targets:
            return spans
        w, h = quad_size(quad)
        pad = 0.3 * h / max(w, 1.0)
        crops = [
            crop(upright, along(quad, max(0.0, s.t0 - pad), min(1.0, s.t1 + pad))) for s in targets
        ]
        for s, r in zip(targets, self.recognize(crops), strict=True):
            text = r.text.strip()
            if text and " " not in text and not odd(text) and min(r.probs) >= 0.8:
                s.text, s.probs, s.engine = text, r.probs, "ppocr"
        return spans

    def read_hangul(self, upright: np.ndarray, quad: np.ndarray) -> list[Piece]:
        """A Hangul line, by our model or Tesseract. A crop taller than the detector's box runs
        into neighbouring lines on dense photos, which derails the reader, so it reads the box
        first (`grow` 1.0; 0.9 of the looser boxes of unclip 1.6 did as well); on a poor reading,
        it reads a taller one (tall syllables clipped) and keeps the more confident reading."""
        cfg = self.cfg
        read = self.tesseract if self.korean is None else self._read_korean
        pieces = read(crop(upright, grow(quad, cfg["grow"])))
        conf = mean_conf(pieces)
        if conf < cfg["retry_below"]:
            taller = read(crop(upright, grow(quad, cfg["retry_grow"])))
            if mean_conf(taller) > conf:
                pieces = taller
        return pieces

    def _read_korean(self, line: np.ndarray) -> list[Piece]:
        """Our own Korean line model, as Tesseract-like pieces: one per word, with its CTC
        character probabilities (mean probability as the piece's confidence).

        A word with a character the model was unsure of is, on the fixtures, wrong four times in
        five; Tesseract then reads the line too (if the model found Hangul in it at all), and its
        confident Hangul word in the same place takes the unsure one's place."""
        assert self.korean is not None
        (read,) = self.korean([line])
        h, w = line.shape[:2]
        pieces = [
            Piece(s.text, s.t0, s.t1, float(np.mean(s.probs)), engine="korean", probs=s.probs)
            for s in ctc_words(read, w / max(h, 1))
        ]
        below, accept = self.cfg["fallback_below"], self.cfg["fallback_accept"]
        unsure = [i for i, p in enumerate(pieces) if min(p.probs, default=0.0) < below]
        if not unsure or not SYLLABLE.search(read.text):
            # A line the model reads without one syllable is not Korean (rules, blurred Latin on
            # English forms): Tesseract's check would cost 0.1 s a line there and change nothing.
            return pieces
        others = tesseract_words(self.tesseract(line))
        alts = [[read.alts[c] for c in word] for word in word_chars(read.text)]
        for i in unsure:
            p = pieces[i]
            near = [s for s in others if _overlap(p.x0, p.x1, s.t0, s.t1) >= 0.5]
            if len(near) != 1 or not SYLLABLE.search(near[0].text):
                continue
            s = near[0]
            if np.mean(s.probs) >= accept:
                pieces[i] = Piece(
                    s.text, p.x0, p.x1, float(np.mean(s.probs)), engine="tesseract", probs=s.probs
                )
            elif (probs := agreed(p.text, p.probs, alts[i], s.text)) is not None:
                # The two readers agree but where the model was torn, and there Tesseract picks
                # the model's runner-up (영수중/영수증 at 0.45/0.45 on the receipt photo).
                pieces[i] = Piece(
                    s.text, p.x0, p.x1, float(np.mean(probs)), engine="korean", probs=probs
                )
        return pieces


def korean_recognizer(
    cfg: dict[str, Any], recognition: dict[str, Any], runtime: dict[str, Any]
) -> Recognizer | None:
    """The Korean line model named by `hangul.recognizer`, if any (its height is in its metadata)."""
    if not cfg["recognizer"]:
        return None
    model = Recognizer({**recognition, "model": cfg["recognizer"], "squeeze": 1.0}, runtime)
    model.height = int(model.model.metadata["height"])
    return model


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Intersection over union of two spans along a line."""
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def agreed(
    text: str, probs: list[float], alts: list[list[tuple[str, float]]], other: str
) -> list[float] | None:
    """The model's probabilities for reading `other`, if `other` differs from its reading `text`
    only in characters that were among its runners-up there; else None."""
    if len(other) != len(text) or other == text or not len(alts) == len(probs) == len(text):
        return None
    out = []
    for ch, mine, p, runners in zip(other, text, probs, alts, strict=True):
        q = p if ch == mine else dict(runners).get(ch)
        if q is None:
            return None
        out.append(q)
    return out
