"""How the shipped calibration was chosen and measured (a development tool, not used at run time).

    python -m docuocr.calibration.study --dev data/calibration/*-dev.jsonl \
        --heldout data/calibration/*-heldout.jsonl --write src/docuocr/calibration/default.json \
        --png artifacts/reliability.png

Each cache is one set, named by its file: `<set>-dev.jsonl` and `<set>-heldout.jsonl` (SETS gives
the names the tables print).

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

SETS = {
    "funsd": "FUNSD",
    "sroie": "SROIE",
    "korean": "Korean",
    "funsd-photo": "FUNSD photos",
    "funsd-lowdpi": "FUNSD low DPI",
    "kdocs-photo": "Korean report photos",
    "ksynth-photo": "Korean synthetic photos",
}
# What sees a capture: the word's lean, and how legible the page's characters are on the whole.
CAPTURE = ("lean", "logit_page_mean")
CANDIDATE_FEATURES = tuple(dict.fromkeys((*f.DEFAULT_FEATURES, *CAPTURE)))  # the shipped ones
# The engine's own confidence signals, without shape, box or page features.
RAW = tuple(
    n
    for n in CANDIDATE_FEATURES
    if (n.startswith("logit_") and n not in CAPTURE) or n in ("tesseract", "korean")
)
PAGE = ("overlap", "page_digits", *CAPTURE)
NO_PAGE = tuple(n for n in CANDIDATE_FEATURES if n not in PAGE)
NO_CAPTURE = tuple(n for n in CANDIDATE_FEATURES if n not in CAPTURE)
ALL = {"names": CANDIDATE_FEATURES}
CANDIDATES: dict[str, dict[str, Any]] = {
    "logistic, raw signals": {"names": RAW, "use_isotonic": False},
    "logistic+isotonic, raw signals": {"names": RAW},
    "logistic+isotonic, word features": {"names": NO_PAGE},
    "logistic+isotonic, all but the capture features": {"names": NO_CAPTURE},
    "logistic, all features": {**ALL, "use_isotonic": False},
    "logistic+isotonic, all features": ALL,
    "logistic+isotonic, all features, sets weighted equally": {**ALL, "balance": True},
}


LABELS = (
    "FUNSD: end-to-end hit (Hungarian IoU >= 0.5, same text); SROIE (compared in capitals) and "
    "Korean: word still in the page's ground-truth multiset; see docs/calibration.md"
)


def set_name(path: Path) -> str:
    stem = path.name.removesuffix(".jsonl").removesuffix("-dev").removesuffix("-heldout")
    return SETS.get(stem, stem)


def read_sets(paths: Sequence[Path]) -> tuple[list[Record], list[str]]:
    """The words of every cache, and for each the name of the set (the cache) it came from."""
    records: list[Record] = []
    names: list[str] = []
    for path in paths:
        words = read_cache(path)
        records += words
        names += [set_name(path)] * len(words)
    return records, names


def balanced(names: Sequence[str]) -> np.ndarray:
    """Weights that give every set the same total, so the many FUNSD words do not decide alone
    how a receipt or a Korean page is scored."""
    counts = {n: list(names).count(n) for n in set(names)}
    return np.array([len(names) / (len(counts) * counts[n]) for n in names])


def fit_candidate(
    records: Sequence[Record],
    x: np.ndarray,
    kw: dict[str, Any],
    sets: Sequence[str],
    meta: dict | None = None,
) -> Calibrator:
    """Fit one candidate; `x` is the design matrix over all of CANDIDATE_FEATURES."""
    kw = dict(kw)
    names = tuple(kw.pop("names", f.DEFAULT_FEATURES))
    cols = [CANDIDATE_FEATURES.index(n) for n in names]
    weight = balanced(sets) if kw.pop("balance", False) else None
    return f.fit(records, names, weight=weight, x=x[:, cols], meta=meta, **kw)


def predict(cal: Calibrator, records: Sequence[Record], x: np.ndarray) -> np.ndarray:
    cols = [CANDIDATE_FEATURES.index(n) for n in cal.weights]
    return f.predict(cal, records, x[:, cols])


def oof(
    records: Sequence[Record], x: np.ndarray, kw: dict[str, Any], sets: Sequence[str]
) -> np.ndarray:
    fold = f.page_folds(records)
    out = np.zeros(len(records))
    for k in np.unique(fold):
        test, train = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        cal = fit_candidate([records[i] for i in train], x[train], kw, [sets[i] for i in train])
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


def by_set(
    records: Sequence[Record], sets: Sequence[str], conf: np.ndarray, what: str
) -> list[tuple[str, str, dict]]:
    names = np.array(sets)
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
    dev, dev_sets = read_sets(args.dev)
    x = f.design(dev, CANDIDATE_FEATURES)
    print(f"dev: {len(dev)} words on {len({r.page for r in dev})} pages", file=sys.stderr)
    if not args.skip_cv:
        rows = by_set(dev, dev_sets, np.array([r.raw for r in dev]), "raw")
        rows += by_set(dev, dev_sets, oof_per_engine_isotonic(dev), "per-engine isotonic")
        for name, kw in CANDIDATES.items():
            rows += by_set(dev, dev_sets, oof(dev, x, kw, dev_sets), name)
        print("## cross-validated on dev pages (5 folds of whole pages)\n")
        print(table(sorted(rows, key=lambda r: r[0])))

    pages = {}
    for r, name in zip(dev, dev_sets, strict=True):
        pages.setdefault(name, set()).add(r.page)
    meta = {
        "fitted_on": {k: len(v) for k, v in sorted(pages.items())},
        "choice": args.choose,
        "labels": LABELS,
    }
    cal = fit_candidate(dev, x, CANDIDATES[args.choose], dev_sets, meta)
    if args.write:
        cal.save(args.write)
        Calibrator.load(args.write)  # it must read back
        print(f"wrote {args.write}", file=sys.stderr)
    if args.heldout:
        held, held_sets = read_sets(args.heldout)
        raw = np.array([r.raw for r in held])
        after = f.predict(cal, held)
        print(f"\n## held-out pages ({len({r.page for r in held})} pages, never fitted on)\n")
        rows = by_set(held, held_sets, raw, "raw") + by_set(held, held_sets, after, "calibrated")
        print(table(sorted(rows, key=lambda r: r[0])))
        if args.png:
            from docuocr.bench.reliability import Series, draw

            names = np.array(held_sets)
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
