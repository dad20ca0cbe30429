"""The engine: orientation → detection → recognition (PP-OCRv6, Tesseract for Hangul) → words → rows."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from docuocr.calibration import Calibrator
from docuocr.document import Line, Page, Word
from docuocr.engine import checkbox
from docuocr.engine.config import load_config
from docuocr.engine.detect import Detector
from docuocr.engine.geometry import (
    along,
    crop,
    grow,
    order_quad,
    quad_angle,
    quad_size,
    rotate_image,
    unrotate_points,
)
from docuocr.engine.hangul import (
    SYLLABLE,
    Piece,
    TesseractLines,
    gaps,
    is_hangul,
    mean_conf,
    odd,
    script_of,
    suspect,
    too_short,
)
from docuocr.engine.layout import blocks, rows
from docuocr.engine.lexicon import Lexicon
from docuocr.engine.orientation import Classifier, is_sideways, vote_crops
from docuocr.engine.recognize import LineRead, Recognizer
from docuocr.engine.watermark import contrast, is_watermark
from docuocr.engine.words import Span, ctc_words, tesseract_words, tighten, word_chars

log = logging.getLogger(__name__)


# The Korean model's mean character probability, one way up or the other, that says the lines are
# Hangul at all (on Japanese it reads garbage at 0.4-0.5 both ways).
KOREAN_SURE = 0.6
# How much surer PP-OCR must be of the lines turned over before the page is: turning a page on a
# coin toss costs all of it, and upright is by far the common case. Blurred, tilted photos of
# Korean pages read about as badly either way up (0.54 against 0.46); a page really turned over
# reads far better turned (a Japanese page: 0.99 against 0.61).
FLIP_MARGIN = 0.1


class Engine:
    """Load once per process; `read` is then called for every page."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.cfg = load_config(overrides)
        runtime = self.cfg["runtime"]
        self.detect = Detector(self.cfg["detection"], runtime)
        self.recognize = Recognizer(self.cfg["recognition"], runtime)
        self.classifier = Classifier(self.cfg["orientation"], runtime)
        self.tesseract = TesseractLines(self.cfg["hangul"])
        self.korean = korean_recognizer(self.cfg["hangul"], self.cfg["recognition"], runtime)
        self.lexicon = Lexicon(self.cfg["lexicon"])
        self.calibrator = Calibrator.load()  # DOCUOCR_CALIBRATION, else the shipped fit

    def release_memory(self) -> None:
        """Let the models go of buffers sized for the largest page so far (OpenVINO keeps them):
        the next page compiles them afresh from the cache, in about 0.1 s each."""
        models = [self.detect.model, self.detect.sheet_model, self.recognize.model]
        models += [self.classifier.model] + ([self.korean.model] if self.korean else [])
        for model in models:
            model.release()

    def upside_down(
        self, image: np.ndarray, quads: list[np.ndarray], reads: list[LineRead]
    ) -> bool:
        """Vote on 180 degrees over the longest lines: the line classifier where PP-OCR could read the
        line (Latin, Han), Tesseract's confidence both ways where it could not (Hangul, on which the
        classifier is wrong). Reuses the page's recognition, so the common upright page pays only
        for the classifier."""
        n = self.cfg["orientation"]["sample_lines"]
        ranked = sorted(range(len(quads)), key=lambda i: -quad_size(quads[i])[0])
        sample = [i for i in ranked if quad_size(quads[i])[1] >= 6][:n]
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

    def read_lines(
        self,
        upright: np.ndarray,
        quads: list[np.ndarray],
        crops: list[np.ndarray],
        reads: list[LineRead],
    ) -> list[list[Span]]:
        """Words of each line, from PP-OCR unless Tesseract reads Hangul there.

        First, lines PP-OCR plainly could not read (non-Latin look-alikes, far too few characters)
        go to Tesseract. Only on a page where that found Korean do Latin-looking lines PP-OCR was
        unsure of, and holes it left in lines (Hangul beside digits), go too: Tesseract's kor
        model reads blurred Latin, rules and dashes as Hangul, so an English page skips them.
        """
        out = []
        unsure, holes = [], []
        korean = 0
        # Our model reads the Latin and digits beside Hangul as they are ("포스 ID : 11"), so
        # its readings need fewer syllables than Tesseract's to count as Korean.
        share = self.cfg["hangul"]["model_share" if self.korean else "tesseract_share"]
        for i, (q, c, read) in enumerate(zip(quads, crops, reads, strict=True)):
            h, w = c.shape[:2]
            out.append(ctc_words(self.lexicon(read), w / max(h, 1)))
            if not suspect(read.text, read.probs, w, h):
                holes.append(i)
            elif not odd(read.text) and not too_short(read.text, w, h):
                unsure.append(i)
            else:
                pieces = self.read_hangul(upright, q)
                # Below min_conf, a barcode or rule read as Hangul.
                if is_hangul(pieces, share, min_conf=0.4):
                    out[i] = self.latin_words(upright, q, tesseract_words(pieces))
                    korean += mean_conf(pieces) >= 0.6
        if not korean:
            return out
        for i in unsure:
            pieces = self.read_hangul(upright, quads[i])
            if is_hangul(pieces, min_conf=0.6):
                out[i] = self.latin_words(upright, quads[i], tesseract_words(pieces))
        for i in holes:
            h, w = crops[i].shape[:2]
            for a, b in gaps(reads[i].centers, reads[i].step, w / max(h, 1)):
                pieces = self.read_hangul(upright, along(quads[i], a, b))
                # An unsure symbol beside the Hangul (a blurred '#' read as 't') is not content,
                # and must not sink the hole's reading with it.
                pieces = [p for p in pieces if SYLLABLE.search(p.text) or p.conf >= 0.5]
                if is_hangul(pieces, 0.5, 0.7):
                    for s in tesseract_words(pieces):
                        s.t0, s.t1 = a + s.t0 * (b - a), a + s.t1 * (b - a)
                        out[i].append(s)
            out[i].sort(key=lambda s: s.t0)
        return out

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
        cfg = self.cfg["hangul"]
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
        below, accept = self.cfg["hangul"]["fallback_below"], self.cfg["hangul"]["fallback_accept"]
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
            elif (probs := _agreed(p.text, p.probs, alts[i], s.text)) is not None:
                # The two readers agree but where the model was torn, and there Tesseract picks
                # the model's runner-up (영수중/영수증 at 0.45/0.45 on the receipt photo).
                pieces[i] = Piece(
                    s.text, p.x0, p.x1, float(np.mean(probs)), engine="korean", probs=probs
                )
        return pieces

    def read(self, image: np.ndarray) -> Page:
        """Read an RGB uint8 page image into a Page whose boxes are in this image's pixels."""
        height, width = image.shape[:2]
        turn, upright = 0, image
        quads, scores = self.detect(image)
        if is_sideways(quads, self.cfg["orientation"]["tall_share"]):
            turn, upright = 90, rotate_image(image, 90)
            quads, scores = self.detect(upright)
        if self.cfg["small_print"]["enabled"]:
            more, more_scores = self.detect.small_print(upright, quads, self.cfg["small_print"])
            quads, scores = quads + more, scores + more_scores
        quads, scores, page_angle = self._drop_watermarks(upright, quads, scores)
        if not quads:
            return Page(width=width, height=height, rotation=turn)

        crops = [crop(upright, q) for q in quads]
        reads = self.recognize(crops)
        if self.upside_down(upright, quads, reads):
            # Rare: turn the boxes and the page over and read again.
            turn = (turn + 180) % 360
            h, w = upright.shape[:2]
            quads = [order_quad(unrotate_points(q, 180, w, h)) for q in quads]
            upright = rotate_image(upright, 180)
            crops = [crop(upright, q) for q in quads]
            reads = self.recognize(crops)

        line_words: list[list[Word]] = []
        line_spans = self.read_lines(upright, quads, crops, reads)
        for q, score, c, spans in zip(quads, scores, crops, line_spans, strict=True):
            if self.cfg["words"]["tight_boxes"]:
                spans = tighten(spans, c, min_gap=self.cfg["words"]["split_gap"])
            line_words.append([self._word(s, q, score, turn, width, height) for s in spans])

        for q, mark, score in checkbox.find(upright, quads, self.cfg["checkbox"]):
            quads.append(q)
            span = Span(mark, 0.0, 1.0, [score], engine="checkbox")
            line_words.append([self._word(span, q, score, turn, width, height)])

        lines = []
        for row in rows(quads, page_angle):
            words = [w for i in row for w in line_words[i]]
            if words:
                lines.append(Line(words))
        page = Page(width=width, height=height, blocks=blocks(lines), rotation=turn)
        return self.calibrator.apply_page(page)

    def _drop_watermarks(
        self, image: np.ndarray, quads: list[np.ndarray], scores: list[float]
    ) -> tuple[list[np.ndarray], list[float], float]:
        """Lines that are not watermarks, and the page's text angle."""
        if not quads:
            return quads, scores, 0.0
        sizes = [quad_size(q) for q in quads]
        angles = [quad_angle(q) for q in quads]
        long_lines = [a for a, (w, h) in zip(angles, sizes, strict=True) if w > 2 * h]
        page_angle = float(np.median(long_lines)) if long_lines else 0.0
        median_h = float(np.median([h for _, h in sizes]))
        keep = [
            i
            for i, q in enumerate(quads)
            if not is_watermark(
                contrast(crop(image, q, 0)),
                sizes[i][1],
                angles[i],
                median_h,
                page_angle,
                self.cfg["watermark"],
            )
        ]
        return [quads[i] for i in keep], [scores[i] for i in keep], page_angle

    def _word(
        self,
        span: Span,
        line_quad: np.ndarray,
        det_score: float,
        turn: int,
        width: int,
        height: int,
    ) -> Word:
        q = along(line_quad, span.t0, span.t1, span.v0, span.v1)
        if turn:
            # Upright pixels back to the original image; corner order (natural TL first) is kept.
            q = unrotate_points(q, turn, width, height)
        q = np.clip(q, 0, [width, height])
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
                "det_score": det_score,
                "length": float(len(span.text)),
            },
            engine=span.engine,
            script=script_of(span.text),
        )


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Intersection over union of two spans along a line."""
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def _agreed(
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


def _mean_prob(reads: list[LineRead]) -> float:
    probs = [p for r in reads for p in r.probs]
    return float(np.mean(probs)) if probs else 0.0


def korean_recognizer(
    cfg: dict[str, Any], recognition: dict[str, Any], runtime: dict[str, Any]
) -> Recognizer | None:
    """The Korean line model named by `hangul.recognizer`, if any (its height is in its metadata)."""
    if not cfg["recognizer"]:
        return None
    model = Recognizer({**recognition, "model": cfg["recognizer"], "squeeze": 1.0}, runtime)
    model.height = int(model.model.metadata["height"])
    return model
