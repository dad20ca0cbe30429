"""Where training state lives: $DOCUOCR_TRAIN_DIR, else data/korean-train (gitignored)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TRAIN_DIR = str(Path(__file__).resolve().parents[2] / "data" / "korean-train")


def train_dir() -> Path:
    path = Path(os.environ.get("DOCUOCR_TRAIN_DIR", DEFAULT_TRAIN_DIR))
    path.mkdir(parents=True, exist_ok=True)
    return path
