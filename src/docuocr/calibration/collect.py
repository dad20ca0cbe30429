"""Run the engine over a labelled dataset once and cache every word's raw signals and label.

The engine is slow (seconds a page) and fitting is cheap, so fitting and evaluation read a cache
(JSON lines, one page a line) instead of running OCR again. A cache is appended page by page and a
rerun skips the pages it already holds, so an interrupted run resumes where it stopped.

A word's label is the bench's notion of right (docuocr.bench.report):
- funsd: an end-to-end hit, i.e. a Hungarian IoU >= 0.5 match with a ground-truth word of exactly
  the same text.
- sroie, text: the ground truth has lines, not word boxes, so a word is right when its text is still
  in the page's ground-truth word multiset, each ground-truth word consumed once, in reading order
  (ICDAR 2019 SROIE task 2). Consuming once keeps a page of repeated "RM" from scoring every misread
  "RM" right; the rule can call a word right that sits in the wrong place with the right text, which
  is rare on receipts and prose. SROIE's transcriptions are all capitals (not one lower-case letter
  in the 7,799 words of sroie-dev) whatever the receipt prints, so its words are compared in
  capitals: "Total" read from a receipt that prints "Total" is right.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docuocr.bench import datasets
from docuocr.bench import metrics as m
from docuocr.bench.datasets import PageTruth
from docuocr.calibration.model import quad_box, quad_size
from docuocr.document import Word


@dataclass
class Record:
    """One word as the engine read it, with its label."""

    text: str
    signals: dict[str, float]
    engine: str
    script: str
    correct: bool
    raw: float  # the engine's own confidence
    page: str = ""  # "<kind>:<sample>:<page>", for splitting by page
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in page pixels
    size: tuple[float, float] | None = None  # the quad's width and height along the text

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Record:
        box = tuple(d["box"]) if d.get("box") else None
        size = tuple(d["size"]) if d.get("size") else None
        return cls(
            d["text"],
            d["signals"],
            d["engine"],
            d["script"],
            d["correct"],
            d["raw"],
            d["page"],
            box,
            size,
        )


def word_box(word: Word) -> m.Box:
    return quad_box(word.quad)


def _bag(truth: list[str], texts: list[str]) -> list[bool]:
    """Per word: every whitespace token of it still in the ground-truth multiset (bench's rule)."""
    tokens = [(i, t) for i, text in enumerate(texts) for t in text.split()]
    hit = m.match_bag(truth, [t for _, t in tokens]).correct
    out = [bool(text.split()) for text in texts]
    for (i, _), ok in zip(tokens, hit, strict=True):
        out[i] = out[i] and ok
    return out


def label(kind: str, truth: PageTruth, words: list[Word]) -> list[bool]:
    """Right or wrong for every word of one page, by the dataset kind's rule (module docstring)."""
    if kind == "funsd":
        return m.match_words(truth.words, [(w.text, word_box(w)) for w in words]).correct
    if kind == "sroie":  # its transcriptions are all capitals, whatever the print
        return _bag(truth.tokens, [w.text.upper() for w in words])
    gt = m.normalize_text(truth.text).split()
    return _bag(gt, [m.normalize_text(w.text) for w in words])


def done_pages(cache: Path) -> set[str]:
    if not cache.exists():
        return set()
    keys = set()
    for line in cache.read_text(encoding="utf-8").splitlines():
        if line.strip():
            keys.add(json.loads(line)["page"])
    return keys


def read_cache(*paths: Path) -> list[Record]:
    """Every word record in the caches, in file order."""
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                page = json.loads(line)
                out.extend(Record.from_json({**w, "page": page["page"]}) for w in page["words"])
    return out


def page_records(kind: str, key: str, truth: PageTruth, words: list[Word]) -> list[Record]:
    words = [w for w in words if w.text.strip()]  # as the bench scores them
    labels = label(kind, truth, words)
    return [
        Record(
            w.text,
            {k: float(v) for k, v in w.signals.items() if k != "raw_confidence"},
            w.engine,
            w.script,
            ok,
            float(w.signals.get("raw_confidence", w.confidence)),
            key,
            tuple(round(v, 1) for v in word_box(w)),
            tuple(round(v, 1) for v in quad_size(w.quad)),
        )
        for w, ok in zip(words, labels, strict=True)
    ]


def pages(
    dataset: datasets.Dataset, skip: set[str] | None = None
) -> Iterator[tuple[str, PageTruth, np.ndarray]]:
    """(key, truth, RGB page) for every page of the dataset not in `skip`, as the bench reads it."""
    from docuocr.bench.run import prepare
    from docuocr.config import Limits
    from docuocr.errors import DocuocrError
    from docuocr.intake import load

    limits, skip = Limits.from_env(), skip or set()
    for sample in dataset.samples:
        keys = [f"{dataset.kind}:{sample.name}:{i}" for i in range(len(sample.pages))]
        if keys and all(k in skip for k in keys):
            continue
        try:
            intake = load(sample.path.read_bytes(), limits)
        except DocuocrError as exc:
            print(f"{sample.name}: skipped, {exc.message}", file=sys.stderr)
            continue
        if dataset.kind == "text" and len(sample.pages) != len(intake.pages):
            print(
                f"{sample.name}: page count differs from its ground truth; skipped", file=sys.stderr
            )
            continue
        truths = prepare(dataset.kind, sample.pages, intake.pages, intake.total_pages, 0)
        for i, (truth, image) in enumerate(zip(truths, intake.pages, strict=False)):
            key = f"{dataset.kind}:{sample.name}:{i}"
            if key not in skip:
                yield key, truth, np.asarray(image.convert("RGB"))


def collect(
    dataset: datasets.Dataset,
    read: Callable[[np.ndarray], list[Word]],
    cache: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Record]:
    """Read every page with `read` and label its words; with `cache`, append each page to it and
    skip the pages it already holds. Returns the records of the pages read now."""
    skip = done_pages(cache) if cache else set()
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
    out: list[Record] = []
    n = len(dataset.samples)
    start = time.perf_counter()
    for done, (key, truth, image) in enumerate(pages(dataset, skip), 1):
        t = time.perf_counter()
        records = page_records(dataset.kind, key, truth, read(image))
        out.extend(records)
        if cache:
            row = {
                "page": key,
                "seconds": round(time.perf_counter() - t, 2),
                "words": [{k: v for k, v in r.__dict__.items() if k != "page"} for r in records],
            }
            with cache.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        if progress:
            right = sum(r.correct for r in records)
            progress(
                f"[{done}] {key}: {len(records)} words, {right} right, "
                f"{time.perf_counter() - t:.1f} s (total {time.perf_counter() - start:.0f} s, "
                f"{n} files)"
            )
    return out


def engine_reader() -> Callable[[np.ndarray], list[Word]]:
    """The engine's words for a page, with whatever confidence the engine gives (raw or not:
    records keep the raw one from the signals)."""
    engines = []  # loaded on the first page, so a run that finds every page cached skips it

    def read(image: np.ndarray) -> list[Word]:
        if not engines:
            from docuocr.config import engine_from_env
            from docuocr.runtime.engines import build_engine

            engines.append(build_engine(overrides=engine_from_env()))
        return engines[0].read(image).words

    return read


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docuocr.calibration.collect",
        description="Cache the engine's word signals and labels for a slice of a dataset.",
    )
    p.add_argument("dataset", type=Path)
    p.add_argument("--kind", required=True, choices=datasets.KINDS)
    p.add_argument("--range", default="0:", metavar="A:B", help="files A..B-1 in sorted order")
    p.add_argument("--cache", type=Path, required=True, metavar="JSONL")
    args = p.parse_args(argv)
    a, _, b = args.range.partition(":")
    dataset = datasets.load(args.dataset, args.kind)
    dataset.samples = dataset.samples[int(a or 0) : int(b) if b else None]
    collect(dataset, engine_reader(), args.cache, lambda s: print(s, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
