"""`docuocr bench`: run OCR systems over a dataset and report accuracy, calibration and speed."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from docuocr.bench import datasets, report
from docuocr.bench.datasets import PageTruth
from docuocr.bench.systems import SYSTEMS, TESSERACT_LANGS, Pred, System

DESCRIPTION = """\
Measure OCR accuracy, confidence calibration and speed on a dataset. Every page goes through
docuocr's intake (as the API reads files), then through each system in turn (alternating their
order page by page, so they see the same machine load). Each system is loaded once and warmed up
on the first page (not timed); s/page is the mean warm time of one page.

metrics by --kind:
  funsd  word end-to-end (docTR's protocol): Hungarian assignment maximising the IoU of axis-aligned
         word boxes, IoU >= 0.5 is a detection, exactly equal text a hit. R = hits / ground-truth
         words, P = hits / predicted words, F1; det F1 counts detections instead of hits.
  sroie  bag of words (ICDAR 2019 task 2): ground-truth lines and predicted words split on
         whitespace, compared as multisets, caseless (SROIE's transcriptions are all capitals);
         "F1 exact case" compares them with case, for information.
  text   page text after NFKC and folding middle-dot look-alikes: bag-of-characters F1 and CER
         (edit distance / ground-truth characters), whitespace removed from both; word F1 is a bag
         of whitespace-split words. Folded: NFKC, dashes, quotes and middle dots; private-use
         characters dropped; runs of 3+ leader dots removed (bullets stay apart).
  upstage  agreement with Upstage's own reading (NAME.json, an ocr-2.2.1 response, beside the
         file): its words and ours, folded as text is, compared as bags of words; one row per
         file as well as the total.
  lines  text-line crops (an image and its .txt, as for text), scored as text. Each crop is set on
         a margin of its own paper, half a line high, and read whole by each system; Tesseract
         reads it as one line (PSM 7) with kor+chi_tra, as the engine's Hangul route does.
calibration: each predicted word is right (an end-to-end hit; for sroie and text, a word still left
in the ground-truth multiset) or wrong. ECE over 15 equal-width bins, Brier score, and AUROC of
confidence (right vs wrong); --reliability draws the bins, and --json holds their numbers. Totals
are micro averages over all words or characters."""

EPILOG = (
    datasets.TEXT_RULES
    + """

tesseract languages: eng for funsd and sroie, kor+chi_tra+eng for text, kor+chi_tra for lines,
kor+eng for upstage (--tesseract-lang changes it).

capture sets (phone photos, low-DPI scans) for --kind text: python -m docuocr.bench.captures --help

examples:
  docuocr bench ../shared/data/funsd-train --kind funsd --limit 10
  docuocr bench ../shared/data/sroie-dev --kind sroie --limit 10 --systems docuocr,tesseract
  docuocr bench data/korean-dev --kind text --json out/korean.json
  docuocr bench ../shared/data/korean-docs --kind text --pages 3-4 --limit 2
  docuocr bench data/captures/korean-docs-heldout/photo --kind text
  docuocr bench ../shared/fixtures/upstage-cookbook --kind upstage
  docuocr bench data/korean-train/evalset/degraded --kind lines --systems docuocr,tesseract
  docuocr bench ../shared/data/funsd-train --kind funsd --limit 5 --rotate 90
  docuocr bench ../shared/data/funsd-train --kind funsd --limit 8 --speed --rounds 2"""
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="docuocr bench",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", type=Path, help="dataset folder")
    p.add_argument(
        "--kind", required=True, choices=datasets.BENCH_KINDS, help="dataset layout and metrics"
    )
    p.add_argument("--limit", type=int, metavar="N", help="score only the first N files (sorted)")
    p.add_argument(
        "--pages",
        metavar="RANGE",
        help="text: read only these pages of each PDF, e.g. 1-5,8 (1-based)",
    )
    p.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        metavar="LIST",
        help=f"comma-separated systems to run (default: {','.join(SYSTEMS)})",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="write the full report (per page too)")
    p.add_argument(
        "--reliability",
        type=Path,
        metavar="PNG",
        help="draw each system's reliability diagram (share right per confidence bin) to PNG",
    )
    p.add_argument(
        "--rotate",
        type=int,
        default=0,
        choices=(0, 90, 180, 270),
        help="turn every page clockwise by this many degrees first (funsd boxes turn with it)",
    )
    p.add_argument(
        "--speed",
        action="store_true",
        help="measure speed instead of accuracy: raw RapidOCR (warm), `docuocr ocr` (cold start "
        "included) and `docuocr serve` with --workers workers, on the same files",
    )
    p.add_argument(
        "--rounds", type=int, default=2, metavar="N", help="--speed: rounds (default: %(default)s)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="--speed: server workers, 0 to skip the server (default: %(default)s, the cores)",
    )
    p.add_argument(
        "--tesseract-lang",
        metavar="LANGS",
        help="Tesseract languages, e.g. jpn+eng (default by kind: "
        + ", ".join(f"{k} {v}" for k, v in TESSERACT_LANGS.items())
        + ")",
    )
    return p


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(
    kind: str, truths: list[PageTruth], images: list[Image.Image], total: int, angle: int
) -> list[PageTruth]:
    """Ground truth for the page images as read: cut to the page limit, boxes scaled to the
    rasterised size and turned with the page."""
    if len(truths) == total and len(images) < total:
        truths = truths[: len(images)]
    if kind != "funsd":
        return truths
    out = []
    for truth, image in zip(truths, images, strict=False):
        w, h = image.size
        sx, sy = (w / truth.size[0], h / truth.size[1]) if truth.size else (1.0, 1.0)
        words = [
            (t, datasets.rotate_box((b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy), angle, w, h))
            for t, b in truth.words
        ]
        out.append(PageTruth(words=words, size=(w, h)))
    return out


def units(
    kind: str, truths: list[PageTruth], preds: list[list[Pred]]
) -> list[tuple[int | str, PageTruth, list[Pred]]]:
    """(page, truth, predictions) to score. Page text whose page count does not match the pages read
    is scored as one document; box-level kinds score the pages both sides have."""
    if len(truths) == len(preds) or kind != "text":
        return [(i, t, p) for i, (t, p) in enumerate(zip(truths, preds, strict=False))]
    text = "\n".join(t.text for t in truths)
    return [("all", PageTruth(text=text), [w for page in preds for w in page])]


def timed_read(system: System, image: Image.Image) -> tuple[list[Pred], float, str | None]:
    start = time.perf_counter()
    try:
        preds = system.read(image)
        error = None
    except Exception as exc:  # one failing page must not end a long run; it is counted and shown
        preds, error = [], f"{type(exc).__name__}: {exc}"
    return preds, time.perf_counter() - start, error


def bench(
    dataset: datasets.Dataset,
    systems: list[System],
    angle: int = 0,
    scores: dict[str, report.Score] | None = None,
) -> dict[str, Any]:
    """Run every system on every page; returns the report (aggregate and per page). A `scores`
    dict receives each system's summed Score (every word's confidence and correctness)."""
    from docuocr.config import Limits
    from docuocr.errors import DocuocrError
    from docuocr.intake import load

    kind, limits = dataset.kind, Limits.from_env()
    totals = {s.name: report.Score() for s in systems}
    seconds: dict[str, list[float]] = {s.name: [] for s in systems}
    errors = {s.name: 0 for s in systems}
    records, skipped = [], list(dataset.skipped)
    warm, n_pages, start = False, 0, time.perf_counter()
    n = len(dataset.samples)
    for i, sample in enumerate(dataset.samples):
        data = sample.path.read_bytes()
        if sample.selected is not None:
            data = datasets.pdf_subset(data, sample.selected)
        try:
            intake = load(data, limits)
        except DocuocrError as exc:
            skipped.append(f"{sample.name}: {exc.message}")
            log(f"[{i + 1}/{n}] {sample.name}: skipped, {exc.message}")
            continue
        truths = prepare(kind, sample.pages, intake.pages, intake.total_pages, angle)
        images = [datasets.rotate_image(img, angle) for img in intake.pages]
        if kind == "lines":
            images = [datasets.pad_line(img) for img in images]
        if not warm and images:
            log("warming up: " + ", ".join(s.name for s in systems))
            for s in systems:
                timed_read(s, images[0])
            warm = True
        preds: dict[str, list[list[Pred]]] = {s.name: [] for s in systems}
        for p, image in enumerate(images):
            order = systems if n_pages % 2 == 0 else systems[::-1]
            for s in order:
                words, dt, error = timed_read(s, image)
                if error:
                    errors[s.name] += 1
                    log(f"  {s.name} failed on {sample.name} page {p + 1}: {error}")
                preds[s.name].append(words)
                seconds[s.name].append(dt)
                records.append({"sample": sample.name, "page": p, "system": s.name, "seconds": dt})
            n_pages += 1
        for s in systems:
            for page, truth, words in units(kind, truths, preds[s.name]):
                sc = report.score(kind, truth, words)
                totals[s.name].add(sc)
                records.append(
                    {
                        "sample": sample.name,
                        "page": page,
                        "system": s.name,
                        **sc.counts,
                        **report.summarise(kind, sc.counts),
                    }
                )
        elapsed = time.perf_counter() - start
        eta = elapsed / (i + 1) * (n - i - 1)
        log(
            f"[{i + 1}/{n}] {sample.name}: {len(images)} page(s), "
            f"{elapsed:.0f} s elapsed, ETA {eta:.0f} s"
        )
    if scores is not None:
        scores.update(totals)
    aggregate = {
        s.name: {
            "pages": len(seconds[s.name]),
            "errors": errors[s.name],
            "seconds_per_page": sum(seconds[s.name]) / len(seconds[s.name])
            if seconds[s.name]
            else None,
            "counts": totals[s.name].counts,
            "metrics": report.summarise(kind, totals[s.name].counts),
            "calibration": report.calibration(totals[s.name]),
        }
        for s in systems
    }
    return {"aggregate": aggregate, "pages": records, "skipped": skipped, "page_count": n_pages}


def main(argv: list[str] | None = None) -> int:
    """`docuocr bench ...`; returns the process exit code."""
    args_list = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(args_list)
    except SystemExit as exc:  # --help or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if not names or unknown:
        log(
            f"docuocr bench: unknown system(s) {', '.join(unknown) or '(none)'}; use {', '.join(SYSTEMS)}"
        )
        return 2
    if args.limit is not None and args.limit < 1:
        log("docuocr bench: --limit must be at least 1")
        return 2
    try:
        pages = datasets.parse_pages(args.pages) if args.pages else None
        dataset = datasets.load(args.dataset, args.kind, args.limit, pages)
    except (FileNotFoundError, ValueError) as exc:
        log(f"docuocr bench: {exc}")
        return 2
    if not dataset.samples:
        log(f"docuocr bench: no {args.kind} samples under {args.dataset}")
        for line in dataset.skipped[:10]:
            log(f"  skipped {line}")
        return 1
    log(f"{len(dataset.samples)} file(s) from {args.dataset} ({args.kind})")
    if args.speed:
        return _speed(args, [s.path for s in dataset.samples])

    from docuocr.bench.systems import build, versions

    systems = []
    for name in names:
        t = time.perf_counter()
        systems.append(build(name, args.kind, args.tesseract_lang))
        log(f"loaded {name} in {time.perf_counter() - t:.1f} s")
    scores: dict[str, report.Score] = {}
    result = bench(dataset, systems, args.rotate, scores)

    print(
        f"{args.dataset} ({args.kind}, {len(dataset.samples)} files, {result['page_count']} pages"
        + (f", rotated {args.rotate}°" if args.rotate else "")
        + ")"
    )
    print(report.table(args.kind, result["aggregate"]))
    if args.kind == "upstage":
        print()
        print(report.per_sample(args.kind, result["pages"]))
    failed = {k: v["errors"] for k, v in result["aggregate"].items() if v["errors"]}
    if failed:
        print(
            "pages that failed (scored as empty): "
            + ", ".join(f"{k} {v}" for k, v in failed.items())
        )
    if result["skipped"]:
        print(f"{len(result['skipped'])} file(s) skipped (see --json for the list)")
    if args.reliability:
        from docuocr.bench.reliability import Series, draw

        where = f"{args.dataset.name} ({args.kind})"
        series = [Series(f"{n}, {where}", s.confidence, s.correct) for n, s in scores.items()]
        log(f"wrote {draw(series, args.reliability)}")
    if args.json:
        doc = {
            "dataset": str(args.dataset),
            "kind": args.kind,
            "limit": args.limit,
            "pages": args.pages,
            "rotate": args.rotate,
            "systems": names,
            "tesseract_lang": args.tesseract_lang or TESSERACT_LANGS[args.kind],
            "files": len(dataset.samples),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "versions": versions(),
            **result,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


def _speed(args: argparse.Namespace, files: list[Path]) -> int:
    from docuocr.bench import speed

    if args.rounds < 1 or args.workers < 0:
        log("docuocr bench: --rounds must be at least 1 and --workers at least 0")
        return 2
    timings = speed.run(files, args.rounds, args.workers)
    print(f"{args.dataset} ({len(files)} files, {args.rounds} rounds, {os.cpu_count()} cores)")
    print(speed.table(timings))
    if args.json:
        doc = {
            "dataset": str(args.dataset),
            "files": [str(f) for f in files],
            "rounds": args.rounds,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "timings": [
                {"name": t.name, "pages": t.pages, "seconds": t.seconds, "s_per_page": t.s_per_page}
                for t in timings
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        log(f"wrote {args.json}")
    return 0
