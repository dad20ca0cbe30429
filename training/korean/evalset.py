"""The FIXED evaluation set: held-out constitution lines in held-out fonts, clean and degraded.

Built once (seeded) and saved as PNG + text under `$DOCUOCR_TRAIN_DIR/evalset`, so every session,
checkpoint and Tesseract are scored on exactly the same images. Line i uses evaluation face i % 4.
Each PNG has its text beside it (NAME.txt), so `docuocr bench DIR/clean --kind lines` scores the
engine and Tesseract on the same lines.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.korean import augment, corpus, fonts, render

SEED = 20261125
LINES = 400
VERSION = 1


@dataclass
class Item:
    id: str
    face: str
    text: str
    clean: np.ndarray  # uint8 grey, 32 px high
    degraded: np.ndarray


def build(root: Path, n: int = LINES) -> None:
    """Render and save the set (overwrites)."""
    faces = fonts.eval_faces()
    (root / "clean").mkdir(parents=True, exist_ok=True)
    (root / "degraded").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(corpus.heldout_lines(n, seed=SEED)):
        rng = random.Random(SEED + i)
        face = faces[i % len(faces)]
        if not set(text) - {" "} <= fonts.coverage(face):
            face = next(f for f in faces if set(text) - {" "} <= fonts.coverage(f))
        ink, paper = rng.randint(0, 60), rng.randint(225, 255)
        clean = render.to_height(render.render(text, face, rng, ink=ink, paper=paper))
        degraded = augment.degrade(clean, random.Random(SEED + 100_000 + i), at_least=2)
        name = f"{i:04d}"
        cv2.imwrite(str(root / "clean" / f"{name}.png"), clean)
        cv2.imwrite(str(root / "degraded" / f"{name}.png"), degraded)
        rows.append({"id": name, "face": Path(face.path).name, "text": text})
    meta = {"version": VERSION, "seed": SEED, "faces": fonts.EVAL_FACES, "lines": rows}
    (root / "lines.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    write_texts(root)


def write_texts(root: Path) -> None:
    """NAME.txt beside each NAME.png, the layout of `docuocr bench --kind lines`."""
    meta = json.loads((root / "lines.json").read_text(encoding="utf-8"))
    for row in meta["lines"]:
        for part in ("clean", "degraded"):
            (root / part / f"{row['id']}.txt").write_text(row["text"] + "\n", encoding="utf-8")


def ensure(root: Path) -> Path:
    """Build the set under `root` unless it is already there (sets saved before the .txt files
    get them)."""
    if not (root / "lines.json").exists():
        build(root)
    elif not (root / "clean" / "0000.txt").exists():
        write_texts(root)
    return root


def load(root: Path) -> list[Item]:
    meta = json.loads((root / "lines.json").read_text(encoding="utf-8"))
    out = []
    for row in meta["lines"]:
        clean = cv2.imread(str(root / "clean" / f"{row['id']}.png"), cv2.IMREAD_GRAYSCALE)
        degraded = cv2.imread(str(root / "degraded" / f"{row['id']}.png"), cv2.IMREAD_GRAYSCALE)
        out.append(Item(row["id"], row["face"], row["text"], clean, degraded))
    return out
