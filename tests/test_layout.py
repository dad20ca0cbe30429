"""Blocks: the engine's layout step groups a page's lines into paragraphs, and the formats read them.

A real page through the real engine (a heading and two paragraphs, drawn here), and the grouping's
edge cases on hand-built lines.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docuocr.document import Document, Line, Page, Quad, Word
from docuocr.engine.layout import blocks, same_paragraph
from docuocr.formats.google import to_google
from tests import docgen

HEADING = "Quarterly report"
FIRST = ["Invoice number 4521 due", "Total amount payable"]
SECOND = ["Thank you for your order", "Please call us again"]


@pytest.fixture(scope="module")
def page(engine) -> Page:
    img = Image.new("RGB", (1000, 640), "white")
    draw = ImageDraw.Draw(img)
    draw.text((60, 50), HEADING, font=docgen.font(60), fill="black")
    for top, paragraph in ((190, FIRST), (420, SECOND)):
        for i, text in enumerate(paragraph):
            draw.text((60, top + 50 * i), text, font=docgen.font(34), fill="black")
    return engine.read(np.asarray(img))


def test_a_heading_and_two_paragraphs_are_three_blocks(page):
    assert [[line.text for line in block.lines] for block in page.blocks] == [
        [HEADING],
        FIRST,
        SECOND,
    ]


def test_blocks_cover_every_line_once_in_reading_order(page):
    lines = [line for block in page.blocks for line in block.lines]
    assert [id(line) for line in lines] == [id(line) for line in page.lines]
    assert len({id(line) for line in lines}) == len(lines) == 5
    words = [w for block in page.blocks for w in block.words]
    assert [id(w) for w in words] == [id(w) for w in page.words]
    # Top to bottom: each line's top edge lies below the previous line's.
    tops = [min(y for w in line.words for _, y in w.quad) for line in lines]
    assert tops == sorted(tops)
    # Inside a block each line continues the one above; a block's first line does not.
    for block in page.blocks:
        assert all(same_paragraph(a, b) for a, b in pairwise(block.lines))
    for before, after in pairwise(page.blocks):
        assert not same_paragraph(before.lines[-1], after.lines[0])


def test_google_reads_the_blocks(page):
    (response,) = to_google(Document(pages=[page]))["responses"]
    vision = response["fullTextAnnotation"]["pages"][0]["blocks"]
    assert [len(b["paragraphs"][0]["words"]) for b in vision] == [
        len(block.words) for block in page.blocks
    ]


def test_a_shrunk_page_keeps_its_blocks(page):
    big = page.scaled_to(2 * page.width, 2 * page.height)
    assert [[line.text for line in b.lines] for b in big.blocks] == [
        [line.text for line in b.lines] for b in page.blocks
    ]
    assert big.words[0].quad[2] == pytest.approx(tuple(2 * c for c in page.words[0].quad[2]))


# --- hand-built lines ----------------------------------------------------------------------------


def box(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def line(y: float, *texts: str, height: float = 30) -> Line:
    return Line(
        [
            Word(t, box(100 + 120 * i, y, 200 + 120 * i, y + height), 0.9)
            for i, t in enumerate(texts)
        ]
    )


def shape(lines: list[Line]) -> list[list[str]]:
    return [[ln.text for ln in block.lines] for block in blocks(lines)]


def test_grouping_on_hand_built_lines():
    assert shape([]) == []
    assert shape([line(100, "a"), line(140, "b"), line(300, "c")]) == [["a", "b"], ["c"]]
    # A line twice as tall is a heading: a block of its own.
    assert shape([line(40, "H", height=60), line(110, "b"), line(150, "c")]) == [["H"], ["b", "c"]]
    # A line above the previous one (a second column read after the first) starts a block.
    assert shape([line(100, "a"), line(140, "b"), line(100, "c")]) == [["a", "b"], ["c"]]


def test_words_without_a_visible_character_take_no_part():
    blank = Line([Word(" ", box(900, 900, 990, 990), 0.1)])
    # A blank line between two lines of a paragraph neither splits it nor starts a block.
    assert shape([line(100, "a"), blank, line(140, "b")]) == [["a", " ", "b"]]
    # A blank line first joins the first block.
    assert shape([blank, line(100, "a"), line(140, "b")]) == [[" ", "a", "b"]]
    # An empty word far below does not stretch its line's box.
    a = line(100, "a")
    a.words.append(Word("", box(100, 500, 200, 530), 0.1))
    assert shape([a, line(140, "b")]) == [["a ", "b"]]
