"""On-the-fly training batches: sample text, pick a training font, render, degrade, batch.

All randomness comes from one `random.Random`, whose state goes into the checkpoint, so a
resumed run continues the same stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from training.korean import augment, charset, corpus, fonts, model, render

MAX_WIDTH = 1024  # px at height 32; longer lines are re-drawn
CLEAN_SHARE = 0.25  # lines left undegraded (after the warm-up curriculum)
NEIGHBOUR_SHARE = 0.06
MAX_CHARS = 40
CURRICULUM = 150_000  # samples over which lines grow from 10 to MAX_CHARS characters


def max_chars(samples: int) -> int:
    """Short lines first: CTC leaves its all-blank plateau much sooner on them."""
    return min(MAX_CHARS, 10 + (MAX_CHARS - 10) * samples // CURRICULUM)


def clean_share(samples: int) -> float:
    """More clean lines early on, down to CLEAN_SHARE."""
    return max(CLEAN_SHARE, 0.6 - (0.6 - CLEAN_SHARE) * samples / CURRICULUM)


@dataclass
class Batch:
    images: torch.Tensor  # (B, 1, 32, W) in [-1, 1], right-padded with 0
    targets: torch.Tensor  # concatenated class ids
    target_lengths: torch.Tensor
    texts: list[str]


def fits(text: str, width: int) -> bool:
    """CTC needs a step per character plus one between repeated characters."""
    repeats = sum(a == b for a, b in zip(text, text[1:], strict=False))
    return model.steps(width) >= len(text) + repeats


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """Grey uint8 crops of one height → (B, 1, H, Wmax), scaled to [-1, 1], zero-padded (as the
    engine's Recognizer pads)."""
    h = images[0].shape[0]
    width = max(i.shape[1] for i in images)
    out = np.zeros((len(images), 1, h, width), dtype=np.float32)
    for j, img in enumerate(images):
        out[j, 0, :, : img.shape[1]] = img.astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(out)


class Lines:
    """An endless stream of (image, text) training samples."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.faces = fonts.train_faces()
        self.samples = 0  # samples trained on so far (the trainer sets it): paces the curriculum

    def sample(self) -> tuple[np.ndarray, str]:
        rng = self.rng
        while True:
            text = corpus.sample_text(rng, max_chars(self.samples))
            face = render.pick_face(text, self.faces, rng)
            if face is None:
                continue
            img = render.line_image(text, face, rng, neighbours=rng.random() < NEIGHBOUR_SHARE)
            if rng.random() >= clean_share(self.samples):
                img = augment.degrade(img, rng)
            if img.shape[1] <= MAX_WIDTH and fits(text, img.shape[1]):
                return img, text

    def batches(self, batch_size: int, pool: int = 8):
        """Batches of similar width (less padding): draw `pool` batches, sort, shuffle."""
        while True:
            samples = [self.sample() for _ in range(batch_size * pool)]
            samples.sort(key=lambda s: s[0].shape[1])
            groups = [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]
            self.rng.shuffle(groups)
            for g in groups:
                ids = [charset.encode(t) for _, t in g]
                yield Batch(
                    to_tensor([img for img, _ in g]),
                    torch.tensor([i for seq in ids for i in seq], dtype=torch.long),
                    torch.tensor([len(seq) for seq in ids], dtype=torch.long),
                    [t for _, t in g],
                )
