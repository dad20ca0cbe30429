"""Text line → grayscale line crop, as a detector would cut it from a document.

Lines are rendered with PIL at a random font size, cropped around the ink (at least the height of
a Hangul syllable, so a line of digits is not stretched) with random padding, then scaled to the
model's height (variable width).
"""

from __future__ import annotations

import random
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.korean import fonts

HEIGHT = 32  # model input height


@lru_cache(maxsize=512)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def pick_face(text: str, faces: tuple[fonts.Face, ...], rng: random.Random) -> fonts.Face | None:
    """A random face that has a glyph for every character of `text` (None after 8 misses)."""
    need = set(text) - {" "}
    for _ in range(8):
        face = rng.choice(faces)
        if need <= fonts.coverage(face):
            return face
    return None


def render(
    text: str,
    face: fonts.Face,
    rng: random.Random,
    size: int | None = None,
    ink: int = 0,
    paper: int = 255,
    neighbours: bool = False,
) -> np.ndarray:
    """Render one line at its natural resolution; uint8 gray, height about 1.0-1.6 × text height."""
    size = size or rng.randint(16, 44)
    font = _font(face.path, face.index, size)
    left, top, right, bottom = font.getbbox(text)
    _, ref_top, _, ref_bottom = font.getbbox("가")
    top, bottom = min(top, ref_top), max(bottom, ref_bottom)
    h = max(bottom - top, 1)
    pad_t, pad_b = (round(h * rng.uniform(0.0, 0.3)) for _ in range(2))
    pad_l, pad_r = (round(h * rng.uniform(0.0, 0.6)) for _ in range(2))
    w_img = max(right - left, 1) + pad_l + pad_r
    h_img = h + pad_t + pad_b
    img = Image.new("L", (w_img, h_img), paper)
    draw = ImageDraw.Draw(img)
    x, y = pad_l - left, pad_t - top
    draw.text((x, y), text, font=font, fill=ink)
    if neighbours:  # the lines above and below bleed into a loose crop
        gap = round(h * rng.uniform(1.1, 1.5))
        draw.text((x + rng.randint(-h, h), y - gap), text[::-1], font=font, fill=ink)
        draw.text((x + rng.randint(-h, h), y + gap), text, font=font, fill=ink)
    return np.asarray(img)


def to_height(
    img: np.ndarray, height: int = HEIGHT, rng: random.Random | None = None
) -> np.ndarray:
    """Scale a crop to `height` keeping its aspect ratio."""
    h, w = img.shape[:2]
    new_w = max(1, round(w * height / h))
    if rng is None:
        interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    else:
        interp = rng.choice([cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST])
        interp = cv2.INTER_LINEAR if interp == cv2.INTER_NEAREST and rng.random() < 0.7 else interp
    return cv2.resize(img, (new_w, height), interpolation=interp)


def colours(rng: random.Random) -> tuple[int, int]:
    """Ink and paper grey levels: mostly dark on light, sometimes low contrast or light on dark."""
    if rng.random() < 0.03:
        return rng.randint(200, 255), rng.randint(0, 90)
    paper = rng.randint(170, 255) if rng.random() < 0.5 else 255
    ink = rng.randint(0, max(0, min(110, paper - 90)))
    return ink, paper


def line_image(
    text: str, face: fonts.Face, rng: random.Random, neighbours: bool = False
) -> np.ndarray:
    """A clean, height-normalised line: random size, padding and colours, no degradation."""
    ink, paper = colours(rng)
    return to_height(render(text, face, rng, ink=ink, paper=paper, neighbours=neighbours), rng=rng)
