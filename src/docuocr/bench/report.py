"""Scoring of pages by dataset kind, summing into per-system totals, and the printed table.

A page's score is a dict of integer counts (summed over pages for the aggregate, so every total is
a micro average) plus each predicted word's confidence and correctness (for calibration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docuocr.bench import metrics as m
from docuocr.bench.datasets import PageTruth
from docuocr.bench.reliability import bins
from docuocr.bench.systems import Pred


@dataclass
class Score:
    counts: dict[str, int] = field(default_factory=dict)
    confidence: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self.confidence.extend(other.confidence)
        self.correct.extend(other.correct)


def score_funsd(truth: PageTruth, preds: list[Pred]) -> Score:
    match = m.match_words(truth.words, [(p.text, p.box) for p in preds])
    counts = {
        "truth": len(truth.words),
        "pred": len(preds),
        "detections": match.detections,
        "hits": match.hits,
    }
    return Score(counts, [p.confidence for p in preds], match.correct)


def score_sroie(truth: PageTruth, preds: list[Pred]) -> Score:
    """Bag of words compared caseless (SROIE's transcriptions are all capitals, whatever the
    receipt prints; ../shared/README.md), with the exact-case hits counted for information. The
    output's case is never changed: only the comparison folds it."""
    tokens = [(t, p.confidence) for p in preds for t in p.text.split()]
    match = m.match_bag([t.casefold() for t in truth.tokens], [t.casefold() for t, _ in tokens])
    exact = m.match_bag(truth.tokens, [t for t, _ in tokens])
    counts = {
        "truth": len(truth.tokens),
        "pred": len(tokens),
        "hits": match.hits,
        "hits_exact": exact.hits,
    }
    return Score(counts, [c for _, c in tokens], match.correct)


def score_upstage(truth: PageTruth, preds: list[Pred]) -> Score:
    """Agreement with Upstage's own reading: its words and ours as bags of whitespace-split words,
    both folded as page text is (NFKC, look-alikes), case kept."""
    gt = [t for w in truth.tokens for t in m.normalize_text(w).split()]
    tokens = [(t, p.confidence) for p in preds for t in m.normalize_text(p.text).split()]
    match = m.match_bag(gt, [t for t, _ in tokens])
    counts = {"truth": len(gt), "pred": len(tokens), "hits": match.hits}
    return Score(counts, [c for _, c in tokens], match.correct)


def score_text(truth: str, preds: list[Pred]) -> Score:
    """Page text: characters as a bag and in order (CER), both with whitespace removed, and words
    as a bag, which also decides each word's correctness for calibration."""
    gt = m.normalize_text(truth)
    tokens = [(t, p.confidence) for p in preds for t in m.normalize_text(p.text).split()]
    pred_text = "".join(t for t, _ in tokens)
    n_truth, n_pred, common = m.char_counts(gt, pred_text)
    words = m.match_bag(gt.split(), [t for t, _ in tokens])
    counts = {
        "chars_truth": n_truth,
        "chars_pred": n_pred,
        "chars_common": common,
        "edits": m.levenshtein(m.squeeze(gt), pred_text),
        "words_truth": len(gt.split()),
        "words_pred": len(tokens),
        "words_hit": words.hits,
    }
    return Score(counts, [c for _, c in tokens], words.correct)


def score(kind: str, truth: PageTruth, preds: list[Pred]) -> Score:
    if kind == "funsd":
        return score_funsd(truth, preds)
    if kind == "sroie":
        return score_sroie(truth, preds)
    if kind == "upstage":
        return score_upstage(truth, preds)
    return score_text(truth.text, preds)


def summarise(kind: str, counts: dict[str, int]) -> dict[str, float]:
    """Headline metrics from summed counts."""
    c = counts
    if kind in ("text", "lines"):
        r, p, f1 = m.prf(c.get("chars_common", 0), c.get("chars_truth", 0), c.get("chars_pred", 0))
        truth = c.get("chars_truth", 0)
        return {
            "char_recall": r,
            "char_precision": p,
            "char_f1": f1,
            "cer": c.get("edits", 0) / truth if truth else float(c.get("chars_pred", 0) > 0),
            "word_f1": m.prf(
                c.get("words_hit", 0), c.get("words_truth", 0), c.get("words_pred", 0)
            )[2],
        }
    r, p, f1 = m.prf(c.get("hits", 0), c.get("truth", 0), c.get("pred", 0))
    out = {"recall": r, "precision": p, "f1": f1}
    if kind == "funsd":
        out["det_f1"] = m.prf(c.get("detections", 0), c.get("truth", 0), c.get("pred", 0))[2]
    if kind == "sroie":
        out["f1_exact_case"] = m.prf(c.get("hits_exact", 0), c.get("truth", 0), c.get("pred", 0))[2]
    return out


def calibration(s: Score) -> dict[str, float | int | None]:
    return {
        "words": len(s.correct),
        "ece": m.ece(s.confidence, s.correct),
        "brier": m.brier(s.confidence, s.correct),
        "auroc": m.auroc(s.confidence, s.correct),
        "bins": bins(s.confidence, s.correct),  # the reliability diagram's numbers
    }


COLUMNS = {
    "funsd": [("R", "recall"), ("P", "precision"), ("F1", "f1"), ("det F1", "det_f1")],
    "sroie": [
        ("R", "recall"),
        ("P", "precision"),
        ("F1", "f1"),
        ("F1 exact case", "f1_exact_case"),
    ],
    "upstage": [("R", "recall"), ("P", "precision"), ("F1", "f1")],
    "text": [("char F1", "char_f1"), ("CER", "cer"), ("word F1", "word_f1")],
}
COLUMNS["lines"] = COLUMNS["text"]


def _fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def table(kind: str, aggregate: dict[str, dict]) -> str:
    """A Markdown table: one row per system, accuracy, calibration and speed."""
    head = ["system", "pages", *[c for c, _ in COLUMNS[kind]], "ECE", "Brier", "AUROC", "s/page"]
    rows = [head, ["---"] * len(head)]
    for name, agg in aggregate.items():
        rows.append(
            [
                name,
                str(agg["pages"]),
                *[_fmt(agg["metrics"][key]) for _, key in COLUMNS[kind]],
                _fmt(agg["calibration"]["ece"]),
                _fmt(agg["calibration"]["brier"]),
                _fmt(agg["calibration"]["auroc"]),
                _fmt(agg["seconds_per_page"], 2),
            ]
        )
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def per_sample(kind: str, records: list[dict]) -> str:
    """A Markdown table of F1 per file (pages summed) and system, e.g. per Upstage fixture."""
    key = {"text": "char_f1", "lines": "char_f1"}.get(kind, "f1")
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for r in records:
        if "seconds" in r:  # a timing record, not a score
            continue
        c = counts.setdefault(r["sample"], {}).setdefault(r["system"], {})
        for name, value in r.items():
            if isinstance(value, int) and name != "page":
                c[name] = c.get(name, 0) + value
    systems = list(dict.fromkeys(s for per in counts.values() for s in per))
    rows = [["file", *[f"{s} {key}" for s in systems]], ["---"] * (len(systems) + 1)]
    for sample, per in counts.items():
        rows.append(
            [sample, *[_fmt(summarise(kind, per[s])[key]) if s in per else "–" for s in systems]]
        )
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)
