"""Word frequencies settle the recogniser's close calls, and leave everything else alone."""

from __future__ import annotations

from docuocr.engine.config import load_config
from docuocr.engine.lexicon import Lexicon
from docuocr.engine.recognize import LineRead


def read_of(text: str, unsure: dict[int, list[tuple[str, float]]], p: float = 0.5) -> LineRead:
    probs = [p if i in unsure else 0.99 for i in range(len(text))]
    centers = [(i + 0.5) / len(text) for i in range(len(text))]
    alts = [unsure.get(i, []) for i in range(len(text))]
    return LineRead(text, probs, centers, 0.01, alts)


LEX = Lexicon(load_config()["lexicon"])


def test_a_common_word_beats_a_close_misreading() -> None:
    out = LEX(read_of("Previqus Summary", {5: [("o", 0.3), ("a", 0.05)]}))
    assert out.text == "Previous Summary"
    assert out.probs[5] == 0.3  # the letter's own probability, not the misreading's
    assert len(out.centers) == len(out.text)


def test_a_spurious_letter_is_dropped_when_blank_was_close() -> None:
    out = LEX(read_of("Dattte:", {3: [("", 0.4)], 4: [("", 0.4)]}))
    assert out.text == "Date:"
    assert len(out.probs) == len(out.centers) == len(out.alts) == 5


def test_confident_words_codes_and_unlikely_alternatives_stay() -> None:
    # the model is sure: nothing to weigh
    assert LEX(read_of("Kremer", {})).text == "Kremer"
    # a code: every alternative is an unknown word, so the model's reading stands
    assert LEX(read_of("CTS40o", {5: [("0", 0.3)]})).text == "CTS40o"
    # the alternative is far less likely to the model than the word is common
    assert LEX(read_of("Kremer", {2: [("a", 0.001)]}, p=0.95)).text == "Kremer"


def test_disabled_changes_nothing() -> None:
    lex = Lexicon({**load_config()["lexicon"], "enabled": 0})
    assert lex(read_of("Previqus", {5: [("o", 0.3)]})).text == "Previqus"
