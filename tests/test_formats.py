"""The clova and google schemas: golden files on a hand-built Document, invariants on real data."""

from __future__ import annotations

import json
import math
import time
import uuid
from pathlib import Path

import pytest

from docuocr.document import Document, Line, Page, Quad, Word
from docuocr.engine.layout import blocks
from docuocr.errors import DocuocrError
from docuocr.formats import SCHEMAS, render, validate_schema
from docuocr.formats.clova import to_clova
from docuocr.formats.google import enclosing, languages, split_symbols, to_google
from docuocr.formats.upstage import to_upstage

GOLDEN = Path(__file__).parent / "golden"
SHARED = Path(__file__).parents[2] / "shared"
MULTI_PAGE = SHARED / "fixtures" / "upstage-cookbook" / "multi_page.json"
REQUEST_ID = "0b0e7c4e-7f0c-4a53-9a51-2f4d3c1b9a10"
TIMESTAMP = 1700000000000


def box(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def rotated(x: float, y: float, w: float, h: float, degrees: float) -> Quad:
    """A w×h word whose top-left is (x, y), turned clockwise by `degrees` about that corner."""
    a = math.radians(degrees)
    ux, uy, nx, ny = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)

    def at(u: float, n: float) -> tuple[float, float]:
        return (round(x + u * ux + n * nx, 2), round(y + u * uy + n * ny, 2))

    return at(0, 0), at(w, 0), at(w, h), at(0, h)


def laid_out(width: int, height: int, lines: list[Line]) -> Page:
    """A page of `lines`, grouped into blocks as the engine groups them."""
    return Page(width=width, height=height, blocks=blocks(lines))


def sample() -> Document:
    """Two pages, Korean/English/Japanese words, a combining accent, a word with a space, a tilt."""
    page1 = laid_out(
        width=800,
        height=600,
        lines=[
            Line(
                [
                    Word("영수증", box(100, 50, 220, 90), 0.9876),
                    Word("RECEIPT", box(235, 52, 400, 88), 0.99),
                ]
            ),
            Line(
                [
                    Word("합계", box(100, 100, 170, 138), 0.91234),
                    Word("12,000원", box(185, 100, 330, 138), 0.5),
                ]
            ),
            # Far below: a new paragraph. "Café" spelt with a combining acute accent.
            Line(
                [
                    Word("Cafe\u0301", box(100, 300, 190, 330), 1.0),
                    Word("au lait", box(205, 300, 330, 330), 0.8),
                ]
            ),
        ],
    )
    tilt = 15.0
    step = (math.cos(math.radians(tilt)), math.sin(math.radians(tilt)))
    page2 = laid_out(
        width=640,
        height=480,
        lines=[
            Line(
                [
                    Word("Rotated", rotated(100, 100, 140, 30, tilt), 0.95),
                    Word(
                        "텍스트",
                        rotated(100 + 155 * step[0], 100 + 155 * step[1], 90, 30, tilt),
                        0.875,
                    ),
                ]
            ),
            Line(
                [
                    Word("東京", box(100, 300, 180, 340), 0.97),
                    Word("タワー", box(195, 300, 320, 340), 0.93),
                ]
            ),
        ],
    )
    return Document(pages=[page1, page2], total_pages=2)


def flat(points) -> list[float]:
    """Points as a flat list, for pytest.approx."""
    return [c for p in points for c in p]


def roundtrip(data: dict) -> dict:
    return json.loads(json.dumps(data, ensure_ascii=False))


def document_from_upstage(data: dict) -> Document:
    """Rebuild a Document from a real Upstage response, grouping words into its page text's lines.

    Upstage joins words with " " and lines with " \\n"; a word may itself contain a space, so
    words are taken greedily until they spell the line.
    """
    pages = []
    for p in data["pages"]:
        words = p["words"]
        lines, i = [], 0
        for text in p["text"].split(" \n"):
            taken: list[dict] = []
            while i < len(words) and " ".join(w["text"] for w in taken) != text:
                taken.append(words[i])
                i += 1
            assert " ".join(w["text"] for w in taken) == text
            lines.append(
                Line(
                    [
                        Word(
                            w["text"],
                            tuple((v["x"], v["y"]) for v in w["boundingBox"]["vertices"]),
                            w["confidence"],
                        )
                        for w in taken
                    ]
                )
            )
        assert i == len(words)
        pages.append(laid_out(p["width"], p["height"], lines))
    return Document(pages=pages, total_pages=len(pages))


