"""Hangul lines: PP-OCRv6 has no Hangul, so those lines go to Tesseract's LSTM, one line crop at a time."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
ASCIIISH = re.compile(r"[\x20-\x7e\u00a0-\u00ff\u2010-\u2027\u20a9\u20ac]")


def script_of(text: str) -> str:
    counts = {
        "hangul": len(HANGUL.findall(text)),
        "han": len(HAN.findall(text)),
        "kana": len(KANA.findall(text)),
        "latin": len(LATIN.findall(text)),
    }
    best = max(counts, key=counts.get)
    return best if counts[best] else "other"


def odd(text: str) -> bool:
    """Characters outside plain Latin: PP-OCR's usual reading of Hangul."""
    return any(not ASCIIISH.match(c) for c in text)


def suspect(text: str, probs: list[float], width: float, height: float) -> bool:
    """Could this PP-OCR line really be Hangul that it could not read?

    PP-OCR reads Hangul as a few Latin-extended or CJK look-alikes with high scores, so the signs are
    characters outside plain Latin, too few characters for the line's length, or a weak character.
    """
    if not text.strip():
        return True
    if odd(text):
        return True
    if too_short(text, width, height):
        return True
    return bool(probs) and min(probs) < 0.5


def too_short(text: str, width: float, height: float) -> bool:
    """Latin text averages about 0.5 em per character; Hangul read as Latin leaves long gaps."""
    return len(text) < 0.45 * width / max(height, 1.0) / 0.55 and len(text) < 12


def gaps(
    centers: list[float], step: float, aspect: float, min_em: float = 2.5
) -> list[tuple[float, float]]:
    """Stretches of a line (0..1) where PP-OCR read nothing at all, wider than `min_em` line heights.

    PP-OCR skips the Hangul in a mixed line and reads the digits around it; these are the holes.
    """
    out = []
    edges = [0.0, *centers, 1.0]
    for a, b in zip(edges, edges[1:], strict=False):
        if (b - a) * aspect > min_em:
            lo = a + step if a > 0 else 0.0
            hi = b - step if b < 1 else 1.0
            out.append((lo, hi))
    return out


@dataclass
class Piece:
    text: str
    x0: float  # left and right edge, 0..1 of the crop width
    x1: float
    conf: float  # 0..1
    space_before: bool = True  # Tesseract's line text has a space before this piece
    engine: str = "tesseract"  # or "korean", our own line model
    # One probability per character, when the reader has them (CTC).
    probs: list[float] = field(default_factory=list)


def is_hangul(pieces: list[Piece], share: float = 0.3, min_conf: float = 0.0) -> bool:
    """Tesseract found Korean here (not just Han or Latin look-alikes), confidently enough."""
    text = "".join(p.text for p in pieces)
    if not text or len(HANGUL.findall(text)) < share * len(text):
        return False
    return mean_conf(pieces) >= min_conf


def mean_conf(pieces: list[Piece]) -> float:
    """Character-weighted confidence of a Tesseract reading; 0 for nothing read."""
    n = sum(len(p.text) for p in pieces)
    return sum(p.conf * len(p.text) for p in pieces) / n if n else 0.0


def tessdata_dir(configured: str) -> str:
    """The configured folder, else the one `make install` builds in the venv, else Debian's."""
    for candidate in (configured, str(Path(sys.prefix) / "share" / "tessdata"), DEBIAN_TESSDATA):
        if candidate and (Path(candidate) / "kor.traineddata").is_file():
            return candidate.rstrip("/") + "/"
    raise FileNotFoundError(
        "no Korean Tesseract data: run `make install` (or apt-get install tesseract-ocr-kor)"
    )


class TesseractLines:
    """One tesserocr API per process, reused for every line (it is not thread-safe)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import tesserocr

        self.cfg = cfg
        self._path = tessdata_dir(cfg["tessdata"])  # a missing tessdata fails here, at start
        self._api: Any = None
        self._ril = tesserocr.RIL.WORD
        self._iterate = tesserocr.iterate_level

    @property
    def api(self) -> Any:
        """Loaded on first use: 0.2 s and 100 MB that pages without Hangul never need."""
        if self._api is None:
            import tesserocr

            self._api = tesserocr.PyTessBaseAPI(
                path=self._path,
                lang=self.cfg["languages"],
                psm=tesserocr.PSM.SINGLE_LINE,
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        return self._api

    def confidence(self, line: np.ndarray) -> float:
        """Tesseract's mean confidence (0..1) on a line crop; compares two orientations of a line."""
        self._set(line)
        return self.api.MeanTextConf() / 100.0

    def _set(self, line: np.ndarray) -> tuple[int, int]:
        h, w = line.shape[:2]
        scale = self.cfg["line_height"] / max(h, 1)
        img = cv2.resize(
            line,
            (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_CUBIC,
        )
        pad = int(self.cfg["line_height"] * 0.4)
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        self.api.SetImage(Image.fromarray(img))
        return pad, img.shape[1]

    def __call__(self, line: np.ndarray) -> list[Piece]:
        """Read an RGB line crop; returns the words Tesseract found, left to right."""
        pad, img_w = self._set(line)
        if self.api.Recognize() is False:
            return []
        pieces: list[Piece] = []
        it = self.api.GetIterator()
        width = img_w - 2 * pad
        for word in self._iterate(it, self._ril):
            try:
                text = word.GetUTF8Text(self._ril)
                box = word.BoundingBox(self._ril)
            except RuntimeError:  # an empty line: tesserocr raises rather than returning ""
                break
            if not text or not text.strip() or box is None:
                continue
            x0 = min(max((box[0] - pad) / width, 0.0), 1.0)
            x1 = min(max((box[2] - pad) / width, 0.0), 1.0)
            pieces.append(Piece(text.strip(), x0, x1, word.Confidence(self._ril) / 100.0))
        _mark_spaces(pieces, self.api.GetUTF8Text())
        return pieces


def _mark_spaces(pieces: list[Piece], line_text: str) -> None:
    """Tesseract's word iterator cuts Korean words into pieces, but its line text keeps the real
    spaces: walk both to find which pieces start a word."""
    pos = 0
    for p in pieces:
        start = line_text.find(p.text, pos)
        if start < 0:
            return  # texts disagree: keep every piece a word of its own
        p.space_before = pos == 0 or line_text[pos:start] != "" or start == 0
        pos = start + len(p.text)
