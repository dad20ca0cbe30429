"""The word-confidence calibrator at run time: features of a word's raw signals → a logistic score
→ an isotonic map → the chance the word is right. Pure numpy, parameters from a small JSON file.

Monotone in the raw confidence: the logistic weights of the character-probability features are
fitted non-negative and the isotonic map is non-decreasing, so a word whose characters are more
certain never gets a lower confidence, all else equal.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from docuocr.document import Page, Word

FORMAT = "docuocr-calibration"
VERSION = 1  # of the file format; a file of another version is refused, not misread
EPS = 1e-4  # probabilities are clipped to [EPS, 1 - EPS] before taking logits
PUNCT = set(string.punctuation) | set("·「」『』【】（），。：；！？、“”‘’…—–")
SCRIPTS = ("hangul", "han", "kana", "other")  # one-hot; "latin" (and "") is the baseline


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def quad_size(quad: Sequence[Sequence[float]]) -> tuple[float, float]:
    """Width along the text and height across it of a word's quad (TL, TR, BR, BL)."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = quad
    width = (math.hypot(bx - ax, by - ay) + math.hypot(cx - dx, cy - dy)) / 2
    height = (math.hypot(dx - ax, dy - ay) + math.hypot(cx - bx, cy - by)) / 2
    return width, height