# --- invariants, shared by the hand-built and the real document ----------------------------------


def line_end_flags(page: Page) -> list[bool]:
    return [i == len(line.words) - 1 for line in page.lines for i in range(len(line.words))]


def check_clova(doc: Document, out: dict) -> None:
    upstage = to_upstage(doc)
    assert out["version"] == "V2"
    assert len(out["images"]) == len(doc.pages)
    for index, (page, image) in enumerate(zip(doc.pages, out["images"], strict=True)):
        fields = image["fields"]
        assert [f["inferText"] for f in fields] == [
            w["text"] for w in upstage["pages"][index]["words"]
        ]
        assert [f["lineBreak"] for f in fields] == line_end_flags(page)
        for field, word in zip(fields, page.words, strict=True):
            points = field["boundingPoly"]["vertices"]
            assert len(points) == 4
            assert all(isinstance(v["x"], float) and isinstance(v["y"], float) for v in points)
            assert flat((v["x"], v["y"]) for v in points) == pytest.approx(
                flat(word.quad), abs=0.01
            )
            assert field["inferConfidence"] == pytest.approx(word.confidence, abs=5e-5)
            assert (field["valueType"], field["type"]) == ("ALL", "NORMAL")
        assert image["convertedImageInfo"] == {
            "width": page.width,
            "height": page.height,
            "pageIndex": index,
            "longImage": False,
        }
        assert image["inferResult"] == image["message"] == "SUCCESS"
        assert len(image["uid"]) == 32 and int(image["uid"], 16) >= 0


def breaks(symbols: list[dict]) -> list[str | None]:
    return [s.get("property", {}).get("detectedBreak", {}).get("type") for s in symbols]


def spell(symbols: list[dict]) -> str:
    """Rebuild text from symbols and their breaks, as Vision clients do."""
    sep = {"SPACE": " ", "EOL_SURE_SPACE": "\n", "LINE_BREAK": "\n", None: ""}
    return "".join(s["text"] + sep[b] for s, b in zip(symbols, breaks(symbols), strict=True))


def check_google(doc: Document, out: dict) -> None:
    assert len(out["responses"]) == len(doc.pages)
    for page, response in zip(doc.pages, out["responses"], strict=True):
        annotations = response["textAnnotations"]
        full = response["fullTextAnnotation"]
        assert [a["description"] for a in annotations[1:]] == [w.text for w in page.words]
        assert annotations[0]["description"] == full["text"]
        # Lines are separated by "\n", words by " ": the page text is the Document's lines.
        assert full["text"].split("\n") == [line.text for line in page.lines]

        (vision_page,) = full["pages"]
        assert (vision_page["width"], vision_page["height"]) == (page.width, page.height)
        paragraphs = [p for b in vision_page["blocks"] for p in b["paragraphs"]]
        words = [w for p in paragraphs for w in p["words"]]
        assert len(words) == len(page.words)
        all_symbols = []
        for vision_word, word, line_end in zip(
            words, page.words, line_end_flags(page), strict=True
        ):
            symbols = vision_word["symbols"]
            all_symbols += symbols
            # The symbols spell the word exactly (a space inside a word is a SPACE break).
            assert spell(symbols[:-1]) + symbols[-1]["text"] == word.text
            assert set(breaks(symbols[:-1])) <= {None, "SPACE"}
            last = breaks(symbols)[-1]
            assert last in ({"EOL_SURE_SPACE", "LINE_BREAK"} if line_end else {"SPACE"})
        # Every paragraph ends with LINE_BREAK, and no line inside it does.
        for p in paragraphs:
            ends = [breaks(w["symbols"])[-1] for w in p["words"]]
            assert ends[-1] == "LINE_BREAK"
            assert "LINE_BREAK" not in ends[:-1]
        assert spell(all_symbols).removesuffix("\n") == full["text"]

        boxes = [a["boundingPoly"] for a in annotations] + [
            x["boundingBox"] for b in vision_page["blocks"] for x in [b, *b["paragraphs"]]
        ]
        boxes += [w["boundingBox"] for w in words] + [s["boundingBox"] for s in all_symbols]
        for b in boxes:
            assert len(b["vertices"]) == 4
            assert all(isinstance(v["x"], int) and isinstance(v["y"], int) for v in b["vertices"])
        detected = vision_page["property"]["detectedLanguages"]
        assert sum(d["confidence"] for d in detected) == pytest.approx(1.0, abs=1e-3)
        assert annotations[0]["locale"] == detected[0]["languageCode"]


