"""OCR systems the bench compares: a page image in, predicted words out.

Each system is loaded once and then called page by page; its words carry an axis-aligned box in
the page image's pixels and a confidence in [0, 1].
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any, Protocol

import numpy as np
from PIL import Image

from docuocr.bench.metrics import Box

SYSTEMS = ("docuocr", "rapidocr", "tesseract")
TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
# "lines" reads as the engine's Hangul route does: kor first, one line (PSM 7).
TESSERACT_LANGS = {
    "funsd": "eng",
    "sroie": "eng",
    "text": "kor+chi_tra+eng",
    "lines": "kor+chi_tra",
    "upstage": "kor+eng",
}


@dataclass
class Pred:
    text: str
    box: Box
    confidence: float


class System(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[Pred]: ...


def quad_box(points: Any) -> Box:
    """The axis-aligned box around a quad (or any list of points)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def split_line(text: str, quad: Any, confidence: float) -> list[Pred]:
    """Split a line into its whitespace-separated words, each given the share of the line's
    quad its characters span: the fallback when a system has no word boxes."""
    q = np.asarray(quad, dtype=float).reshape(4, 2)
    n = len(text)
    out, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        end = start + len(word)
        a, b = start / n, end / n
        top = [q[0] + (q[1] - q[0]) * t for t in (a, b)]
        bottom = [q[3] + (q[2] - q[3]) * t for t in (a, b)]
        out.append(Pred(word, quad_box(top + bottom), confidence))
        start = end
    return out


def line_words(text: str, quad: Any, confidence: float, items: Sequence[Any]) -> list[Pred]:
    """Words of one RapidOCR line from its `word_results` items (text, score, quad).

    RapidOCR gives whole words for Latin-only lines but single characters on lines that mix in CJK,
    so items are glued back into the line's whitespace-separated words; when they do not spell the
    line, the line box is split by character count instead."""
    words = text.split()
    pieces = [(str(t).replace(" ", ""), float(s), b) for t, s, b in items if b is not None]
    if not pieces or "".join(p[0] for p in pieces) != "".join(words):
        return split_line(text, quad, confidence)
    out, i = [], 0
    for word in words:
        spelled, boxes, scores = "", [], []
        while len(spelled) < len(word) and i < len(pieces):
            t, s, b = pieces[i]
            spelled, i = spelled + t, i + 1
            if t:
                boxes.append(b)
                scores.append(s)
        if spelled != word:  # a piece straddles a space: give up on the boxes
            return split_line(text, quad, confidence)
        out.append(
            Pred(
                word,
                quad_box(np.concatenate([np.reshape(b, (-1, 2)) for b in boxes])),
                fmean(scores),
            )
        )
    return out


class DocuocrSystem:
    """Our engine, exactly as the API runs it on a page image."""

    name = "docuocr"

    def __init__(self) -> None:
        from docuocr.config import engine_from_env
        from docuocr.engine import Engine, default_stages

        self._engine = Engine(
            default_stages(engine_from_env())
        )  # with the DOCUOCR_ENGINE_* overrides, as before

    def read(self, image: Image.Image) -> list[Pred]:
        page = self._engine.read(np.asarray(image.convert("RGB")))
        return [
            Pred(w.text, quad_box(w.quad), float(w.confidence))
            for w in page.words
            if w.text.strip()
        ]


class RapidocrSystem:
    """Raw RapidOCR 3.x with its defaults (PP-OCRv6 small), with word boxes."""

    name = "rapidocr"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params={"Global.log_level": "error"})

    def read(self, image: Image.Image) -> list[Pred]:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        out = self._ocr(bgr, return_word_box=True)
        if getattr(out, "txts", None) is None or getattr(out, "boxes", None) is None:
            return []
        lines = list(zip(out.boxes, out.txts, out.scores, strict=False))
        word_results = list(getattr(out, "word_results", None) or ())
        if len(word_results) != len(lines):  # RapidOCR drops lines without word boxes
            word_results = [()] * len(lines)
        preds = []
        for (quad, text, score), items in zip(lines, word_results, strict=True):
            preds.extend(line_words(text, quad, float(score), items))
        return preds


class TesseractSystem:
    """Tesseract through tesserocr, read at word level; `single_line` is PSM 7, for line crops."""

    name = "tesseract"

    def __init__(self, lang: str, single_line: bool = False) -> None:
        from tesserocr import PSM, PyTessBaseAPI

        path = os.environ.get("TESSDATA_PREFIX") or (str(TESSDATA) if TESSDATA.is_dir() else None)
        kwargs = {"path": path} if path else {}
        self.lang = lang
        self._api = PyTessBaseAPI(lang=lang, **kwargs)
        if single_line:
            self._api.SetPageSegMode(PSM.SINGLE_LINE)

    def read(self, image: Image.Image) -> list[Pred]:
        from tesserocr import RIL, iterate_level

        self._api.SetImage(image.convert("RGB"))
        self._api.Recognize()
        it = self._api.GetIterator()
        if it is None:
            return []
        preds = []
        for r in iterate_level(it, RIL.WORD):
            text = (r.GetUTF8Text(RIL.WORD) or "").strip()
            box = r.BoundingBox(RIL.WORD)
            if text and box:
                preds.append(Pred(text, tuple(float(v) for v in box), r.Confidence(RIL.WORD) / 100))
        return preds


def build(name: str, kind: str, tesseract_lang: str | None = None) -> System:
    """Load one system by name; slow (models load here), so do it once."""
    if name == "docuocr":
        return DocuocrSystem()
    if name == "rapidocr":
        return RapidocrSystem()
    if name == "tesseract":
        return TesseractSystem(tesseract_lang or TESSERACT_LANGS[kind], kind == "lines")
    raise ValueError(f"unknown system {name!r}; use one of {', '.join(SYSTEMS)}")


def versions() -> dict[str, str]:
    """Versions of what was measured, for the report."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("docuocr", "rapidocr", "onnxruntime", "tesserocr"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    try:
        import tesserocr

        out["tesseract"] = tesserocr.tesseract_version().split()[1]
    except Exception:  # tesserocr missing or odd version string: the report just omits it
        pass
    return out
