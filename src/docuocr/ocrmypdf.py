"""docuocr as OCRmyPDF's OCR engine: `ocrmypdf --plugin docuocr.ocrmypdf in.pdf out.pdf`.

OCRmyPDF does the PDF work (rasterising, page rotation, optimisation, PDF/A, and its usual
choices for pages that already have text: `--skip-text`, `--force-ocr`, `--redo-ocr`); docuocr
reads each page image it hands over. The text layer is docuocr's own (`formats/pdf.py`, through
OCRmyPDF's "sandwich" renderer, chosen here unless `--pdf-renderer` says otherwise): one
invisible word per word, following its box, with the spaces docuocr read between Korean words and
none inside them. hOCR is offered too (`--pdf-renderer fpdf2` uses it). `-l` is accepted as
OCRmyPDF wants it, but docuocr reads Korean, English and Hanja whatever it says.

Needs the `ocrmypdf` extra: `pip install 'docuocr[ocrmypdf]'` (and Ghostscript and the tesseract
program, which OCRmyPDF checks for at start).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from ocrmypdf import hookimpl
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

from docuocr import __version__
from docuocr.document import Document

log = logging.getLogger(__name__)
LANGUAGES = frozenset({"kor", "eng", "chi_tra", "kor_vert", "osd"})
_local = threading.local()  # one Engine per thread: tesserocr's API is not thread-safe


def read_page(input_file: Path) -> tuple[Document, Image.Image]:
    """OCR one page image as OCRmyPDF wrote it; the Engine is made once per worker thread."""
    from docuocr.config import engine_from_env
    from docuocr.runtime.engines import build_engine

    engine = getattr(_local, "engine", None)
    if engine is None:  # OCRmyPDF loads the plugin: this is the edge, where the settings are read
        engine = _local.engine = build_engine(overrides=engine_from_env())
    with Image.open(input_file) as img:
        img.load()
    page = engine.read(np.asarray(img.convert("RGB")))
    return Document(pages=[page]), img


class DocuocrEngine(OcrEngine):
    """OCRmyPDF's view of docuocr."""

    @staticmethod
    def version() -> str:
        return __version__

    @staticmethod
    def creator_tag(options: Any) -> str:
        return f"docuocr {__version__}"

    def __str__(self) -> str:
        return f"docuocr {__version__}"

    @staticmethod
    def languages(options: Any) -> set[str]:
        return set(LANGUAGES)

    @staticmethod
    def get_orientation(input_file: Path, options: Any) -> OrientationConfidence:
        # docuocr finds each page's orientation itself and maps its boxes back to the page as
        # stored, so the text layer fits the page unturned.
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options: Any) -> float:
        return 0.0  # tilted words keep their own angle in the text layer

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options: Any) -> None:
        from docuocr.formats.hocr import to_hocr
        from docuocr.formats.upstage import document_text

        doc, _ = read_page(input_file)
        output_hocr.write_bytes(to_hocr(doc))
        output_text.write_text(document_text(doc), encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options: Any) -> None:
        from docuocr.formats.pdf import to_pdf
        from docuocr.formats.upstage import document_text

        doc, img = read_page(input_file)
        output_pdf.write_bytes(to_pdf(doc, [img], draw_images=False))
        output_text.write_text(document_text(doc), encoding="utf-8")


@hookimpl
def check_options(options: Any) -> None:
    """Prefer docuocr's own text layer (the sandwich renderer) unless one was asked for."""
    if getattr(options, "pdf_renderer", None) == "auto":
        options.pdf_renderer = "sandwich"


@hookimpl
def get_ocr_engine(options: Any) -> OcrEngine | None:
    engine = getattr(options, "ocr_engine", "auto") or "auto"
    if engine not in ("auto", "docuocr"):
        return None
    return DocuocrEngine()
