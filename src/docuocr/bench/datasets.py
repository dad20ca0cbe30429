"""Benchmark datasets: files on disk → samples (file path + ground truth per page).

Three layouts, files taken in sorted order so `--limit N` always means the same N:
- funsd: `annotations/NAME.json` (words under `form[].words[]`, `text` and `box` [x0,y0,x1,y1]) and
  `images/NAME.png`.
- sroie: `img/NAME.jpg` and `box/NAME.csv`, lines `x1,y1,...,x4,y4,text` (the text may hold commas).
- lines: text-line crops, laid out as `text` (one line of ground truth per image)
- text: any image or PDF under the folder (recursively) with plain-text ground truth beside it; see
  TEXT_RULES. `pages` picks pages of every PDF, so a 150-page report is not read whole.
- upstage: Upstage's own responses as the reference: `NAME.json` (an `ocr-2.2.1` response) beside
  the file it read (`NAME.jpg|png|pdf|...`), its words per page.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from docuocr.bench.metrics import Box

KINDS = ("funsd", "sroie", "text", "lines")  # layouts with ground truth of our own (calibrate too)
BENCH_KINDS = (*KINDS, "upstage")  # plus another OCR's reading as the reference: bench only
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pbm", ".pgm"}

TEXT_RULES = """\
text ground truth: an image NAME.EXT is scored against NAME.txt (one page). A PDF NAME.pdf takes, in
this order: NAME.p1.txt, NAME.p2.txt, ... (one per page, 1-based); else NAME.txt with pages separated
by form feeds (\\f); else the PDF's own text layer (born-digital PDFs). When the number of ground-truth
pages differs from the pages read, the whole document is scored as one text. Files without ground
truth are skipped and listed."""


@dataclass
class PageTruth:
    """Ground truth of one page; which fields are set depends on the dataset kind."""

    words: list[tuple[str, Box]] = field(default_factory=list)  # funsd
    tokens: list[str] = field(default_factory=list)  # sroie
    text: str = ""  # text
    size: tuple[int, int] | None = None  # (width, height) the word boxes refer to


@dataclass
class Sample:
    name: str
    path: Path
    pages: list[PageTruth]
    selected: list[int] | None = None  # PDF pages read (1-based), None for all


@dataclass
class Dataset:
    kind: str
    root: Path
    samples: list[Sample]
    skipped: list[str] = field(default_factory=list)  # files left out, with the reason


def load(
    root: str | Path, kind: str, limit: int | None = None, pages: list[int] | None = None
) -> Dataset:
    """Load the first `limit` samples of the dataset at `root` (all when limit is None); `pages`
    (1-based) picks pages of each PDF of a text dataset."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    loaders = {
        "funsd": load_funsd,
        "sroie": load_sroie,
        "text": load_text,
        "lines": load_lines,
        "upstage": load_upstage,
    }
    if kind not in loaders:
        raise ValueError(f"unknown dataset kind {kind!r}; use one of {', '.join(BENCH_KINDS)}")
    if pages is not None:
        if kind != "text":
            raise ValueError("--pages works with --kind text (pages of each PDF)")
        return load_text(root, limit, pages)
    return loaders[kind](root, limit)


def parse_pages(spec: str) -> list[int]:
    """`1-5,8` → [1, 2, 3, 4, 5, 8] (1-based page numbers, as written)."""
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        a, _, b = part.partition("-")
        try:
            lo, hi = int(a), int(b or a)
        except ValueError:
            lo, hi = 0, 0
        if lo < 1 or hi < lo:
            raise ValueError(f"bad page range {part!r}: use e.g. 1-5,8 (1-based)")
        out.extend(range(lo, hi + 1))
    if not out:
        raise ValueError(f"no pages in {spec!r}: use e.g. 1-5,8 (1-based)")
    return out


def pdf_page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def pdf_subset(data: bytes, pages: list[int]) -> bytes:
    """A PDF of only `pages` (1-based, in that order; pages past the end are left out)."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(data)
    out = pdfium.PdfDocument.new()
    try:
        out.import_pages(src, [p - 1 for p in pages if p <= len(src)])
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        src.close()


def _take(paths: list[Path], limit: int | None) -> list[Path]:
    paths = sorted(paths)
    return paths if limit is None else paths[: max(limit, 0)]


def load_funsd(root: Path, limit: int | None = None) -> Dataset:
    pairs, skipped = [], []
    for ann in sorted((root / "annotations").glob("*.json")):
        image = root / "images" / (ann.stem + ".png")
        if image.exists():
            pairs.append(ann)
        else:
            skipped.append(f"{ann.name}: no images/{image.name}")
    samples = []
    for ann in _take(pairs, limit):
        image = root / "images" / (ann.stem + ".png")
        form = json.loads(ann.read_text(encoding="utf-8")).get("form", [])
        words = [
            (w["text"].strip(), tuple(float(v) for v in w["box"]))
            for entity in form
            for w in entity.get("words", [])
            if str(w.get("text", "")).strip()
        ]
        with Image.open(image) as im:
            size = im.size
        samples.append(Sample(ann.stem, image, [PageTruth(words=words, size=size)]))
    return Dataset("funsd", root, samples, skipped)


def read_text_file(path: Path) -> str:
    """Ground-truth text in UTF-8 (with or without BOM), falling back to Latin-1 for odd files."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_sroie(text: str) -> list[str]:
    """Whitespace-split words of a SROIE box file; only the first 8 commas separate fields."""
    tokens = []
    for line in text.splitlines():
        parts = line.split(",", 8)
        if len(parts) < 9:
            continue
        try:
            [float(v) for v in parts[:8]]
        except ValueError:
            continue
        tokens.extend(parts[8].split())
    return tokens


