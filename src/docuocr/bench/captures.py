"""Capture versions of pages with ground truth: phone photos and low-resolution scans.

Turns FUNSD forms, born-digital PDF pages (Korean reports: the text layer is the truth) or any
folder of `NAME.png` + `NAME.txt` pages into a folder that `docuocr bench --kind text` reads: one
image per page with its text beside it, and `captures.json` with what was done to each page. FUNSD
pages get the text of their annotated words in reading order, so captures are scored as a bag of
words (word F1) and, for Korean, as a bag of characters (char F1).

Styles:
- clean: the page as it is (PDF pages rendered at 150 DPI), PNG: the side-by-side reference.
- photo: a phone photo of the page. The page is resampled to 75–110 DPI, foreshortened by a camera
  tilt of up to 15°, turned 4–25° either way, laid on a darker textured background with a margin
  and a soft drop shadow, lit unevenly with a soft shadow across it, blurred slightly, given
  sensor noise and saved as JPEG at quality 60–90.
- lowdpi: the page at 75–90 DPI (PDFs rendered at that resolution, images resampled), JPEG at
  quality 80–92.
- dpi90: the page at exactly 90 DPI, PNG, nothing else (PDFs rendered at 90 DPI instead of 150).

Everything is drawn from a random generator seeded by --seed and the page's name: the same seed
gives the same bytes. Dev and held-out pages are fixed by SPLITS: tune on dev, report held-out.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from docuocr.bench.datasets import IMAGE_EXTS, parse_pages, read_text_file

STYLES = ("clean", "photo", "lowdpi", "dpi90")
KINDS = ("funsd", "pdf", "text")
PDF_DPI = 150.0  # how the API renders PDFs, and the resolution of the clean pages
FUNSD_INCHES = 11.0  # FUNSD forms are US Letter scans: height / 11 in is their resolution

# Dev pages (tune on these) and held-out pages (never tune on these), 1-based. FUNSD: positions in
# the sorted annotation list of ../shared/data/funsd-train, as docs/accuracy.md uses them (the
# first 20 forms are the dev set, forms 101–112 the held-out set; 141–148 are the speed bench).
# Korean PDFs (../shared/data/korean-docs): two pages of each document per split, all with a
# substantial text layer. The synthetic Korean pages have their own split (`synth --split`).
SPLITS: dict[str, dict[str, Any]] = {
    "funsd": {"dev": range(1, 21), "heldout": range(101, 113)},
    "pdf": {
        "dev": {
            "openhwp_hwpml30_spec.pdf": (5, 20),
            "pcasm_book_korean.pdf": (12, 25),
            "rhwp_csat2025_korean.pdf": (3, 8),
            "rhwp_lh_rental_notice.pdf": (2, 9),
            "rhwp_regulatory_analysis_80168.pdf": (2, 17),
            "rhwp_sungeo_hanja_idioms.pdf": (3, 10),
        },
        "heldout": {
            "openhwp_hwpml30_spec.pdf": (14, 37),
            "pcasm_book_korean.pdf": (16, 38),
            "rhwp_csat2025_korean.pdf": (5, 14),
            "rhwp_lh_rental_notice.pdf": (12, 19),
            "rhwp_regulatory_analysis_80168.pdf": (33, 47),
            "rhwp_sungeo_hanja_idioms.pdf": (19, 41),
        },
    },
}


@dataclass
class SourcePage:
    """One page with ground truth, before any capture effect."""

    name: str  # output file stem, unique in the set
    text: str  # ground-truth page text
    dpi: float  # resolution of `image()`
    image_path: Path | None = None  # an image file, or
    pdf: tuple[Path, int] | None = None  # a PDF and a 0-based page index

    def image(self, dpi: float | None = None) -> np.ndarray:
        """The page as RGB uint8; PDFs are rendered at `dpi` (default self.dpi)."""
        if self.pdf is not None:
            return render_pdf_page(*self.pdf, dpi or self.dpi)
        with Image.open(self.image_path) as im:
            return np.asarray(im.convert("RGB"))


def render_pdf_page(path: Path, index: int, dpi: float) -> np.ndarray:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[index]
        bitmap = page.render(scale=dpi / 72.0)
        return np.asarray(bitmap.to_pil().convert("RGB"))
    finally:
        pdf.close()


def funsd_text(words: list[tuple[str, tuple[float, ...]]]) -> str:
    """Annotated words in reading order: lines by the words' vertical centres (a word joins the
    line whose centre is within half a word height), left to right, lines joined by newlines."""
    items = sorted(words, key=lambda w: ((w[1][1] + w[1][3]) / 2, w[1][0]))
    lines: list[list[tuple[str, tuple[float, ...]]]] = []
    centre = height = 0.0
    for w in items:
        c, h = (w[1][1] + w[1][3]) / 2, max(w[1][3] - w[1][1], 1.0)
        if lines and abs(c - centre) <= max(height, h) / 2:
            lines[-1].append(w)
        else:
            lines.append([w])
            centre, height = c, h
    return "\n".join(" ".join(t for t, _ in sorted(line, key=lambda w: w[1][0])) for line in lines)


def funsd_pages(src: Path, split: str) -> Iterator[SourcePage]:
    anns = sorted((src / "annotations").glob("*.json"))
    picks = range(1, len(anns) + 1) if split == "all" else SPLITS["funsd"][split]
    for n in picks:
        if n > len(anns):
            break
        ann = anns[n - 1]
        image = src / "images" / (ann.stem + ".png")
        if not image.exists():
            continue
        form = json.loads(ann.read_text(encoding="utf-8")).get("form", [])
        words = [
            (str(w["text"]).strip(), tuple(float(v) for v in w["box"]))
            for entity in form
            for w in entity.get("words", [])
            if str(w.get("text", "")).strip()
        ]
        with Image.open(image) as im:
            dpi = im.size[1] / FUNSD_INCHES
        yield SourcePage(f"funsd_{n:03d}_{ann.stem}", funsd_text(words), dpi, image_path=image)


def pdf_pages(src: Path, split: str, pages: list[int] | None) -> Iterator[SourcePage]:
    import pypdfium2 as pdfium

    files = [src] if src.is_file() else sorted(src.glob("*.pdf"))
    for path in files:
        pdf = pdfium.PdfDocument(path)
        try:
            total = len(pdf)
            if pages is not None:
                picks = pages
            elif split == "all":
                picks = list(range(1, total + 1))
            else:
                picks = list(SPLITS["pdf"][split].get(path.name, ()))
            for n in picks:
                if n > total:
                    continue
                textpage = pdf[n - 1].get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
                if text.strip():
                    yield SourcePage(f"{path.stem}.p{n:03d}", text, PDF_DPI, pdf=(path, n - 1))
        finally:
            pdf.close()


def text_pages(src: Path) -> Iterator[SourcePage]:
    """Images with a NAME.txt beside them (e.g. `python -m docuocr.bench.synth`'s pages, 150 DPI)."""
    for image in sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTS):
        txt = image.with_suffix(".txt")
        if txt.exists():
            name = str(image.relative_to(src).with_suffix("")).replace("/", "_")
            yield SourcePage(name, read_text_file(txt), PDF_DPI, image_path=image)


