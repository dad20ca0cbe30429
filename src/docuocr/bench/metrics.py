"""Accuracy and calibration metrics for `docuocr bench`.

Pure functions of ground truth and predictions, so they can be unit-tested on hand-made cases and
reused by anyone scoring OCR output. The protocols are the ones ../shared/README.md defines.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (axis-aligned)


@dataclass
class Match:
    """Outcome of scoring one page: counts plus, per predicted word, whether it was right."""

    detections: int
    hits: int
    correct: list[bool]  # one per predicted word, in the order given


def prf(hits: int, n_truth: int, n_pred: int) -> tuple[float, float, float]:
    """Recall, precision and F1; an empty page read as empty is perfect."""
    if n_truth == 0 and n_pred == 0:
        return 1.0, 1.0, 1.0
    recall = hits / n_truth if n_truth else 0.0
    precision = hits / n_pred if n_pred else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return recall, precision, f1


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """IoU of every box in `a` (rows) with every box in `b` (columns)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    ba = np.asarray(a, dtype=float)[:, None, :]
    bb = np.asarray(b, dtype=float)[None, :, :]
    iw = np.clip(np.minimum(ba[..., 2], bb[..., 2]) - np.maximum(ba[..., 0], bb[..., 0]), 0, None)
    ih = np.clip(np.minimum(ba[..., 3], bb[..., 3]) - np.maximum(ba[..., 1], bb[..., 1]), 0, None)
    inter = iw * ih
    area_a = (ba[..., 2] - ba[..., 0]) * (ba[..., 3] - ba[..., 1])
    area_b = (bb[..., 2] - bb[..., 0]) * (bb[..., 3] - bb[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_words(
    truth: Sequence[tuple[str, Box]],
    pred: Sequence[tuple[str, Box]],
    iou_threshold: float = 0.5,
) -> Match:
    """FUNSD word end-to-end (docTR's protocol): a one-to-one Hungarian assignment maximising IoU;
    a pair with IoU >= threshold is a detection, and a detection with exactly equal text a hit."""
    from scipy.optimize import linear_sum_assignment

    correct = [False] * len(pred)
    if not truth or not pred:
        return Match(0, 0, correct)
    iou = iou_matrix([b for _, b in truth], [b for _, b in pred])
    rows, cols = linear_sum_assignment(iou, maximize=True)
    detections = hits = 0
    for r, c in zip(rows, cols, strict=True):
        if iou[r, c] >= iou_threshold:
            detections += 1
            if truth[r][0] == pred[c][0]:
                hits += 1
                correct[c] = True
    return Match(detections, hits, correct)


def match_bag(truth: Sequence[str], pred: Sequence[str]) -> Match:
    """Bag of words (ICDAR 2019 SROIE task 2): multiset intersection. A predicted word is right
    when an equal ground-truth word is still unused; each ground-truth word is consumed once."""
    left = Counter(truth)
    correct = []
    for word in pred:
        ok = left[word] > 0
        if ok:
            left[word] -= 1
        correct.append(ok)
    hits = sum(correct)
    return Match(hits, hits, correct)


# Typographic look-alikes folded before page text is compared (../shared/README.md, "Page text"):
# dashes, quotes and the middle dots Korean text uses interchangeably. Bullets (• ◦ ○ ▪) stay apart.
_FOLD = str.maketrans(
    {
        **{c: "-" for c in "‐‑‒–—―−"},
        **{c: "'" for c in "‘’‚‛′"},
        **{c: '"' for c in "“”„‟″"},
        **{c: "·" for c in "ꞏㆍ‧∙・･ᆞ⋅"},
    }
)
# Runs of three or more leader dots (tables of contents), spaced or not; NFKC has already made
# `…` and `‥` into full stops.
_LEADERS = re.compile(r"[.·](?: ?[.·]){2,}")


def normalize_text(text: str) -> str:
    """What page-text scoring compares: NFKC, look-alikes folded (before NFKC, which would split
    `″` into two primes, and after it, which makes `ㆍ` a Hangul vowel), private-use characters
    dropped and leader-dot runs removed."""
    text = unicodedata.normalize("NFKC", text.translate(_FOLD)).translate(_FOLD)
    text = "".join(c for c in text if unicodedata.category(c) != "Co")
    return _LEADERS.sub("", text)


def squeeze(text: str) -> str:
    """Remove all whitespace, so line breaks and spacing do not count."""
    return "".join(text.split())


def char_counts(truth: str, pred: str) -> tuple[int, int, int]:
    """(ground-truth chars, predicted chars, chars in common as multisets), whitespace removed."""
    t, p = Counter(squeeze(truth)), Counter(squeeze(pred))
    return sum(t.values()), sum(p.values()), sum((t & p).values())


def levenshtein(a: str, b: str) -> int:
    """Edit distance in code points, unit costs (rapidfuzz's bit-parallel Levenshtein)."""
    return Levenshtein.distance(a, b)


def cer(truth: str, pred: str) -> float:
    """Character error rate with whitespace removed: edits / ground-truth characters."""
    t, p = squeeze(truth), squeeze(pred)
    if not t:
        return 0.0 if not p else 1.0
    return levenshtein(t, p) / len(t)


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """Expected calibration error over equal-width confidence bins (1.0 falls in the last bin)."""
    conf = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    right = np.asarray(correct, dtype=float)
    if not conf.size:
        return 0.0
    index = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = index == b
        if sel.any():
            total += sel.sum() * abs(right[sel].mean() - conf[sel].mean())
    return float(total / conf.size)


def brier(confidence: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean squared gap between confidence and correctness (0 is perfect)."""
    conf = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    if not conf.size:
        return 0.0
    return float(np.mean((conf - np.asarray(correct, dtype=float)) ** 2))


def auroc(confidence: Sequence[float], correct: Sequence[bool]) -> float | None:
    """Chance that a right word has higher confidence than a wrong one (ties count half);
    None when every word is right or every word is wrong. scipy ranks; scikit-learn's
    roc_auc_score agrees to 1e-16 but is 60 MB and a 1.3 s import for three lines."""
    from scipy.stats import rankdata

    conf = np.asarray(confidence, dtype=float)
    right = np.asarray(correct, dtype=bool)
    n_pos, n_neg = int(right.sum()), int((~right).sum())
    if not n_pos or not n_neg:
        return None
    ranks = rankdata(conf)
    return float((ranks[right].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