def quad_box(quad: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    xs = [x for x, _ in quad]
    ys = [y for _, y in quad]
    return (min(xs), min(ys), max(xs), max(ys))


def median_height(sizes: Sequence[tuple[float, float]]) -> float | None:
    """The page's typical word height, against which a word's own height is judged."""
    heights = [h for _, h in sizes if h > 0]
    return float(np.median(heights)) if heights else None


def max_overlap(boxes: Sequence[Sequence[float]], chunk: int = 256) -> np.ndarray:
    """For each box, its largest IoU with any other box on the page. A word read twice (two
    overlapping detections) is at most once where the page has it."""
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    out = np.zeros(len(b))
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    for start in range(0, len(b), chunk):  # chunks keep memory flat on pages of thousands of words
        a = b[start : start + chunk, None, :]
        iw = np.clip(np.minimum(a[..., 2], b[:, 2]) - np.maximum(a[..., 0], b[:, 0]), 0, None)
        ih = np.clip(np.minimum(a[..., 3], b[:, 3]) - np.maximum(a[..., 1], b[:, 1]), 0, None)
        inter = iw * ih
        union = area[start : start + chunk, None] + area[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        iou[np.arange(iou.shape[0]), np.arange(start, start + iou.shape[0])] = 0.0  # not itself
        out[start : start + chunk] = iou.max(axis=1) if len(b) > 1 else 0.0
    return out


@dataclass
class Context:
    """What a word's features need from the rest of its page."""

    page_height: float | None = None  # the page's median word height
    overlap: float = 0.0  # largest IoU with another word on the page
    page_digits: float = 0.0  # share of the page's words holding a digit (receipts, tables)
    page_mean: float | None = None  # the page's mean raw character probability (its legibility)


def page_context(
    sizes: Sequence[tuple[float, float]],
    boxes: Sequence[Sequence[float]],
    texts: Sequence[str],
    means: Sequence[float] | None = None,
) -> list[Context]:
    """The context of every word of a page, from their quads' sizes, axis-aligned boxes, texts
    and raw mean character probabilities."""
    if not len(boxes):
        return []
    typical = median_height(sizes)
    digits = float(np.mean([any(c.isdigit() for c in t) for t in texts]))
    legible = float(np.mean(means)) if means is not None and len(means) else None
    return [Context(typical, float(o), digits, legible) for o in max_overlap(boxes)]


def raw_mean(signals: dict[str, float], confidence: float) -> float:
    """A word's raw mean character probability (its confidence before calibration)."""
    return float(signals.get("char_mean", signals.get("raw_confidence", confidence)))


def lean(size: tuple[float, float], box: Sequence[float]) -> float:
    """How far a word leans from the page's axes, 0-45 degrees (photos lean), from its size along
    the text and its axis-aligned box, which is what a cached word keeps: a w x h box turned by a
    has a bounding box of W + H = (w + h)(cos a + sin a)."""
    (w, h), (x0, y0, x1, y1) = size, box
    if w <= 0 or h <= 0:
        return 0.0
    ratio = (x1 - x0 + y1 - y0) / ((w + h) * math.sqrt(2))
    return max(0.0, math.degrees(math.asin(min(max(ratio, math.sqrt(0.5)), 1.0))) - 45.0)


def features(
    signals: dict[str, float],
    engine: str,
    script: str,
    text: str,
    size: tuple[float, float] | None = None,
    context: Context | None = None,
    box: Sequence[float] | None = None,
) -> dict[str, float]:
    """Every feature a calibration file may use, by name. The character-probability logits are
    split by engine because Tesseract's word confidences and PP-OCR's CTC probabilities live on
    different scales. `size` is the word's (width, height) along its text; without it and the
    page `context` the geometry features take their typical value, 0."""
    context = context or Context()
    mean = float(signals.get("char_mean", 0.0))
    low = float(signals.get("char_min", mean))
    tess, korean = engine == "tesseract", engine == "korean"
    ppocr = not (tess or korean)
    length = max(float(signals.get("length", len(text))), 1.0)
    # The geometric mean of the character probabilities; PP-OCR has one probability a character.
    prod = float(signals.get("char_prod", low))
    geo = math.exp(math.log(max(prod, 1e-30)) / length) if prod > 0 else 0.0
    out = {
        "logit_mean_ppocr": _logit(mean) if ppocr else 0.0,
        "logit_min_ppocr": _logit(low) if ppocr else 0.0,
        "logit_geo_ppocr": _logit(geo) if ppocr else 0.0,
        "logit_mean_tesseract": _logit(mean) if tess else 0.0,
        "logit_min_tesseract": _logit(low) if tess else 0.0,
        "tesseract": float(tess),
        "logit_mean_korean": _logit(mean) if korean else 0.0,
        "logit_min_korean": _logit(low) if korean else 0.0,
        "korean": float(korean),
        "log_length": math.log(length),
        "single_char": float(length <= 1),
        "det_score": float(signals.get("det_score", 0.0)),
        "has_digit": float(any(c.isdigit() for c in text)),
        "has_punct": float(any(c in PUNCT for c in text)),
        "all_punct": float(bool(text) and all(c in PUNCT for c in text)),
        "inner_punct": float(any(c in PUNCT for c in text[1:-1])),
        "mixed_case": float(any(c.isupper() for c in text[1:]) and any(c.islower() for c in text)),
        "trailing_punct": float(len(text) > 1 and text[-1] in PUNCT),
        "has_slash": float("/" in text),
        "has_bracket": float(any(c in "()[]{}" for c in text)),
        "alnum_mix": float(any(c.isdigit() for c in text) and any(c.isalpha() for c in text)),
        "alpha_only": float(text.isalpha()),
    }
    w, h = size if size else (0.0, 0.0)
    ok = w > 0 and h > 0
    # Narrow or wide glyphs for the character count: characters missed or invented.
    out["log_char_aspect"] = math.log(w / (h * length)) if ok else 0.0
    # Fine print and headings read worse than the page's body text.
    typical = context.page_height
    out["log_rel_height"] = math.log(h / typical) if ok and typical else 0.0
    # Read twice: two detections of one word, of which the page holds one.
    out["overlap"] = context.overlap
    # Receipts and tables, where numbers are the text, read (and are transcribed) differently.
    out["page_digits"] = context.page_digits
    # Captures: a leaning word is on a photo; a page whose characters are all unsure is hard to
    # read, and there the raw probabilities mean something else than on a clean scan.
    out["lean"] = lean(size, box) / 45.0 if ok and box is not None else 0.0
    out["logit_page_mean"] = _logit(context.page_mean) if context.page_mean is not None else 0.0
    for s in SCRIPTS:
        out[f"script_{s}"] = float(script == s)
    # A missing or broken signal counts as typical rather than poisoning the score.
    return {k: v if math.isfinite(v) else 0.0 for k, v in out.items()}


# Features whose weight must not be negative: the raw confidence itself.
MONOTONE = (
    "logit_mean_ppocr",
    "logit_min_ppocr",
    "logit_geo_ppocr",
    "logit_mean_tesseract",
    "logit_min_tesseract",
    "logit_mean_korean",
    "logit_min_korean",
)


class CalibrationError(ValueError):
    """A calibration file that cannot be used."""


@dataclass
class Calibrator:
    """Fitted parameters: `weights` by feature name, `bias`, and the isotonic knots `iso_x` (logistic
    scores, increasing) → `iso_y` (probabilities, non-decreasing), interpolated linearly."""

    weights: dict[str, float]
    bias: float
    iso_x: list[float]
    iso_y: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._names = list(self.weights)
        self._w = np.array([self.weights[n] for n in self._names], dtype=float)
        self._x = np.asarray(self.iso_x, dtype=float)
        self._y = np.asarray(self.iso_y, dtype=float)

    # --- loading and saving ---

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibrator:
        """The calibration at `path`, else the one shipped."""
        if not path:
            text = resources.files("docuocr.calibration").joinpath("default.json").read_text()
            return cls.from_dict(json.loads(text), "the shipped default.json")
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"cannot read calibration file {path}: {exc}") from exc
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "calibration") -> Calibrator:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CalibrationError(f"{source} is not a docuocr calibration file")
        if data.get("version") != VERSION:
            raise CalibrationError(
                f"{source} has format version {data.get('version')!r}; this docuocr reads {VERSION}"
            )
        try:
            weights = {str(k): float(v) for k, v in data["weights"].items()}
            iso_x = [float(v) for v in data["isotonic"]["x"]]
            iso_y = [float(v) for v in data["isotonic"]["y"]]
            bias = float(data["bias"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CalibrationError(f"{source} is incomplete: {exc!r}") from exc
        known = features({}, "", "", "")
        unknown = [n for n in weights if n not in known]
        if unknown:
            raise CalibrationError(f"{source} uses unknown features: {', '.join(unknown)}")
        if any(weights[n] < 0 for n in MONOTONE if n in weights):
            raise CalibrationError(f"{source}: a raw-confidence weight is negative")
        ok = len(iso_x) == len(iso_y) >= 1 and all(0.0 <= y <= 1.0 for y in iso_y)
        if not ok or np.any(np.diff(iso_x) < 0) or np.any(np.diff(iso_y) < 0):
            raise CalibrationError(f"{source}: the isotonic map is not increasing within [0, 1]")
        meta = {k: v for k, v in data.items() if k not in ("weights", "bias", "isotonic")}
        return cls(weights, bias, iso_x, iso_y, meta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            **{k: v for k, v in self.meta.items() if k not in ("format", "version")},
            "weights": {k: round(v, 6) for k, v in self.weights.items()},
            "bias": round(self.bias, 6),
            "isotonic": {
                "x": [round(v, 5) for v in self.iso_x],
                "y": [round(v, 5) for v in self.iso_y],
            },
        }

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    # --- applying ---

    def score(self, feats: dict[str, float]) -> float:
        """The logistic score (before the isotonic map) of one word's features."""
        return float(self._w @ np.array([feats[n] for n in self._names]) + self.bias)

    def calibrate(self, scores: np.ndarray | float) -> np.ndarray:
        """Logistic scores → probabilities in [0, 1] through the isotonic map."""
        return np.clip(np.interp(scores, self._x, self._y), 0.0, 1.0)

    def apply(self, word: Word, context: Context | None = None) -> float:
        """The calibrated confidence of `word` from its raw signals and box (the word is not
        changed). `context` is what the rest of the page says (`apply_page` computes it).
        Checkbox marks keep their shape score: the model was fit on recognised words only."""
        if word.engine == "checkbox":
            return float(word.signals.get("raw_confidence", word.confidence))
        size, box = quad_size(word.quad), quad_box(word.quad)
        feats = features(word.signals, word.engine, word.script, word.text, size, context, box)
        return float(self.calibrate(self.score(feats)))

    def apply_page(self, page: Page) -> Page:
        """Set every word's confidence to its calibrated value, keeping the engine's own in
        signals["raw_confidence"]. Idempotent: it reads only the raw signals and boxes."""
        words = page.words
        contexts = page_context(
            [quad_size(w.quad) for w in words],
            [quad_box(w.quad) for w in words],
            [w.text for w in words],
            [raw_mean(w.signals, w.confidence) for w in words],
        )
        for word, context in zip(words, contexts, strict=True):
            word.signals.setdefault("raw_confidence", float(word.confidence))
            word.confidence = self.apply(word, context)
        return page