def sources(
    src: Path, kind: str, split: str = "all", pages: list[int] | None = None
) -> Iterator[SourcePage]:
    if kind == "funsd":
        return funsd_pages(src, split)
    if kind == "pdf":
        return pdf_pages(src, split, pages)
    if split != "all":
        raise ValueError("--split needs --kind funsd or pdf (make text sets with their own split)")
    return text_pages(src)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A generator of its own per page, so one page's draws do not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def resample(image: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def jpeg(image: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=int(quality))
    return out.getvalue()


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "PNG")
    return out.getvalue()


def page_quad(w: int, h: int, angle: float, tilt: float, far: str) -> np.ndarray:
    """Where the page's corners (TL, TR, BR, BL) land: the `far` edge shrunk as a camera tilted
    by `tilt` degrees sees it, then all turned by `angle` degrees (positive: counter-clockwise)
    about the page centre."""
    quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    shrink = 1.0 - 0.6 * math.tan(math.radians(tilt))  # 15° → the far edge 16% shorter
    edge = {"top": (0, 1), "right": (1, 2), "bottom": (2, 3), "left": (3, 0)}[far]
    a, b = quad[edge[0]].copy(), quad[edge[1]].copy()
    mid = (a + b) / 2
    inward = np.array([w / 2, h / 2]) - mid
    inward /= np.linalg.norm(inward)
    depth = (h if far in ("top", "bottom") else w) * (1 - shrink) * 0.5
    quad[edge[0]] = mid + (a - mid) * shrink + inward * depth
    quad[edge[1]] = mid + (b - mid) * shrink + inward * depth
    t = math.radians(angle)
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])  # y points down
    centre = np.array([w / 2, h / 2])
    return (quad - centre) @ rot.T + centre