# --- golden files -------------------------------------------------------------------------------


def test_clova_matches_golden() -> None:
    out = roundtrip(to_clova(sample(), request_id=REQUEST_ID, timestamp=TIMESTAMP))
    assert out == json.loads((GOLDEN / "clova.json").read_text(encoding="utf-8"))


def test_google_matches_golden() -> None:
    out = roundtrip(to_google(sample()))
    assert out == json.loads((GOLDEN / "google.json").read_text(encoding="utf-8"))


def test_invariants_on_sample() -> None:
    doc = sample()
    check_clova(doc, roundtrip(to_clova(doc)))
    check_google(doc, roundtrip(to_google(doc)))


# --- clova specifics ------------------------------------------------------------------------------


def test_clova_defaults_are_fresh() -> None:
    before = int(time.time() * 1000)
    a, b = to_clova(sample()), to_clova(sample())
    after = int(time.time() * 1000)
    assert uuid.UUID(a["requestId"]).version == 4
    assert a["requestId"] != b["requestId"]
    assert before <= a["timestamp"] <= after
    uids = [i["uid"] for i in a["images"] + b["images"]]
    assert len(set(uids)) == 4  # unique per page and per request
    pinned = to_clova(sample(), request_id=REQUEST_ID, timestamp=TIMESTAMP)
    assert pinned == to_clova(sample(), request_id=REQUEST_ID, timestamp=TIMESTAMP)


# --- google specifics -----------------------------------------------------------------------------


def test_symbols_split_graphemes() -> None:
    assert split_symbols("영수증") == [("영", False), ("수", False), ("증", False)]
    assert [s for s, _ in split_symbols("Cafe\u0301")] == ["C", "a", "f", "e\u0301"]
    assert split_symbols("au lait") == [
        ("a", False),
        ("u", True),
        ("l", False),
        ("a", False),
        ("i", False),
        ("t", False),
    ]
    # An emoji ZWJ sequence is one grapheme, so one symbol.
    assert [s for s, _ in split_symbols("\U0001f469\u200d\U0001f4bbx")] == [
        "\U0001f469\u200d\U0001f4bb",
        "x",
    ]
    # Conjoining jamo (a decomposed syllable) stay one symbol.
    assert [s for s, _ in split_symbols("\u1112\u1161\u11ab")] == ["\u1112\u1161\u11ab"]


def test_languages_from_scripts() -> None:
    assert languages("영수증RECEIPT") == [
        {"languageCode": "en", "confidence": 0.7},
        {"languageCode": "ko", "confidence": 0.3},
    ]
    assert languages("中文") == [{"languageCode": "zh", "confidence": 1.0}]
    assert languages("東京タワー") == [{"languageCode": "ja", "confidence": 1.0}]
    assert languages("大韓民國만세") == [{"languageCode": "ko", "confidence": 1.0}]
    assert languages("東京", han_as="ja") == [{"languageCode": "ja", "confidence": 1.0}]
    assert languages("12,000・。") == []
    assert languages("コーヒー") == [{"languageCode": "ja", "confidence": 1.0}]


