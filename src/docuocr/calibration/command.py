"""`docuocr calibrate DATASET --kind K --out FILE`: refit the word-confidence calibration on a
user's own labelled pages, for DOCUOCR_CALIBRATION to point to."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from docuocr.bench import datasets

DESCRIPTION = """\
Read a labelled dataset with the engine, label every word right or wrong, fit the calibration
(logistic regression over the word's raw signals, then an isotonic map) and write it to FILE.
Serve with DOCUOCR_CALIBRATION=FILE to use it. A word is right when it is an end-to-end hit
(funsd: IoU >= 0.5 with a ground-truth word of the same text) or, for line-level ground truth
(sroie, text), when its text is still in the page's ground-truth words, each used once.
The numbers printed are cross-validated over pages (5 folds) when there are 5 pages or more."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="refit word-confidence calibration on your own labelled pages",
        description=DESCRIPTION,
        epilog=datasets.TEXT_RULES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", type=Path, metavar="DATASET", help="dataset folder")
    p.add_argument("--kind", required=True, choices=datasets.KINDS, help="dataset layout")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N files (sorted)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="calibration to write")
    p.add_argument(
        "--cache",
        type=Path,
        metavar="JSONL",
        help="keep the words read here, and reuse the pages already in it (refits are then fast)",
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from docuocr.calibration import collect
    from docuocr.calibration import fit as f

    if args.limit is not None and args.limit < 1:
        log("docuocr calibrate: --limit must be at least 1")
        return 2
    try:
        dataset = datasets.load(args.dataset, args.kind, args.limit)
    except (FileNotFoundError, ValueError) as exc:
        log(f"docuocr calibrate: {exc}")
        return 2
    if not dataset.samples:
        log(f"docuocr calibrate: no {args.kind} samples under {args.dataset}")
        return 2
    log(f"{len(dataset.samples)} file(s) from {args.dataset} ({args.kind}); loading the engine")
    records = collect.collect(dataset, collect.engine_reader(), args.cache, log)
    if args.cache:  # the cache may hold pages read by an earlier run too
        wanted = {f"{args.kind}:{s.name}:" for s in dataset.samples}
        records = [
            r for r in collect.read_cache(args.cache) if r.page.rsplit(":", 1)[0] + ":" in wanted
        ]
    try:
        pages = len({r.page for r in records})
        cal = f.fit(records, meta={"fitted_on": {str(args.dataset): pages}, "kind": args.kind})
    except ValueError as exc:
        log(f"docuocr calibrate: cannot fit: {exc}")
        return 1
    y = [r.correct for r in records]
    raw = [r.raw for r in records]
    if pages >= 5:
        after, how = f.cross_val(records, f.fit), "cross-validated over pages"
    else:
        after, how = f.predict(cal, records), "on the fitting pages themselves (few pages)"
    before_s, after_s = f.scores(raw, y), f.scores(after, y)
    cal.meta["fit_scores"] = {"raw": before_s, "calibrated": after_s, "how": how}
    cal.save(args.out)
    log(f"{len(records)} words on {pages} page(s), {np.mean(y):.1%} right; {how}:")
    for name, s in (("raw", before_s), ("calibrated", after_s)):
        auc = "–" if s["auroc"] is None else f"{s['auroc']:.3f}"
        log(f"  {name:>10}: ECE {s['ece']:.3f}  Brier {s['brier']:.3f}  AUROC {auc}")
    log(f"wrote {args.out}; use it with DOCUOCR_CALIBRATION={args.out}")
    return 0
