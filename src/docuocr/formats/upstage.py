"""The Upstage Document OCR response (`ocr-2.2.1`), exactly as the hosted API shapes it."""

from __future__ import annotations

from typing import Any

from docuocr.document import Document, Page, Quad


def _round(x: float) -> float:
    # The hosted API reports confidences to four decimals.
    return round(float(x), 4)


def vertices(quad: Quad) -> list[dict[str, int]]:
    return [{"x": int(round(x)), "y": int(round(y))} for x, y in quad]


def page_text(page: Page) -> str:
    """A page's text as Upstage writes it: words joined by " ", lines by " \\n"."""
    return " \n".join(line.text for line in page.lines)


def document_text(doc: Document) -> str:
    """The document's text as Upstage writes it: its pages' texts run together."""
    return "".join(page_text(page) for page in doc.pages)


def to_upstage(doc: Document) -> dict[str, Any]:
    pages = []
    word_id = 0  # ids run on across pages
    for index, page in enumerate(doc.pages):
        words = []
        for word in page.words:
            words.append(
                {
                    "boundingBox": {"vertices": vertices(word.quad)},
                    "confidence": _round(word.confidence),
                    "id": word_id,
                    "text": word.text,
                }
            )
            word_id += 1
        pages.append(
            {
                "confidence": _round(page.confidence),
                "height": page.height,
                "id": index,
                "text": page_text(page),
                "width": page.width,
                "words": words,
            }
        )
    return {
        "apiVersion": "1.1",
        "confidence": _round(doc.confidence),
        "metadata": {
            "pages": [
                {"height": p.height, "page": i + 1, "width": p.width}
                for i, p in enumerate(doc.pages)
            ]
        },
        "mimeType": "multipart/form-data",
        "modelVersion": doc.model,
        "numBilledPages": len(doc.pages),
        "pages": pages,
        "stored": False,
        "text": document_text(doc),
    }
