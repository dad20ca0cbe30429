"""Score `docuocr ocr` output of an HWP/HWPX file against Hancom's own PDF of it.

    python scripts/hwp_eval.py OCR.json HANCOM.pdf [--pdf OURS.pdf]

Prints the page counts (ours, Hancom's) and the bag-of-characters F1 of the whole document's
text against the PDF's text layer, both sides folded as ../shared/README.md's page-text protocol
says (NFKC, dash/quote/middle-dot look-alikes, private-use characters dropped, leader dots
removed, whitespace removed). With --pdf, the same score for another PDF's text layer (e.g. the
renderer's own PDF, to tell layout losses from OCR losses).
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from pathlib import Path

from docuocr.bench.datasets import pdf_text_layer
from docuocr.bench.metrics import char_counts, prf

_FOLD = str.maketrans(
    {
        **{c: "-" for c in "‐‑‒–—―−"},
        **{c: "'" for c in "‘’‚‛′"},
        **{c: '"' for c in "“”„‟″"},
        **{c: "·" for c in "ꞏㆍ‧∙・ᆞ⋅"},
    }
)
_LEADERS = re.compile(r"[.·…‥]{3,}")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Co")
    return _LEADERS.sub("", "".join(text.split()))


def score(truth: str, pred: str) -> tuple[float, float, float]:
    """(F1, recall, precision) of the folded character bags."""
    n_truth, n_pred, hits = char_counts(fold(truth), fold(pred))
    recall, precision, f1 = prf(hits, n_truth, n_pred)
    return f1, recall, precision


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ocr_json", type=Path)
    ap.add_argument("hancom_pdf", type=Path)
    ap.add_argument("--pdf", type=Path, help="also score this PDF's text layer")
    args = ap.parse_args()
    body = json.loads(args.ocr_json.read_text())
    hancom = pdf_text_layer(args.hancom_pdf)
    truth = "".join(hancom)
    f1, recall, precision = score(truth, body["text"])
    print(
        f"{args.ocr_json.name}: pages {len(body['pages'])} (Hancom {len(hancom)}); "
        f"OCR char F1 {f1:.4f} (recall {recall:.4f}, precision {precision:.4f})"
    )
    if args.pdf:
        layer = pdf_text_layer(args.pdf)
        f1, recall, precision = score(truth, "".join(layer))
        print(
            f"{args.pdf.name}: pages {len(layer)}; text-layer char F1 {f1:.4f} "
            f"(recall {recall:.4f}, precision {precision:.4f})"
        )


if __name__ == "__main__":
    main()
