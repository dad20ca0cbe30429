"""Page images as JPEG data URLs, for the web viewer. Made in the OCR worker from the very images
the engine read, so the server process never decodes a document itself."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

# Previews larger than this on the long side are scaled down; the boxes stay in page pixels and
# the page scales the image to the page's size, so only sharpness changes.
MAX_SIDE = 2000
QUALITY = 85


def preview(page: Image.Image) -> dict[str, Any]:
    """One page image as a JPEG data URL, with the size it was sent at."""
    img = page.convert("RGB")
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=QUALITY)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"width": img.width, "height": img.height, "url": f"data:image/jpeg;base64,{data}"}
