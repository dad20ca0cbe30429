"""Image files (JPEG, PNG, BMP, TIFF, HEIC) to upright RGB pages."""

from __future__ import annotations

import io

import numpy as np
import pillow_heif
from PIL import Image, UnidentifiedImageError

from docuocr.config import Limits
from docuocr.errors import InvalidDocument, PageTooLarge
from docuocr.intake import shrink
from docuocr.intake.checks import check_image_pixels

pillow_heif.register_heif_opener()
# Pillow's own bomb guard (warn at 89 MP, fail at 179 MP) is stricter than the hosted API's 100 MP
# and reports no dimensions; check_image_pixels checks every page's declared size instead.
Image.MAX_IMAGE_PIXELS = None

# The Pillow plugins allowed per sniffed kind, so a file is never decoded as something else.
PIL_FORMATS = {
    "jpeg": ["JPEG", "MPO"],
    "png": ["PNG"],
    "bmp": ["BMP"],
    "tiff": ["TIFF"],
    "heic": ["HEIF"],
}

# EXIF orientation → the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Orientations that turn the page a quarter: its width and height swap.
_SIDEWAYS = {5, 6, 7, 8}

# Decoder failures on bad input; anything else still ends as InvalidDocument in intake.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)


class ImagePages:
    """An image file's pages, decoded one at a time: a TIFF page when asked for, so a long TIFF
    never holds more than one decoded page. Only TIFF pages are pages; APNG/MPO frames and HEIC
    side images are not."""

    def __init__(self, data: bytes, kind: str) -> None:
        self.name = kind.upper()
        try:
            self._img = Image.open(io.BytesIO(data), formats=PIL_FORMATS[kind])
        except Image.DecompressionBombError as exc:  # only if someone restored Pillow's guard
            raise PageTooLarge(f"page 1 is too large: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise InvalidDocument(
                f"the {self.name} image is corrupt or truncated: its header cannot be read"
            ) from exc
        except _DECODE_ERRORS as exc:
            raise InvalidDocument(f"the {self.name} image is corrupt or truncated ({exc})") from exc
        self.page_count = _frame_count(self._img, self.name) if kind == "tiff" else 1
        self._first: Image.Image | None = None  # a single-frame image decodes once

    def page(self, index: int, limits: Limits) -> Image.Image:
        """Page `index` (0-based), upright RGB; one over `limits.read_pixels` is decoded smaller
        (see shrink.py)."""
        if self._first is not None:
            return self._first
        img, name = self._img, self.name
        if index or img.tell():
            _seek(img, index, name)
        check_image_pixels(img.width, img.height, limits, index + 1)
        full = img.size
        factor = shrink.factor(*full, limits.read_pixels)
        try:
            turn = orientation(img)
            shrink.draft(img, factor)
            img.load()  # full decode now, so a truncated file fails here
            # 16-bit and float pages go to 8 bits first, as to_rgb scales them.
            source = img if factor == 1 or shrink.reducible(img.mode) else to_rgb(img)
            small = shrink.reduce(source, shrink.shrunk_size(*full, factor))
            page = upright(to_rgb(small), turn)
        except _DECODE_ERRORS as exc:
            _fail_if_out_of_memory(img, exc)
            raise InvalidDocument(
                f"the {name} image is corrupt or truncated: page {index + 1} cannot be "
                f"decoded ({exc})"
            ) from exc
        if self.page_count == 1:
            self._first = page
        elif page is img:  # the next seek reuses img's buffer
            page = page.copy()
        return shrink.mark(page, full[::-1] if turn in _SIDEWAYS else full)

    def close(self) -> None:
        """The file is in memory, and a single page may be the image itself: nothing to free
        but the reference."""
        self._img = None  # type: ignore[assignment]


def _fail_if_out_of_memory(img: Image.Image, exc: BaseException) -> None:
    """libtiff reports a failed allocation as a plain "decoder error -2". When a buffer for this
    page's RGB copy cannot be had either, memory is what failed, not the file: say so (413, not
    400). A worker near its address-space cap sent a huge TIFF back as "corrupt" (flaky test)."""
    try:
        probe = np.empty(img.width * img.height * 3, np.uint8)  # the RGB page to come
    except MemoryError:
        raise MemoryError(f"no memory to decode a {img.width}x{img.height} page") from exc
    del probe


def _frame_count(img: Image.Image, name: str) -> int:
    try:
        return int(getattr(img, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        raise InvalidDocument(f"the {name} file's page directory is corrupt ({exc})") from exc


def _seek(img: Image.Image, index: int, name: str) -> None:
    try:
        img.seek(index)
    except _DECODE_ERRORS as exc:
        _fail_if_out_of_memory(img, exc)
        raise InvalidDocument(f"the {name} file's page {index + 1} is corrupt ({exc})") from exc


def orientation(img: Image.Image) -> int:
    """The EXIF/TIFF orientation tag; 1 (upright) when absent or unreadable."""
    try:
        return int(img.getexif().get(0x0112, 1))
    except _DECODE_ERRORS:
        return 1  # a broken EXIF block should not cost the page


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """Turn the pixels the way the orientation tag says viewers show them."""
    method = _UPRIGHT.get(orientation)
    return img.transpose(method) if method is not None else img


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: high bit depths scaled down, transparency flattened on white."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        img = _to_8bit(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        page = Image.new("RGB", rgba.size, (255, 255, 255))
        page.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return page
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey to 8-bit. Pillow's own convert clips at 255 instead of scaling."""
    a = np.asarray(img)
    if img.mode.startswith("I;16"):
        out = a.astype(np.uint16) >> 8
    elif img.mode == "I":
        # 32-bit integers usually hold 16-bit samples; small values are already 8-bit.
        out = np.clip(a, 0, 65535) >> 8 if a.size and a.max() > 255 else np.clip(a, 0, 255)
    else:  # "F": 0..1 floats or 0..255
        scale = 255.0 if a.size and np.nanmax(a) <= 1.0 else 1.0
        out = np.clip(np.nan_to_num(a) * scale + 0.5, 0, 255)
    return Image.fromarray(out.astype(np.uint8))  # 2-D uint8 → "L"
