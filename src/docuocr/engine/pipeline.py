"""Placeholder engine on raw RapidOCR; replaced by our own pipeline."""

from __future__ import annotations

import numpy as np

from docuocr.document import Line, Page, Word


class Engine:
    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params={"Global.log_level": "error"})

    def read(self, image: np.ndarray) -> Page:
        """Read an RGB uint8 page image."""
        h, w = image.shape[:2]
        out = self._ocr(image[:, :, ::-1].copy())
        lines = []
        if out.boxes is not None:
            for box, text, score in zip(out.boxes, out.txts, out.scores, strict=False):
                quad = tuple((float(x), float(y)) for x, y in box)
                lines.append(Line([Word(text, quad, float(score), engine="ppocr")]))
        return Page(width=w, height=h, lines=lines)
