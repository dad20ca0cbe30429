"""Korean fonts from Debian packages, and THE train/evaluation split (the only place it is set).

Packages: fonts-nanum fonts-nanum-extra fonts-nanum-eco fonts-noto-cjk fonts-noto-cjk-extra
fonts-unfonts-core fonts-unfonts-extra fonts-baekmuk fonts-alee fonts-lexi-gulim fonts-lexi-saebom
fonts-naver-d2coding (`make train-korean` installs them).

Four whole families are held out for evaluation, one face each in the evaluation set, chosen to
differ in style: a modern sans (NanumBarunGothic), a serif (UnBatang), a Gulim (Baekmuk Gulim) and
a rounded display face (NanumSquareRound). No face of those families is ever trained on.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

FONT_ROOT = Path("/usr/share/fonts")
logging.getLogger("fontTools").setLevel(logging.ERROR)  # Debian's fonts have harmless quirks

# Held-out families (file-name prefixes) and the face of each that the evaluation set uses.
HELDOUT_FAMILIES = ("NanumBarunGothic", "UnBatang", "baekmuk/gulim", "NanumSquareRound")
EVAL_FACES = (
    "truetype/nanum/NanumBarunGothic.ttf",
    "truetype/unfonts-core/UnBatang.ttf",
    "truetype/baekmuk/gulim.ttf",
    "truetype/nanum/NanumSquareRoundR.ttf",
)
# Handwriting, brush and decorative faces, which documents do not use: never trained on.
DECORATIVE = (
    "NanumBrush", "NanumPen", "alee/", "UnPen", "UnPilgi", "UnYetgul", "YetHangul", "UnJamoNovel",
)  # fmt: skip

# Debian's Noto CJK collections hold one face per language; these are the Korean ones.
NOTO_KR = ("Noto Sans CJK KR", "Noto Serif CJK KR", "Noto Sans Mono CJK KR")


@dataclass(frozen=True)
class Face:
    path: str
    index: int  # face index inside a .ttc collection
    family: str
    style: str

    @property
    def name(self) -> str:
        return f"{self.family} {self.style}"


def _faces(path: str) -> list[Face]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.endswith(".ttc"):
        out = []
        for i, font in enumerate(TTCollection(path, lazy=True).fonts):
            family = font["name"].getDebugName(1) or ""
            if "D2Coding" in path or any(family.startswith(k) for k in NOTO_KR):
                out.append(Face(path, i, family, font["name"].getDebugName(2) or ""))
        return out
    font = TTFont(path, lazy=True)
    names = font["name"]
    return [Face(path, 0, names.getDebugName(1) or "", names.getDebugName(2) or "")]


def _relative(path: str) -> str:
    return str(Path(path).relative_to(FONT_ROOT))


def is_heldout(face: Face) -> bool:
    rel = _relative(face.path)
    return any(h in rel for h in HELDOUT_FAMILIES)


@lru_cache(maxsize=1)
def all_faces() -> tuple[Face, ...]:
    """Every Korean face installed, decorative ones left out."""
    paths = sorted(
        p
        for p in glob.glob(str(FONT_ROOT / "**" / "*.tt[fc]"), recursive=True)
        + glob.glob(str(FONT_ROOT / "opentype" / "noto" / "*CJK*.ttc"))
        if ("nanum" in p or "noto" in p or "unfonts" in p or "baekmuk" in p or "lexi" in p
            or "d2coding" in p)
        and not any(d in p for d in DECORATIVE)
    )  # fmt: skip
    return tuple(f for p in dict.fromkeys(paths) for f in _faces(p))


def train_faces() -> tuple[Face, ...]:
    return tuple(f for f in all_faces() if not is_heldout(f))


def eval_faces() -> tuple[Face, ...]:
    faces = {_relative(f.path): f for f in all_faces()}
    missing = [e for e in EVAL_FACES if e not in faces]
    if missing:
        raise FileNotFoundError(
            f"evaluation fonts missing (make train-korean installs them): {missing}"
        )
    return tuple(faces[e] for e in EVAL_FACES)


@cache
def coverage(face: Face) -> frozenset[str]:
    """Characters the face has glyphs for (its cmap), so no line is rendered with tofu."""
    from fontTools.ttLib import TTFont

    font = TTFont(face.path, fontNumber=face.index, lazy=True)
    return frozenset(chr(c) for c in font.getBestCmap())
