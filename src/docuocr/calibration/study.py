"""How the shipped calibration was chosen and measured (a development tool, not used at run time).

    python -m docuocr.calibration.study --dev data/calibration/*-dev.jsonl \
        --heldout data/calibration/*-heldout.jsonl --write src/docuocr/calibration/default.json \
        --png artifacts/reliability.png

Candidates are compared by 5-fold cross-validation over whole dev pages; the chosen one is refitted
on all dev pages and then scored once on the held-out pages, which no choice looked at.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docuocr.calibration import fit as f
from docuocr.calibration.collect import Record, read_cache
from docuocr.calibration.model import Calibrator

NAMES = {"funsd": "FUNSD", "sroie": "SROIE", "text": "Korean"}
# The engine's own confidence signals, without shape, box or page features.
RAW = tuple(n for n in f.DEFAULT_FEATURES if n.startswith("logit_") or n in ("tesseract", "korean"))
PAGE = ("overlap", "page_digits")
NO_PAGE = tuple(n for n in f.DEFAULT_FEATURES if n not in PAGE)
CANDIDATES: dict[str, dict[str, Any]] = {
    "logistic, raw signals": {"names": RAW, "use_isotonic": False},
    "logistic+isotonic, raw signals": {"names": RAW},
    "logistic+isotonic, word features": {"names": NO_PAGE},
    "logistic, all features": {"use_isotonic": False},
    "logistic+isotonic, all features": {},
    "logistic+isotonic, all features, datasets weighted equally": {"balance": True},
}


LABELS = (
    "FUNSD: end-to-end hit (Hungarian IoU >= 0.5, same text); SROIE (compared in capitals) and "
    "Korean: word still in the page's ground-truth multiset; see docs/calibration.md"
)


def dataset_of(r: Record) -> str:
    kind = r.page.split(":", 1)[0]
    return NAMES.get(kind, kind)


def balanced(records: Sequence[Record]) -> np.ndarray:
    """Weights that give every dataset the same total, so the many FUNSD words do not decide
    alone how a receipt or a Korean page is scored."""
    names = [dataset_of(r) for r in records]
    counts = {n: names.count(n) for n in set(names)}
    return np.array([len(records) / (len(counts) * counts[n]) for n in names])


def fit_candidate(
    records: Sequence[Record], x: np.ndarray, kw: dict[str, Any], meta: dict | None = None
) -> Calibrator:
    """Fit one candidate; `x` is the design matrix over all of f.DEFAULT_FEATURES."""
    kw = dict(kw)
    names = tuple(kw.pop("names", f.DEFAULT_FEATURES))
    cols = [f.DEFAULT_FEATURES.index(n) for n in names]
    weight = balanced(records) if kw.pop("balance", False) else None
    return f.fit(records, names, weight=weight, x=x[:, cols], meta=meta, **kw)


def predict(cal: Calibrator, records: Sequence[Record], x: np.ndarray) -> np.ndarray:
    cols = [f.DEFAULT_FEATURES.index(n) for n in cal.weights]
    return f.predict(cal, records, x[:, cols])


def oof(records: Sequence[Record], x: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    fold = f.page_folds(records)
    out = np.zeros(len(records))
    for k in np.unique(fold):
        test, train = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        cal = fit_candidate([records[i] for i in train], x[train], kw)
        out[test] = predict(cal, [records[i] for i in test], x[test])
    return out


def oof_per_engine_isotonic(records: Sequence[Record]) -> np.ndarray:
    """A baseline: isotonic regression of right/wrong on the raw confidence, one per engine."""
    fold = f.page_folds(records)
    raw = np.array([r.raw for r in records])
    y = np.array([r.correct for r in records], dtype=float)
    engine = np.array([r.engine for r in records])
    out = np.zeros(len(records))
    for k in np.unique(fold):
        for e in np.unique(engine):
            train = (fold != k) & (engine == e)
            test = (fold == k) & (engine == e)
            if train.any() and test.any():
                kx, ky = f.isotonic(raw[train], y[train], np.ones(int(train.sum())), 20)
                out[test] = np.interp(raw[test], kx, ky)
    return out


def table(rows: list[tuple[str, str, dict]]) -> str:
    lines = ["| set | confidence | words | right | ECE | Brier | AUROC |", "|---" * 7 + "|"]
    for name, what, s in rows:
        auc = "–" if s["auroc"] is None else f"{s['auroc']:.3f}"
        lines.append(
            f"| {name} | {what} | {s['words']} | {s['right']:.3f} | {s['ece']:.3f} | "
            f"{s['brier']:.3f} | {auc} |"
        )
    return "\n".join(lines)


def by_set(records: Sequence[Record], conf: np.ndarray, what: str) -> list[tuple[str, str, dict]]:
    names = np.array([dataset_of(r) for r in records])
    y = np.array([r.correct for r in records])
    rows = [(n, what, f.scores(conf[names == n], y[names == n])) for n in sorted(set(names))]
    return [*rows, ("all", what, f.scores(conf, y))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m docuocr.calibration.study")
    p.add_argument("--dev", type=Path, nargs="+", required=True, metavar="JSONL")
    p.add_argument("--heldout", type=Path, nargs="*", default=[], metavar="JSONL")
    p.add_argument("--choose", default="logistic+isotonic, all features", choices=CANDIDATES)
    p.add_argument("--skip-cv", action="store_true", help="only fit the choice and score it")
    p.add_argument("--write", type=Path, help="write the chosen calibration here")
    p.add_argument("--png", type=Path, help="reliability diagram of the held-out pages")
    args = p.parse_args(argv)
    dev = read_cache(*args.dev)
    x = f.design(dev, f.DEFAULT_FEATURES)
    print(f"dev: {len(dev)} words on {len({r.page for r in dev})} pages", file=sys.stderr)
    if not args.skip_cv:
        rows = by_set(dev, np.array([r.raw for r in dev]), "raw")
        rows += by_set(dev, oof_per_engine_isotonic(dev), "per-engine isotonic")
        for name, kw in CANDIDATES.items():
            rows += by_set(dev, oof(dev, x, kw), name)
        print("## cross-validated on dev pages (5 folds of whole pages)\n")
        print(table(sorted(rows, key=lambda r: r[0])))

    pages = {}
    for r in dev:
        pages.setdefault(dataset_of(r), set()).add(r.page)
    meta = {
        "fitted_on": {k: len(v) for k, v in sorted(pages.items())},
        "choice": args.choose,
        "labels": LABELS,
    }
    cal = fit_candidate(dev, x, CANDIDATES[args.choose], meta)
    if args.write:
        cal.save(args.write)
        Calibrator.load(args.write)  # it must read back
        print(f"wrote {args.write}", file=sys.stderr)
    if args.heldout:
        held = read_cache(*args.heldout)
        raw = np.array([r.raw for r in held])
        after = f.predict(cal, held)
        print(f"\n## held-out pages ({len({r.page for r in held})} pages, never fitted on)\n")
        rows = by_set(held, raw, "raw") + by_set(held, after, "calibrated")
        print(table(sorted(rows, key=lambda r: r[0])))
        if args.png:
            from docuocr.bench.reliability import Series, draw

            names = np.array([dataset_of(r) for r in held])
            y = np.array([r.correct for r in held])
            series = []
            for n in sorted(set(names)):
                sel = names == n
                series.append(Series(f"{n} held-out, raw", raw[sel], y[sel]))
                series.append(Series(f"{n} held-out, calibrated", after[sel], y[sel]))
            draw(series, args.png, columns=2)
            print(f"wrote {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
