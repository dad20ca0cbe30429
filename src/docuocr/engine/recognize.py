"""Line recognition with PP-OCRv6 small (CTC), keeping each character's probability and position."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from docuocr.engine.onnx import Model, bucket


@dataclass
class LineRead:
    text: str
    probs: list[float] = field(default_factory=list)  # one per character of text
    centers: list[float] = field(default_factory=list)  # character centres, 0..1 of the crop width
    step: float = 0.0  # width of one CTC step, as a fraction of the crop width
    # For each character the model was unsure of: its runners-up (character, probability) at the
    # same step, "" standing for a blank (the character may not be there at all).
    alts: list[list[tuple[str, float]]] = field(default_factory=list)


class Spares:
    """Recognisers whose threads have run out of files, lent to engines still reading theirs.

    The CLI reads files on one thread per core; at the end one thread reads the last page while
    the other core idles (0.6-0.8 s of a run on 8 FUNSD pages). A lent recogniser has read the
    same kinds of pages, so it has prepared most of their input shapes already."""

    def __init__(self) -> None:
        self._idle: list[Recognizer] = []
        self._lock = threading.Lock()

    def give(self, recognizer: Recognizer) -> None:
        with self._lock:
            self._idle.append(recognizer)

    def take(self) -> Recognizer | None:
        with self._lock:
            return self._idle.pop() if self._idle else None


class Recognizer:
    def __init__(self, cfg: dict[str, Any], runtime: dict[str, Any]) -> None:
        self.cfg = cfg
        self.model = Model(cfg["model"], runtime)
        self.charset = ["<blank>", *self.model.metadata["character"].splitlines(), " "]
        self.height = int(cfg["height"])
        self.min_width = int(cfg["min_width"])
        self.squeeze = float(cfg["squeeze"])
        self.alts_below = float(cfg["alternatives_below"])
        self.buckets = int(runtime.get("shape_buckets", 0))
        self.max_ratio = float(cfg["max_ratio"])
        self.batch_size = int(cfg["batch_size"])
        self.spares: Spares | None = None  # other engines' recognisers, idle (the CLI's threads)

    def __call__(self, crops: list[np.ndarray]) -> list[LineRead]:
        """Read RGB line crops, `batch_size` at a time, widest first.

        One crop a call is the default: OpenVINO's cost per input column is the same for 1 row as
        for 8 or 16 (46 us on one thread here), so batching bought nothing but padding. In batches
        of 8, crops were padded to the widest of their batch, 30% of the columns read on FUNSD;
        alone, each is padded only to its width bucket (9%), and its reading no longer depends
        on which crops share its batch, or on which recogniser reads it: a spare one (`Spares`)
        that turns up while these are read takes the next batches on a thread of its own."""
        out: list[LineRead | None] = [None] * len(crops)
        # A sliver of a box (1 px high, a page wide) would be a recogniser input thousands of steps
        # long: its output alone needs gigabytes. No real line is wider than max_ratio heights.
        ratios = [
            min(self.max_ratio, self.squeeze * c.shape[1] / max(c.shape[0], 1)) for c in crops
        ]
        order = np.argsort(ratios)
        bs = self.batch_size
        # Widest batch first: OpenVINO grows its buffers for each input larger than any before, and
        # fresh memory costs page faults (10 new widths: 3x fewer faults, 0.4 s less system time).
        todo = deque(order[start : start + bs] for start in reversed(range(0, len(order), bs)))
        lock = threading.Lock()

        def read_batches(recognizer: Recognizer) -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    idx = todo.popleft()
                for i, read in zip(idx, recognizer._read(crops, ratios, idx), strict=True):
                    out[i] = read
                if (
                    recognizer is self
                    and self.spares is not None
                    and helper is None
                    and len(todo) >= 4
                ):
                    start_helper()

        helper: tuple[Recognizer, ThreadPoolExecutor, Future[None]] | None = None

        def start_helper() -> None:
            nonlocal helper
            assert self.spares is not None
            if (other := self.spares.take()) is not None:
                pool = ThreadPoolExecutor(1, thread_name_prefix="spare")
                helper = (other, pool, pool.submit(read_batches, other))

        try:
            read_batches(self)
        except BaseException:
            with lock:
                todo.clear()  # the helper stops after its batch
            raise
        finally:
            if helper is not None:
                other, pool, done = helper
                pool.shutdown()  # waits for its last batch
                assert self.spares is not None
                self.spares.give(other)
                done.result()  # its error, if it had one
        return [r if r is not None else LineRead("") for r in out]

    def _read(
        self, crops: list[np.ndarray], ratios: list[float], idx: np.ndarray
    ) -> list[LineRead]:
        """One batch, on this recogniser's model."""
        max_ratio = max(max(ratios[i] for i in idx), self.min_width / self.height)
        width = bucket(int(np.ceil(self.height * max_ratio)), self.buckets, least=8)
        # A short last batch gets a power of two rows, for the same reason as widths in buckets.
        rows = min(self.batch_size, 1 << (len(idx) - 1).bit_length()) if self.buckets else len(idx)
        batch = np.zeros((rows, 3, self.height, width), dtype=np.float32)
        widths = []
        for j, i in enumerate(idx):
            rw = min(width, max(1, int(np.ceil(self.height * ratios[i]))))
            img = cv2.resize(crops[i], (rw, self.height)).astype(np.float32)
            batch[j, :, :, :rw] = ((img / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
            widths.append(rw)
        preds = self.model(batch)
        return [self._decode(preds[j], width, widths[j]) for j in range(len(idx))]

    def _decode(self, pred: np.ndarray, padded: int, content: int) -> LineRead:
        steps = pred.shape[0]
        ids = pred.argmax(axis=1)
        probs = pred[np.arange(steps), ids]
        step_px = padded / steps
        # Runs of one character between blanks or other characters: each is one character read.
        starts = np.flatnonzero(np.diff(ids, prepend=-1))
        ends = np.append(starts[1:], steps)
        text, char_probs, centers, alts = [], [], [], []
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            char = int(ids[start])
            if char == 0:
                continue
            peak = start + int(np.argmax(probs[start:end]))
            text.append(self.charset[char])
            char_probs.append(float(probs[peak]))
            centers.append(min(1.0, ((start + end - 1) / 2 + 0.5) * step_px / content))
            alts.append(self._runners_up(pred[peak], char) if probs[peak] < self.alts_below else [])
        return LineRead("".join(text), char_probs, centers, step_px / content, alts)

    def _runners_up(self, dist: np.ndarray, chosen: int, k: int = 3) -> list[tuple[str, float]]:
        top = np.argpartition(dist, -(k + 1))[-(k + 1) :]
        return [
            ("" if i == 0 else self.charset[i], float(dist[i]))
            for i in sorted(top, key=lambda i: -dist[i])
            if i != chosen
        ][:k]
