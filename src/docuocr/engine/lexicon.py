"""Word frequencies choose between the recogniser's close readings of a word.

On low-resolution scans PP-OCR often hesitates between look-alike letters ("Previqus" or
"Previous", "T0" or "TO"). The CTC output keeps the runner-up letters of each unsure character, so
the reading that is both likely to the model and a common word wins: score = ln P(letters) +
weight × ln frequency(word). A word the model read confidently is never touched, and neither are
codes and numbers, whose alternatives are all equally unknown words.
"""

from __future__ import annotations

import itertools
import math
import threading
from typing import Any

from docuocr.engine.recognize import LineRead


class Lexicon:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg

    @property
    def freq(self) -> dict[str, float]:
        return _frequencies(self.cfg["language"])

    def load(self) -> None:
        """Load the word list ahead of the first word (the CLI's idle main thread does, while
        its OCR threads read their first pages)."""
        if self.cfg["enabled"]:
            _frequencies(self.cfg["language"])

    def __call__(self, read: LineRead) -> LineRead:
        if not self.cfg["enabled"] or not any(read.alts):
            return read
        text, probs, centers, alts = (
            list(read.text),
            list(read.probs),
            list(read.centers),
            list(read.alts),
        )
        keep = [True] * len(text)
        start = 0
        for end in [*[i for i, c in enumerate(text) if c.isspace()], len(text)]:
            self._word(text, probs, alts, keep, start, end)
            start = end + 1
        return LineRead(
            "".join(c for c, k in zip(text, keep, strict=True) if k),
            [p for p, k in zip(probs, keep, strict=True) if k],
            [c for c, k in zip(centers, keep, strict=True) if k],
            read.step,
            [a for a, k in zip(alts, keep, strict=True) if k],
        )

    def _word(
        self,
        text: list[str],
        probs: list[float],
        alts: list[list[tuple[str, float]]],
        keep: list[bool],
        start: int,
        end: int,
    ) -> None:
        """Rewrite text[start:end] in place with its best reading (deleted letters: keep=False)."""
        c0, c1 = start, end
        while c0 < c1 and not text[c0].isalnum():
            c0 += 1
        while c1 > c0 and not text[c1 - 1].isalnum():
            c1 -= 1
        core = text[c0:c1]
        if len(core) < 2 or not any(c.isalpha() for c in core):
            return
        unsure = sorted(
            (i for i in range(c0, c1) if alts[i] and text[i].isalnum()), key=lambda i: probs[i]
        )
        unsure = sorted(unsure[: int(self.cfg["max_unsure"])])
        if not unsure:
            return
        options = [
            [(text[i], probs[i])] + [(a, p) for a, p in alts[i] if a == "" or a.isalnum()]
            for i in unsure
        ]
        weight = float(self.cfg["weight"])
        best, best_score = None, -math.inf
        for choice in itertools.product(*options):
            letters = dict(zip(unsure, choice, strict=True))
            word = "".join(letters[i][0] if i in letters else text[i] for i in range(c0, c1))
            score = sum(math.log(max(p, 1e-9)) for _, p in choice) + weight * self._log_freq(word)
            if score > best_score:
                best, best_score = letters, score
        for i, (letter, p) in (best or {}).items():
            if letter != text[i]:
                text[i], probs[i], alts[i] = letter, p, []
                keep[i] = letter != ""

    def _log_freq(self, word: str) -> float:
        floor = float(self.cfg["floor"])
        if len(word) < 2 or not word.isalpha():
            return math.log(floor)
        return math.log(max(self.freq.get(word.lower(), 0.0), floor))


_LOADING = threading.Lock()
_LOADED: dict[str, dict[str, float]] = {}


def _frequencies(language: str) -> dict[str, float]:
    """Loaded on first use (0.3 s), once per process, whichever engine asks: wordfreq's list ships
    inside its wheel, no download."""
    if language in _LOADED:
        return _LOADED[language]
    with _LOADING:  # engines on two threads reach their first word together
        if language not in _LOADED:
            from wordfreq import get_frequency_dict

            _LOADED[language] = get_frequency_dict(language, wordlist="large")
        return _LOADED[language]
