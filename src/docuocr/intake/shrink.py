"""Pages far larger than the engine needs are read smaller, and reported at their full size.

The detector sees a page at 2048 pixels on its long side and the recogniser each line at 48 pixels
high, but the engine's memory and time grow with a page's pixels: a 15000 x 10000 scan of 40 lines
peaked at 3.9 GB of a worker's address space in 9.3 s read whole (the default cap is 6 GB, and
denser pages need more), and at 2.2 GB in 4.8 s read at half size, with the same words. Such a
page is decoded (JPEG) or scaled down by a whole factor on intake; the page image remembers the
size it stands for, and the pipeline scales the word boxes back up to it, so the response speaks
of the uploaded image's pixels.
"""

from __future__ import annotations

import math

from PIL import Image

# The key in a page image's `info` that holds the (width, height) the page is reported at.
FULL_SIZE = "docuocr.full_size"

# Modes Pillow resizes with a box filter, and those `reduce` turns into one of them first.
_RESIZABLE = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK"}
_CONVERTIBLE = {"1", "P", "PA"}


def factor(width: int, height: int, read_pixels: int) -> int:
    """The smallest whole factor that brings a width x height page within `read_pixels`."""
    if read_pixels <= 0 or width * height <= read_pixels:
        return 1
    f = math.ceil(math.sqrt(width * height / read_pixels))
    while math.ceil(width / f) * math.ceil(height / f) > read_pixels:
        f += 1
    return f


def shrunk_size(width: int, height: int, f: int) -> tuple[int, int]:
    return max(1, math.ceil(width / f)), max(1, math.ceil(height / f))


def draft(img: Image.Image, f: int) -> None:
    """Before decoding: let a JPEG decode at 1/2, 1/4 or 1/8 of its size (a no-op for others)."""
    if f > 1:
        img.draft(img.mode, shrunk_size(img.width, img.height, f))


def reducible(mode: str) -> bool:
    """Whether `reduce` takes an image of this mode as it is (16-bit and float ones it does not)."""
    return mode in _RESIZABLE or mode in _CONVERTIBLE


def reduce(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A decoded image scaled down to `size` with a box filter, in its own mode where it can be:
    1-bit and palette images become L or RGB(A) first, since Pillow only resizes them by
    nearest neighbour, which breaks thin strokes."""
    if img.size == size:
        return img
    if img.mode == "1":
        img = img.convert("L")
    elif img.mode in ("P", "PA"):
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB")
    return img.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def mark(page: Image.Image, full_size: tuple[int, int]) -> Image.Image:
    """Remember that `page` stands for a page of `full_size` pixels."""
    if page.size != full_size:
        page.info[FULL_SIZE] = full_size
    return page


def full_size(page: Image.Image) -> tuple[int, int]:
    """The size a page image stands for: its own, unless it was read shrunk."""
    return tuple(page.info.get(FULL_SIZE, page.size))  # type: ignore[return-value]
