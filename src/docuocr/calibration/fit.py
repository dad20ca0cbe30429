"""Fitting a calibrator from labelled words (numpy and scipy only; nothing here runs at start-up).

A logistic regression over the word's features (L2-regularised, the raw-confidence weights bounded
at zero from below) gives a score that ranks words; an isotonic regression of right/wrong on that
score then makes it a probability without assuming the logistic shape is exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

from docuocr.bench import metrics as m
from docuocr.calibration.collect import Record
from docuocr.calibration.model import (
    MONOTONE,
    Calibrator,
    Context,
    features,
    page_context,
    raw_mean,
)

# The features of the shipped model, chosen by cross-validation on the dev pages (docs/calibration.md).
DEFAULT_FEATURES = (
    "logit_mean_ppocr",
    "logit_min_ppocr",
    "logit_geo_ppocr",
    "logit_mean_tesseract",
    "logit_min_tesseract",
    "tesseract",
    "logit_mean_korean",
    "logit_min_korean",
    "korean",
    "log_length",
    "single_char",
    "det_score",
    "has_digit",
    "has_punct",
    "all_punct",
    "inner_punct",
    "mixed_case",
    "trailing_punct",
    "has_slash",
    "has_bracket",
    "alnum_mix",
    "alpha_only",
    "log_char_aspect",
    "log_rel_height",
    "overlap",
    "page_digits",
    "script_hangul",
    "script_han",
    "script_kana",
    "script_other",
    "lean",
    "logit_page_mean",
)


def design(records: Sequence[Record], names: Sequence[str]) -> np.ndarray:
    """The feature matrix: one row per word, one column per name (as `Calibrator.apply_page`
    computes them, the page's median word height included)."""
    by_page: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_page.setdefault(r.page, []).append(i)
    context: list[Context | None] = [None] * len(records)
    for index in by_page.values():
        rs = [records[i] for i in index]
        if all(r.size and r.box for r in rs):
            ctx = page_context(
                [r.size for r in rs],
                [r.box for r in rs],
                [r.text for r in rs],
                [raw_mean(r.signals, r.raw) for r in rs],
            )
            for i, c in zip(index, ctx, strict=True):
                context[i] = c
    rows = [
        features(r.signals, r.engine, r.script, r.text, r.size, c, r.box)
        for r, c in zip(records, context, strict=True)
    ]
    return np.array([[f[n] for n in names] for f in rows], dtype=float).reshape(
        len(rows), len(names)
    )


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    monotone: Sequence[bool],
    l2: float = 1.0,
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression on standardised columns; returns weights and bias for the
    raw columns. Columns flagged in `monotone` get weights >= 0."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-9] = 1.0  # a constant column (say, no Tesseract words) just gets weight 0
    z = (x - mu) / sd
    wsum = weight.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        s = z @ w + b
        # log(1 + e^s) - y s, stably
        nll = np.logaddexp(0.0, s) - y * s
        p = 1.0 / (1.0 + np.exp(-s))
        g = weight * (p - y)
        f = float(weight @ nll) / wsum + 0.5 * l2 * float(w @ w) / wsum
        grad = np.append(z.T @ g / wsum + l2 * w / wsum, g.sum() / wsum)
        return f, grad

    bounds = [(0.0, None) if mono else (None, None) for mono in monotone] + [(None, None)]
    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    w = res.x[:-1] / sd
    return w, float(res.x[-1] - w @ mu)


def isotonic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, min_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the non-decreasing fit of `y` on `x`. Returns knots (the weighted
    mean `x` of each block, its mean `y`) for linear interpolation, which keeps ties rare and so
    keeps the score's ranking. Blocks lighter than `min_weight` are pooled with a neighbour.
    Not scikit-learn's IsotonicRegression: its knots are block ends and it has no minimum
    block weight, so it would not reproduce the shipped map (default.json)."""
    order = np.argsort(x, kind="stable")
    xs, ys, ws = x[order], y[order].astype(float), weight[order]
    # Words with equal scores are one point.
    keys, start = np.unique(xs, return_index=True)
    wsum = np.add.reduceat(ws, start)
    ysum = np.add.reduceat(ws * ys, start)
    blocks: list[list[float]] = []  # [x*w, y*w, w]
    for k, yy, ww in zip(keys, ysum, wsum, strict=True):
        blocks.append([k * ww, yy, ww])
        while len(blocks) > 1 and (
            blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]
            or blocks[-2][2] < min_weight
        ):
            last = blocks.pop()
            for i in range(3):
                blocks[-1][i] += last[i]
    if len(blocks) > 1 and blocks[-1][2] < min_weight:
        last = blocks.pop()
        for i in range(3):
            blocks[-1][i] += last[i]
    kx = np.array([b[0] / b[2] for b in blocks])
    ky = np.array([b[1] / b[2] for b in blocks])
    return kx, np.maximum.accumulate(ky)


def fit(
    records: Sequence[Record],
    names: Sequence[str] = DEFAULT_FEATURES,
    weight: np.ndarray | None = None,
    l2: float = 1.0,
    use_isotonic: bool = True,
    min_block: float = 20.0,
    meta: dict[str, Any] | None = None,
    x: np.ndarray | None = None,
) -> Calibrator:
    """Fit a calibrator on labelled words. `weight` (one per word) lets datasets count equally;
    `x` is their `design` matrix when the caller already has it."""
    if not records:
        raise ValueError("no words to fit on")
    y = np.array([r.correct for r in records], dtype=float)
    if y.min() == y.max():
        raise ValueError("every word is right (or every word is wrong): nothing to calibrate")
    weight = np.ones(len(records)) if weight is None else np.asarray(weight, dtype=float)
    x = design(records, names) if x is None else x
    w, b = fit_logistic(x, y, weight, [n in MONOTONE for n in names], l2)
    s = x @ w + b
    if use_isotonic:
        kx, ky = isotonic(s, y, weight, min_block * weight.mean())
    else:  # the logistic curve itself, tabulated
        kx = np.linspace(s.min() - 1, s.max() + 1, 64)
        ky = 1.0 / (1.0 + np.exp(-kx))
    info = {
        "model": "logistic+isotonic" if use_isotonic else "logistic",
        "created": dt.date.today().isoformat(),
        "words": len(records),
        "right_share": round(float(y.mean()), 4),
        **(meta or {}),
    }
    return Calibrator(dict(zip(names, map(float, w), strict=True)), b, list(kx), list(ky), info)


def predict(cal: Calibrator, records: Sequence[Record], x: np.ndarray | None = None) -> np.ndarray:
    """Calibrated confidences of many words at once (as `Calibrator.apply_page` gives them)."""
    names = list(cal.weights)
    x = design(records, names) if x is None else x
    return cal.calibrate(x @ np.array([cal.weights[n] for n in names]) + cal.bias)


def scores(confidence: Sequence[float], correct: Sequence[bool]) -> dict[str, float | None]:
    """The bench's calibration metrics, and the share of right words."""
    return {
        "words": len(correct),
        "right": float(np.mean(correct)) if len(correct) else 0.0,
        "ece": m.ece(confidence, correct),
        "brier": m.brier(confidence, correct),
        "auroc": m.auroc(confidence, correct),
    }


def page_folds(records: Sequence[Record], folds: int = 5) -> np.ndarray:
    """A fold number per word, whole pages to one fold: a page's words share its scan and font,
    so splitting a page would flatter the scores."""
    pages = sorted({r.page for r in records})
    fold_of = dict(
        zip(pages, np.random.default_rng(0).permutation(len(pages)) % folds, strict=True)
    )
    return np.array([fold_of[r.page] for r in records])


def cross_val(
    records: Sequence[Record], fitter: Callable[[Sequence[Record]], Calibrator], folds: int = 5
) -> np.ndarray:
    """Out-of-fold calibrated confidences of `records`, each predicted by `fitter` fitted on the
    other folds."""
    fold = page_folds(records, folds)
    out = np.zeros(len(records))
    for k in range(folds):
        test = np.flatnonzero(fold == k)
        train = [records[i] for i in np.flatnonzero(fold != k)]
        if len(test) and train:
            out[test] = predict(fitter(train), [records[i] for i in test])
    return out