def smooth_noise(rng: np.random.Generator, w: int, h: int, cells: int) -> np.ndarray:
    """Noise in [-1, 1] varying over about `cells` cells across the image."""
    small = rng.uniform(-1, 1, size=(cells, max(2, round(cells * w / h)))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A desk, table or cloth: darker than paper, tinted, with coarse and fine texture."""
    base = rng.uniform(45, 150)
    tint = np.array([1.0, rng.uniform(0.85, 1.0), rng.uniform(0.65, 0.95)], dtype=np.float32)
    coarse = smooth_noise(rng, w, h, int(rng.integers(3, 8))) * rng.uniform(10, 30)
    grain = smooth_noise(rng, w, h, int(rng.integers(40, 120))) * rng.uniform(4, 12)
    fine = rng.normal(0, rng.uniform(2, 6), size=(h, w)).astype(np.float32)
    grey = base + coarse + grain + fine
    return (grey[..., None] * tint).clip(0, 255)


def lighting(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, dict[str, float]]:
    """Uneven light (a gradient towards one side) times a soft shadow across part of the frame."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phi = rng.uniform(0, 2 * math.pi)
    ramp = xx / w * math.cos(phi) + yy / h * math.sin(phi)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    dim = rng.uniform(0.6, 0.85)  # light at the dark side
    field = dim + (1 - dim) * ramp
    # A shadow (a hand, a phone): one side of a random line, with a soft edge.
    theta = rng.uniform(0, 2 * math.pi)
    px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    side = (xx - px) * math.cos(theta) + (yy - py) * math.sin(theta)
    softness = rng.uniform(0.03, 0.12) * max(w, h)
    depth = rng.uniform(0.15, 0.4)
    shadow = 1 - depth / (1 + np.exp(-side / softness))
    return (field * shadow).astype(np.float32), {
        "light_min": round(float(dim), 3),
        "shadow_depth": round(float(depth), 3),
    }


PHOTO_DPI = (75.0, 110.0)
LOW_DPI = (75.0, 90.0)


def photo(
    page: np.ndarray,
    dpi: float,
    rng: np.random.Generator,
    dpi_range: tuple[float, float] = PHOTO_DPI,
) -> tuple[bytes, dict[str, Any]]:
    """A phone photo of `page` (RGB at `dpi`); returns JPEG bytes and what was drawn."""
    target = rng.uniform(*dpi_range)
    page = resample(page, target / dpi)
    h, w = page.shape[:2]
    angle = float(rng.uniform(4, 25) * rng.choice([-1, 1]))
    tilt = float(rng.uniform(0, 15))
    far = str(rng.choice(["top", "right", "bottom", "left"]))
    quad = page_quad(w, h, angle, tilt, far)
    margins = rng.uniform(0.04, 0.15, size=4) * max(w, h)  # left, top, right, bottom
    quad -= quad.min(axis=0) - margins[:2]
    cw = int(math.ceil(quad[:, 0].max() + margins[2]))
    ch = int(math.ceil(quad[:, 1].max() + margins[3]))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(page, matrix, (cw, ch), flags=cv2.INTER_LINEAR).astype(np.float32)
    mask = cv2.warpPerspective(
        np.ones((h, w), np.float32), matrix, (cw, ch), flags=cv2.INTER_LINEAR
    )
    canvas = background(rng, cw, ch)
    # The page's own soft shadow on the desk, offset towards the bottom right.
    off = rng.uniform(0.005, 0.02) * max(cw, ch)
    shift = np.float32([[1, 0, off], [0, 1, off]])
    drop = cv2.warpAffine(mask, shift, (cw, ch))
    drop = cv2.GaussianBlur(drop, (0, 0), max(1.0, 2 * off))
    canvas *= 1 - 0.5 * drop[..., None]
    paper = warped * rng.uniform(0.9, 1.0)  # paper is never quite white in a photo
    out = canvas * (1 - mask[..., None]) + paper * mask[..., None]
    light, lit = lighting(rng, cw, ch)
    cast = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.98)], dtype=np.float32)
    out = out * light[..., None] * cast
    sigma = float(rng.uniform(0.4, 1.1))
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    out += rng.normal(0, rng.uniform(1.5, 4), size=out.shape).astype(np.float32)
    quality = int(rng.integers(60, 91))
    data = jpeg(out.clip(0, 255).round().astype(np.uint8), quality)
    params = {
        "dpi": round(float(target), 1),
        "angle": round(angle, 2),
        "perspective": round(tilt, 2),
        "far_edge": far,
        "blur_sigma": round(sigma, 2),
        "jpeg_quality": quality,
        "size": [cw, ch],
        "page_quad": [[round(float(x), 1), round(float(y), 1)] for x, y in quad],
        **lit,
    }
    return data, params