def test_google_structure_on_sample() -> None:
    out = to_google(sample())
    page1, page2 = (r["fullTextAnnotation"]["pages"][0] for r in out["responses"])
    # Page 1: the two close lines form one paragraph, the distant line another.
    assert [len(b["paragraphs"][0]["words"]) for b in page1["blocks"]] == [4, 2]
    first = page1["blocks"][0]["paragraphs"][0]["words"]
    assert [breaks(w["symbols"])[-1] for w in first] == [
        "SPACE",
        "EOL_SURE_SPACE",
        "SPACE",
        "LINE_BREAK",
    ]
    assert page1["blocks"][0]["boundingBox"]["vertices"] == [
        {"x": 100, "y": 50},
        {"x": 400, "y": 50},
        {"x": 400, "y": 138},
        {"x": 100, "y": 138},
    ]
    assert out["responses"][0]["fullTextAnnotation"]["text"] == (
        "영수증 RECEIPT\n합계 12,000원\nCafe\u0301 au lait"
    )
    assert [d["languageCode"] for d in page1["property"]["detectedLanguages"]] == ["en", "ko"]
    # Page 2: the tilted line's block turns with it, starting at its first word's top-left.
    doc = sample()
    rot = doc.pages[1].lines[0].words
    expected = [rot[0].quad[0], rot[1].quad[1], rot[1].quad[2], rot[0].quad[3]]
    got = [(v["x"], v["y"]) for v in page2["blocks"][0]["boundingBox"]["vertices"]]
    assert flat(got) == pytest.approx(flat(expected), abs=1)
    # Han beside kana on this page reads as Japanese.
    tokyo = page2["blocks"][1]["paragraphs"][0]["words"][0]
    assert tokyo["property"]["detectedLanguages"] == [{"languageCode": "ja", "confidence": 1.0}]
    # Wide (Hangul) symbols split the word's quad in reading order, inside the word.
    texts = page2["blocks"][0]["paragraphs"][0]["words"][1]["symbols"]
    xs = [s["boundingBox"]["vertices"][0]["x"] for s in texts]
    assert xs == sorted(xs) and xs[0] == round(rot[1].quad[0][0])


def test_enclosing_is_axis_aligned_for_upright_text() -> None:
    quads = [box(10, 20, 50, 40), box(60, 18, 90, 42)]
    assert flat(enclosing(quads)) == pytest.approx(flat([(10, 18), (90, 18), (90, 42), (10, 42)]))


def test_empty_page() -> None:
    doc = Document(pages=[Page(width=100, height=50)], total_pages=1)
    assert to_google(doc) == {"responses": [{}]}
    (image,) = to_clova(doc)["images"]
    assert image["fields"] == [] and image["convertedImageInfo"]["width"] == 100


# --- dispatch -----------------------------------------------------------------------------------


def test_render_dispatches_and_rejects_unknown_schema() -> None:
    assert {"clova", "google"} <= set(SCHEMAS)
    doc = sample()
    assert render(doc, "google") == to_google(doc)
    assert render(doc, "clova")["images"][1]["fields"][0]["inferText"] == "Rotated"
    validate_schema("clova")
    validate_schema("google")
    with pytest.raises(DocuocrError) as err:
        render(doc, "nonsense")
    assert err.value.status == 400 and err.value.code == "invalid_schema"
    assert "'clova'" in err.value.message and "'google'" in err.value.message
    with pytest.raises(DocuocrError):
        validate_schema("nonsense")


# --- a real Upstage response --------------------------------------------------------------------


def test_invariants_on_real_multi_page() -> None:
    if not MULTI_PAGE.exists():
        pytest.skip(f"{MULTI_PAGE} is absent")
    doc = document_from_upstage(json.loads(MULTI_PAGE.read_text(encoding="utf-8")))
    assert len(doc.pages) == 3
    clova = roundtrip(to_clova(doc))
    google = roundtrip(to_google(doc))
    assert len(clova["images"]) == 3 and len(google["responses"]) == 3
    check_clova(doc, clova)
    check_google(doc, google)
    # Page 3 mixes Korean and English.
    codes = {
        d["languageCode"]
        for d in google["responses"][2]["fullTextAnnotation"]["pages"][0]["property"][
            "detectedLanguages"
        ]
    }
    assert {"ko", "en"} <= codes


def test_enclosing_falls_back_to_upright_for_mixed_directions() -> None:
    quads = [rotated(100, 100, 140, 30, 15.0), box(100, 300, 180, 340)]
    xs = [x for q in quads for x, _ in q]
    ys = [y for q in quads for _, y in q]
    upright = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    assert flat(enclosing(quads)) == pytest.approx(flat(upright))
