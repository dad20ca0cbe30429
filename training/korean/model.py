"""CRNN + CTC line recogniser: a small VGG-style CNN, a BiLSTM, a linear head over the charset.

Input: (batch, 1, 32, width) grey scaled to [-1, 1], padded with 0. Output: (batch, width/4,
classes) logits; class 0 is the CTC blank. Width is dynamic; the CNN halves the height five
times and the width twice, so one output step covers 4 pixels (1/8 of a line height).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Size:
    channels: tuple[int, int, int, int] = (32, 64, 128, 192)
    hidden: int = 160  # LSTM units per direction


SIZES = {
    "xs": Size((16, 32, 64, 128), 128),
    "xm": Size((24, 48, 96, 160), 160),
    "m": Size((32, 64, 128, 192), 160),
    "s": Size((32, 64, 128, 256), 192),
}


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


class CRNN(nn.Module):
    def __init__(self, classes: int, size: Size = SIZES["m"]) -> None:
        super().__init__()
        c1, c2, c3, c4 = size.channels
        self.size = size
        self.cnn = nn.Sequential(
            *_block(1, c1),
            nn.MaxPool2d(2, 2),  # 16 × W/2
            *_block(c1, c2),
            nn.MaxPool2d(2, 2),  # 8 × W/4
            *_block(c2, c3),
            *_block(c3, c3),
            nn.MaxPool2d((2, 1), (2, 1)),  # 4 × W/4
            *_block(c3, c4),
            *_block(c4, c4),
            nn.MaxPool2d((2, 1), (2, 1)),  # 2 × W/4
            nn.Conv2d(c4, c4, (2, 1), bias=False),  # 1 × W/4: collapse the height
            nn.BatchNorm2d(c4),
            nn.ReLU(True),
        )
        self.rnn = nn.LSTM(c4, size.hidden, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(2 * size.hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.cnn(x).squeeze(2).transpose(1, 2)  # (B, T, C)
        f, _ = self.rnn(f)
        return self.head(self.dropout(f))


def build(classes: int, size: str = "m") -> CRNN:
    return CRNN(classes, SIZES[size])


def describe(size: str) -> dict:
    return {"size": size, **asdict(SIZES[size])}


def steps(width: int) -> int:
    """Output steps for an input width (two 2× poolings)."""
    return width // 4


class Exported(nn.Module):
    """What the ONNX file holds: PP-OCR's interface, so the engine's `Recognizer` can read it.

    Input (batch, 3, 32, width) RGB scaled to [-1, 1] (PP-OCR's normalisation); output softmax
    probabilities (batch, width/4, classes).
    """

    def __init__(self, net: CRNN) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True)
        return torch.softmax(self.net(grey), dim=-1)
