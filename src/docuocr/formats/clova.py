"""The Naver CLOVA OCR General (V2) response, so clients written for CLOVA can read docuocr.

One `images[]` entry per page and one `fields[]` entry per word, in the Document's order; `lineBreak`
marks the last word of each line, which is how CLOVA clients rebuild lines.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from docuocr.document import Document, Page, Quad


def _confidence(x: float) -> float:
    # CLOVA's General OCR reports confidences to four decimals (e.g. 0.9998).
    return round(float(x), 4)


def _vertices(quad: Quad) -> list[dict[str, float]]:
    # CLOVA documents vertices as floats (e.g. 1148.3334); two decimals keep sub-pixel detail
    # without printing float noise.
    return [{"x": round(float(x), 2), "y": round(float(y), 2)} for x, y in quad]


def _fields(page: Page) -> list[dict[str, Any]]:
    fields = []
    for line in page.lines:
        for i, word in enumerate(line.words):
            fields.append(
                {
                    "valueType": "ALL",
                    "boundingPoly": {"vertices": _vertices(word.quad)},
                    "inferText": word.text,
                    "inferConfidence": _confidence(word.confidence),
                    "type": "NORMAL",
                    "lineBreak": i == len(line.words) - 1,
                }
            )
    return fields


def to_clova(
    doc: Document,
    *,
    request_id: str | None = None,
    timestamp: int | None = None,
    name: str = "document",
) -> dict[str, Any]:
    """Render `doc` as a CLOVA General OCR V2 response.

    `request_id` and `timestamp` (Unix milliseconds) default to a fresh uuid4 and now; pass them to
    get a reproducible response. Each image's `uid` (32 hex digits, as CLOVA prints it) is derived
    from the request id and page index, so it is unique per request yet reproducible. `name` is
    what a CLOVA client sent as `images[].name`; CLOVA echoes it on every page.
    """
    request_id = request_id or str(uuid.uuid4())
    timestamp = int(time.time() * 1000) if timestamp is None else int(timestamp)
    images = []
    for index, page in enumerate(doc.pages):
        images.append(
            {
                "uid": uuid.uuid5(uuid.NAMESPACE_URL, f"docuocr:{request_id}/{index}").hex,
                "name": name,
                "inferResult": "SUCCESS",
                "message": "SUCCESS",
                "validationResult": {"result": "NO_REQUESTED"},
                "convertedImageInfo": {
                    "width": page.width,
                    "height": page.height,
                    "pageIndex": index,
                    "longImage": False,
                },
                "fields": _fields(page),
            }
        )
    return {"version": "V2", "requestId": request_id, "timestamp": timestamp, "images": images}