def make(
    page: SourcePage, style: str, seed: int, dpi_range: tuple[float, float] | None = None
) -> tuple[bytes, str, dict[str, Any]]:
    """One capture of `page`: (file bytes, file extension, parameters); `dpi_range` replaces the
    style's resolution range (photo, lowdpi)."""
    rng = rng_for(seed, page.name)
    if style == "clean":
        if page.image_path is not None and page.image_path.suffix.lower() == ".png":
            return page.image_path.read_bytes(), ".png", {"dpi": round(page.dpi, 1)}
        return png(page.image()), ".png", {"dpi": round(page.dpi, 1)}
    if style == "photo":
        data, params = photo(page.image(), page.dpi, rng, dpi_range or PHOTO_DPI)
        return data, ".jpg", params
    dpi = 90.0 if style == "dpi90" else float(rng.uniform(*(dpi_range or LOW_DPI)))
    image = page.image(dpi) if page.pdf is not None else resample(page.image(), dpi / page.dpi)
    params: dict[str, Any] = {"dpi": round(dpi, 1), "size": [image.shape[1], image.shape[0]]}
    if style == "dpi90":
        return png(image), ".png", params
    params["jpeg_quality"] = int(rng.integers(80, 93))
    return jpeg(image, params["jpeg_quality"]), ".jpg", params


def generate(
    src: Path,
    out: Path,
    kind: str,
    style: str,
    seed: int = 0,
    split: str = "all",
    limit: int | None = None,
    pages: list[int] | None = None,
    dpi_range: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:
    """Write the capture set to `out` (replacing it); returns the manifest."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    manifest = []
    for page in sources(src, kind, split, pages):
        if limit is not None and len(manifest) >= limit:
            break
        data, ext, params = make(page, style, seed, dpi_range)
        (out / (page.name + ext)).write_bytes(data)
        (out / (page.name + ".txt")).write_text(page.text, encoding="utf-8")
        manifest.append({"file": page.name + ext, "style": style, "seed": seed, **params})
    doc = {"source": str(src), "kind": kind, "split": split, "style": style, "seed": seed}
    (out / "captures.json").write_text(
        json.dumps({**doc, "pages": manifest}, indent=1), encoding="utf-8"
    )
    return manifest


def parse_dpi(spec: str) -> tuple[float, float]:
    lo, _, hi = spec.partition("-")
    try:
        low, high = float(lo), float(hi or lo)
    except ValueError:
        low = high = 0.0
    if not 20 <= low <= high <= 600:
        raise ValueError(f"bad --dpi {spec!r}: use LO-HI, e.g. 60-80")
    return low, high


EPILOG = """\
dev / held-out pages (--split; tune on dev only, report held-out):
  funsd  dev: forms 1-20 of the sorted annotations; heldout: forms 101-112
  pdf    two pages of each ../shared/data/korean-docs document per split (see SPLITS in
         docuocr/bench/captures.py); other PDFs need --split all or --pages
  text   no split: make the source folder per split (synth --split dev|test)

examples (docs/accuracy.md, "Capture sets", has the commands for every set):
  python -m docuocr.bench.captures ../shared/data/funsd-train data/captures/funsd-dev/photo \\
      --kind funsd --split dev --style photo
  python -m docuocr.bench.captures ../shared/data/korean-docs data/captures/korean-docs-heldout/dpi90 \\
      --kind pdf --split heldout --style dpi90
  python -m docuocr.bench.captures data/korean-synth-clean-dev data/captures/synth-dev/photo \\
      --kind text --style photo
  docuocr bench data/captures/funsd-dev/photo --kind text"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docuocr.bench.captures",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "src", type=Path, help="source: a FUNSD folder, a PDF or folder of PDFs, or images"
    )
    p.add_argument("out", type=Path, help="output folder (replaced)")
    p.add_argument("--kind", required=True, choices=KINDS, help="source layout")
    p.add_argument("--style", required=True, choices=STYLES, help="what the capture looks like")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument(
        "--split",
        default="all",
        choices=("dev", "heldout", "all"),
        help="which pages of the source (default %(default)s)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="write at most N pages")
    p.add_argument("--pages", metavar="RANGE", help="pdf: these pages of every PDF, e.g. 1-5,8")
    p.add_argument(
        "--dpi",
        metavar="LO-HI",
        help="photo, lowdpi: draw the resolution from LO-HI DPI instead (default 75-110, 75-90)",
    )
    args = p.parse_args(argv)
    try:
        pages = parse_pages(args.pages) if args.pages else None
        dpi_range = parse_dpi(args.dpi) if args.dpi else None
        manifest = generate(
            args.src,
            args.out,
            args.kind,
            args.style,
            args.seed,
            args.split,
            args.limit,
            pages,
            dpi_range,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"captures: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(manifest)} {args.style} page(s) to {args.out}")
    return 0 if manifest else 1


if __name__ == "__main__":
    raise SystemExit(main())
