"""The Google Cloud Vision `images:annotate` response (DOCUMENT_TEXT_DETECTION), one per page.

Vision clients read either `textAnnotations` (the page text, then one entry per word) or the
`fullTextAnnotation` tree page → block → paragraph → word → symbol, whose symbols carry the
breaks that rebuild the text. Both are built here from the Document's blocks, lines and words, in
its order: each of the Document's blocks is one Vision block holding one paragraph.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from statistics import fmean
from typing import Any

from docuocr.document import Document, Line, Page, Point, Quad, Word, direction
from docuocr.formats.upstage import vertices

# Vision's break types and the text each one stands for in `fullTextAnnotation.text`.
SPACE, EOL_SURE_SPACE, LINE_BREAK = "SPACE", "EOL_SURE_SPACE", "LINE_BREAK"
BREAK_TEXT = {SPACE: " ", EOL_SURE_SPACE: "\n", LINE_BREAK: "\n"}

_HAN = "han"  # Han characters: their language depends on the scripts around them
_ZWJ = "\u200d"


def _round(x: float) -> float:
    return round(float(x), 4)


def _box(quad: Quad) -> dict[str, Any]:
    # Vision vertices are int32 pixels. Zeros are kept (Vision's JSON drops them) so clients
    # never meet a vertex without x or y.
    return {"vertices": vertices(quad)}


# --- scripts and languages -------------------------------------------------------------------


def _char_language(ch: str) -> str | None:
    # Digits, punctuation and marks (e.g. the katakana middle dot) carry no language.
    if not unicodedata.category(ch).startswith("L"):
        return None
    cp = ord(ch)
    if (
        0xAC00 <= cp <= 0xD7A3  # syllables
        or 0x1100 <= cp <= 0x11FF  # jamo
        or 0x3130 <= cp <= 0x318F  # compatibility jamo
        or 0xA960 <= cp <= 0xA97F
        or 0xD7B0 <= cp <= 0xD7FF
    ):
        return "ko"
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return "ja"
    if (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
    ):
        return _HAN
    if "LATIN" in unicodedata.name(ch, ""):
        return "en"
    return None


def _han_language(counts: Counter[str]) -> str:
    # Han beside kana is Japanese, beside Hangul is Korean hanja, and on its own Chinese.
    if counts["ja"]:
        return "ja"
    if counts["ko"]:
        return "ko"
    return "zh"


def languages(text: str, han_as: str | None = None) -> list[dict[str, Any]]:
    """Vision's `detectedLanguages` for `text`: each language's share of its letters.

    Computed from the characters rather than the engine's `Word.script`, which may be empty.
    `han_as` resolves Han characters from a wider context (the page); without it, from `text`.
    """
    counts = Counter(lang for ch in text if (lang := _char_language(ch)))
    han = counts.pop(_HAN, 0)
    if han:
        counts[han_as or _han_language(counts)] += han
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"languageCode": lang, "confidence": _round(n / total)} for lang, n in ranked]


def _property(text: str, han_as: str) -> dict[str, Any]:
    found = languages(text, han_as)
    return {"property": {"detectedLanguages": found}} if found else {}


# --- symbols -----------------------------------------------------------------------------------


def _joins_previous(ch: str) -> bool:
    """True for characters that belong to the symbol before them (marks, ZWJ, selectors, jamo)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
        or 0x1160 <= cp <= 0x11FF  # conjoining jamo vowels and finals
        or 0xD7B0 <= cp <= 0xD7FF
    )


def split_symbols(text: str) -> list[tuple[str, bool]]:
    """Split a word into Vision symbols: (grapheme, followed by a space inside the word).

    Graphemes are code points with their combining marks (a Hangul syllable is one symbol).
    Whitespace inside a word is not a symbol; it becomes a SPACE break on the symbol before it.
    """
    symbols: list[list[Any]] = []
    after_space = False
    for ch in text:
        if ch.isspace():
            if symbols:
                symbols[-1][1] = True
            after_space = True
            continue
        glued = symbols and not after_space
        if glued and (_joins_previous(ch) or symbols[-1][0].endswith(_ZWJ)):
            symbols[-1][0] += ch
        else:
            symbols.append([ch, False])
        after_space = False
    return [(s, space) for s, space in symbols]


def _symbol_quads(quad: Quad, symbols: list[str]) -> list[Quad]:
    """Cut a word's quad along its reading direction, wide (CJK) symbols taking two shares.

    The Document keeps no per-character boxes, so these are estimates; Vision clients that crop
    symbols still get boxes that lie inside the word and in reading order.
    """
    weights = [2 if unicodedata.east_asian_width(s[0]) in ("W", "F") else 1 for s in symbols]
    total = sum(weights)
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad

    def at(t: float) -> tuple[Point, Point]:
        return (tlx + (trx - tlx) * t, tly + (try_ - tly) * t), (
            blx + (brx - blx) * t,
            bly + (bry - bly) * t,
        )

    quads = []
    start = 0
    for w in weights:
        (top0, bot0), (top1, bot1) = at(start / total), at((start + w) / total)
        quads.append((top0, top1, bot1, bot0))
        start += w
    return quads