def load_sroie(root: Path, limit: int | None = None) -> Dataset:
    pairs, skipped = [], []
    for image in sorted((root / "img").glob("*.jpg")):
        if (root / "box" / (image.stem + ".csv")).exists():
            pairs.append(image)
        else:
            skipped.append(f"{image.name}: no box/{image.stem}.csv")
    samples = []
    for image in _take(pairs, limit):
        tokens = parse_sroie(read_text_file(root / "box" / (image.stem + ".csv")))
        samples.append(Sample(image.stem, image, [PageTruth(tokens=tokens)]))
    return Dataset("sroie", root, samples, skipped)


def pdf_text_layer(path: Path) -> list[str]:
    """The text layer of each page of a PDF (empty strings for scanned pages)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        texts = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def text_truth(path: Path) -> list[str] | None:
    """Ground-truth page texts for one file by TEXT_RULES, or None when there is none."""
    if path.suffix.lower() != ".pdf":
        txt = path.with_suffix(".txt")
        return [read_text_file(txt)] if txt.exists() else None
    pages, n = [], 1
    while (p := path.with_name(f"{path.stem}.p{n}.txt")).exists():
        pages.append(read_text_file(p))
        n += 1
    if pages:
        return pages
    txt = path.with_suffix(".txt")
    if txt.exists():
        parts = read_text_file(txt).split("\f")
        if len(parts) > 1 and not parts[-1].strip():
            parts.pop()  # a form feed after the last page
        return parts
    layer = pdf_text_layer(path)
    return layer if any(t.strip() for t in layer) else None


def load_text(root: Path, limit: int | None = None, pages: list[int] | None = None) -> Dataset:
    files = [
        p
        for p in root.rglob("*")
        if p.is_file() and (p.suffix.lower() in IMAGE_EXTS or p.suffix.lower() == ".pdf")
    ]
    samples, skipped = [], []
    for path in sorted(files):
        if limit is not None and len(samples) >= limit:
            break
        truth = text_truth(path)
        name = str(path.relative_to(root))
        if truth is None:
            skipped.append(f"{name}: no ground truth")
            continue
        selected = None
        if pages is not None and path.suffix.lower() == ".pdf":
            n_pages = pdf_page_count(path)
            selected = [p for p in pages if p <= n_pages]
            if not selected:
                skipped.append(f"{name}: none of the pages asked for (it has {n_pages})")
                continue
            if len(truth) == n_pages:  # else scored whole, as any count mismatch is
                truth = [truth[p - 1] for p in selected]
        samples.append(Sample(name, path, [PageTruth(text=t) for t in truth], selected))
    return Dataset("text", root, samples, skipped)


def load_upstage(root: Path, limit: int | None = None) -> Dataset:
    """Inputs with Upstage's own response beside them: its words per page are the reference."""
    samples, skipped = [], []
    for response in sorted(root.glob("*.json")):
        if limit is not None and len(samples) >= limit:
            break
        inputs = [
            p
            for p in sorted(root.glob(response.stem + ".*"))
            if p.suffix.lower() in IMAGE_EXTS or p.suffix.lower() == ".pdf"
        ]
        if not inputs:
            skipped.append(f"{response.name}: no input file {response.stem}.*")
            continue
        doc = json.loads(response.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("pages"), list):
            skipped.append(f"{response.name}: not an Upstage OCR response (no pages)")
            continue
        truths = [
            PageTruth(tokens=[str(w.get("text", "")) for w in page.get("words", [])])
            for page in doc["pages"]
        ]
        samples.append(Sample(response.stem, inputs[0], truths))
    return Dataset("upstage", root, samples, skipped)


def load_lines(root: Path, limit: int | None = None) -> Dataset:
    """Text-line crops laid out as `text` datasets are (one image, one line of ground truth)."""
    text = load_text(root, limit)
    return Dataset("lines", root, text.samples, text.skipped)


def pad_line(image: Image.Image, margin: float = 0.5) -> Image.Image:
    """A line crop set on a margin of its own paper (the median of its border pixels), `margin`
    line heights wide: a detector needs room around the text, as on a page."""
    rgb = np.asarray(image.convert("RGB"))
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    paper = tuple(int(v) for v in np.median(border, axis=0))
    pad = max(2, round(margin * rgb.shape[0]))
    out = Image.new("RGB", (rgb.shape[1] + 2 * pad, rgb.shape[0] + 2 * pad), paper)
    out.paste(Image.fromarray(rgb), (pad, pad))
    return out


def rotate_box(box: Box, angle: int, width: int, height: int) -> Box:
    """Map an axis-aligned box on a `width`×`height` image turned clockwise by `angle` degrees."""
    x0, y0, x1, y1 = box
    if angle % 360 == 0:
        return box
    if angle % 360 == 90:
        return (height - y1, x0, height - y0, x1)
    if angle % 360 == 180:
        return (width - x1, height - y1, width - x0, height - y0)
    if angle % 360 == 270:
        return (y0, width - x1, y1, width - x0)
    raise ValueError(f"rotation must be a multiple of 90 degrees, not {angle}")


def rotate_image(image: Image.Image, angle: int) -> Image.Image:
    """Turn a page image clockwise by a multiple of 90 degrees, losslessly."""
    turns = {
        0: None,
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    if angle % 360 not in turns:
        raise ValueError(f"rotation must be a multiple of 90 degrees, not {angle}")
    op = turns[angle % 360]
    return image if op is None else image.transpose(op)
