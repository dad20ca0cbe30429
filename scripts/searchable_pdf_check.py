#!/usr/bin/env python3
"""Measure the searchable PDF on pages of a born-digital PDF (docs/formats.md, "Measured").

Renders PAGES of PDF at 150 DPI to PNG, reads each with `docuocr ocr --format json` and
`--format pdf` (in this process), and reports:

- words in their box: for each JSON word, pypdfium2's `get_text_bounded` on the word's box in
  the searchable PDF, counted when it is exactly the word, and when the word is one of its tokens;
- bag-of-words F1 between the text layer's words and the JSON's.

With --ocrmypdf, it also makes an image-only PDF of the PNGs (img2pdf), runs
`ocrmypdf --plugin docuocr.ocrmypdf` on it, and scores the result's text against the original
pages' own text as bags of non-space characters (char F1).

    .venv/bin/python scripts/searchable_pdf_check.py \\
        ../shared/data/korean-docs/rhwp_regulatory_analysis_80168.pdf 10,11,12 --ocrmypdf
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium

from docuocr.config import Limits
from docuocr.engine import Engine
from docuocr.pipeline import searchable_pdf

DPI = 150


def f1(truth: Counter, pred: Counter) -> tuple[float, float, float]:
    hits = sum((truth & pred).values())
    p = hits / max(sum(pred.values()), 1)
    r = hits / max(sum(truth.values()), 1)
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def scores(f: float, p: float, r: float) -> str:
    return f"F1 {f:.4f} (P {p:.4f}, R {r:.4f})"


def pdf_text(data: bytes | Path, pages: list[int] | None = None) -> str:
    doc = pdfium.PdfDocument(data)
    return "".join(doc[i].get_textpage().get_text_range() for i in pages or range(len(doc)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("pages", help="0-based page numbers, comma-separated")
    parser.add_argument("--ocrmypdf", action="store_true", help="also run the OCRmyPDF plugin")
    args = parser.parse_args()
    pages = [int(p) for p in args.pages.split(",")]
    source = pdfium.PdfDocument(args.pdf)
    engine = Engine()
    exact = contained = total = 0
    truth_words: Counter = Counter()
    layer_words: Counter = Counter()
    pngs = []
    for index in pages:
        img = source[index].render(scale=DPI / 72).to_pil().convert("RGB")
        buf = io.BytesIO()
        img.save(buf, format="PNG", dpi=(DPI, DPI))
        pngs.append(buf.getvalue())
        doc, pdf = searchable_pdf(buf.getvalue(), engine, Limits())
        page = pdfium.PdfDocument(pdf)[0]
        text, height, s = page.get_textpage(), page.get_height(), 72 / DPI
        for word in doc.pages[0].words:
            xs = [x * s for x, _ in word.quad]
            ys = [height - y * s for _, y in word.quad]
            found = text.get_text_bounded(min(xs), min(ys), max(xs), max(ys))
            total += 1
            exact += "".join(found.split()) == word.text
            contained += word.text in found.split() or "".join(found.split()) == word.text
            truth_words[word.text] += 1
        layer_words.update(text.get_text_range().split())
        print(f"page {index}: {len(doc.pages[0].words)} words", file=sys.stderr)
    print(f"words in their box: {contained}/{total} contain the word, {exact}/{total} exactly")
    print("text layer vs JSON, bag-of-words", scores(*f1(truth_words, layer_words)))
    if not args.ocrmypdf:
        return 0
    import img2pdf

    with tempfile.TemporaryDirectory() as tmp:
        scan, out = Path(tmp) / "scan.pdf", Path(tmp) / "out.pdf"
        scan.write_bytes(img2pdf.convert(pngs))
        ocrmypdf = shutil.which("ocrmypdf") or str(Path(sys.executable).with_name("ocrmypdf"))
        command = [ocrmypdf, "--plugin", "docuocr.ocrmypdf", "-j", "1", str(scan), str(out)]
        subprocess.run(command, check=True)
        truth = pdf_text(args.pdf, pages)
        pred = pdf_text(out)
    chars = f1(
        Counter(c for c in truth if not c.isspace()), Counter(c for c in pred if not c.isspace())
    )
    print("OCRmyPDF + docuocr vs the pages' own text: char", scores(*chars))
    words = f1(Counter(truth.split()), Counter(pred.split()))
    print("OCRmyPDF + docuocr vs the pages' own text: word", scores(*words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