# --- geometry ------------------------------------------------------------------------------------


_MAX_SPREAD = math.radians(10)


def _frame(quads: list[Quad]) -> Point:
    """The shared reading direction of `quads`, or upright when they disagree (mixed layouts)."""
    ux, uy = direction(quads)
    angles = []
    for q in quads:
        dx, dy = direction([q])
        angles.append(math.atan2(ux * dy - uy * dx, ux * dx + uy * dy))
    return (1.0, 0.0) if max(angles) - min(angles) > _MAX_SPREAD else (ux, uy)


def enclosing(quads: list[Quad]) -> Quad:
    """The smallest quad around `quads` aligned with their reading direction, TL/TR/BR/BL.

    Like Vision's boxes it turns with the text: upright text gives an axis-aligned box, and
    rotated text a box whose first vertex is the text's own top-left. Words turned more than
    10 degrees from each other get an axis-aligned box.
    """
    ux, uy = _frame(quads)
    nx, ny = -uy, ux  # "down" in the text's frame
    points = [p for q in quads for p in q]
    us = [x * ux + y * uy for x, y in points]
    ns = [x * nx + y * ny for x, y in points]
    u0, u1, n0, n1 = min(us), max(us), min(ns), max(ns)

    def corner(u: float, n: float) -> Point:
        return (u * ux + n * nx, u * uy + n * ny)

    return corner(u0, n0), corner(u1, n0), corner(u1, n1), corner(u0, n1)


# --- the response --------------------------------------------------------------------------------


def _visible(page: Page) -> list[list[Line]]:
    """The page's blocks as lists of lines, without the words that have no visible character
    (Vision never reports a word without symbols), and without the lines and blocks left empty."""
    groups = []
    for block in page.blocks:
        lines = [Line([w for w in line.words if split_symbols(w.text)]) for line in block.lines]
        if lines := [line for line in lines if line.words]:
            groups.append(lines)
    return groups


def _word(word: Word, last_break: str, han_as: str) -> tuple[dict[str, Any], str]:
    """A Vision word and the text it contributes (its symbols and their breaks)."""
    split = split_symbols(word.text)
    quads = _symbol_quads(word.quad, [s for s, _ in split])
    symbols = []
    text = ""
    for i, ((symbol, space_after), quad) in enumerate(zip(split, quads, strict=True)):
        brk = last_break if i == len(split) - 1 else (SPACE if space_after else None)
        entry: dict[str, Any] = {"boundingBox": _box(quad), "confidence": _round(word.confidence)}
        if brk:
            entry["property"] = {"detectedBreak": {"type": brk}}
        entry["text"] = symbol
        symbols.append(entry)
        text += symbol + (BREAK_TEXT[brk] if brk else "")
    out: dict[str, Any] = {"boundingBox": _box(word.quad), "confidence": _round(word.confidence)}
    out.update(_property(word.text, han_as))
    out["symbols"] = symbols
    return out, text


def _response(page: Page) -> dict[str, Any]:
    groups = _visible(page)
    if not groups:
        return {}  # what Vision answers for an image without text
    words = [w for group in groups for line in group for w in line.words]
    page_letters = "".join(w.text for w in words)
    han_as = _han_language(Counter(_char_language(ch) for ch in page_letters))
    page_languages = languages(page_letters, han_as)

    blocks = []
    text = ""
    for group in groups:
        para_words = []
        for li, line in enumerate(group):
            for wi, word in enumerate(line.words):
                if wi < len(line.words) - 1:
                    brk = SPACE
                else:
                    brk = LINE_BREAK if li == len(group) - 1 else EOL_SURE_SPACE
                entry, spelled = _word(word, brk, han_as)
                para_words.append(entry)
                text += spelled
        group_words = [w for line in group for w in line.words]
        quad = enclosing([w.quad for w in group_words])
        confidence = _round(fmean(w.confidence for w in group_words))
        paragraph = {"boundingBox": _box(quad), "confidence": confidence, "words": para_words}
        blocks.append(
            {
                "blockType": "TEXT",
                "boundingBox": _box(quad),
                "confidence": confidence,
                "paragraphs": [paragraph],
            }
        )
    text = text.removesuffix("\n")

    first: dict[str, Any] = {"boundingPoly": _box(enclosing([w.quad for w in words]))}
    first["description"] = text
    if page_languages:
        first["locale"] = page_languages[0]["languageCode"]
    text_annotations = [first] + [
        {"boundingPoly": _box(w.quad), "description": w.text} for w in words
    ]
    vision_page: dict[str, Any] = {
        "blocks": blocks,
        "confidence": _round(fmean(w.confidence for w in words)),
        "height": page.height,
    }
    if page_languages:
        vision_page["property"] = {"detectedLanguages": page_languages}
    vision_page["width"] = page.width
    return {
        "fullTextAnnotation": {"pages": [vision_page], "text": text},
        "textAnnotations": text_annotations,
    }


def to_google(doc: Document) -> dict[str, Any]:
    """Render `doc` as a Vision `images:annotate` response with one `responses[]` entry per page."""
    return {"responses": [_response(page) for page in doc.pages]}
