"""The real engine on real pages: rendered English and Korean text, rotations, and the cookbook fixtures."""

from __future__ import annotations

import collections
import io
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docuocr.config import Limits
from docuocr.engine import Engine, default_stages
from docuocr.engine.config import load_config
from docuocr.engine.detect import SHEET_GAP, _shelves, small_print_regions
from docuocr.engine.geometry import along, crop, order_quad, unrotate_points
from docuocr.engine.onnx import bucket
from docuocr.engine.recognize import Recognizer, Spares
from docuocr.engine.smalltext import letters, uncovered_text
from docuocr.intake import load

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "upstage-cookbook"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
KOREAN_FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
ENGLISH = ["Invoice number 4521 due", "Total amount payable", "Thank you for your order"]
KOREAN = ["대한민국은 민주공화국이다", "모든 국민은 법 앞에 평등하다"]
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
JAPANESE = ["電線接続端子部が次のいずれにも該当しないとき。", "ねじ止め端子であること。"]


def page(lines: list[str], font_path: str, size: int = 40) -> np.ndarray:
    if not Path(font_path).is_file():
        pytest.skip(f"{font_path} is not installed (make install adds it)")
    img = Image.new("RGB", (1100, 120 + 90 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    face = ImageFont.truetype(font_path, size)
    for i, text in enumerate(lines):
        draw.text((60, 60 + 90 * i), text, fill="black", font=face)
    return np.asarray(img)


def fixture_words(engine: Engine, name: str) -> list[str]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip("../shared fixtures are not present")
    pages = load(path.read_bytes(), Limits()).pages
    return [w.text for p in pages for w in engine.read(np.asarray(p)).words]


def test_reads_english_words_with_boxes(engine):
    image = page(ENGLISH, LATIN_FONT)
    result = engine.read(image)
    assert [line.text for line in result.lines] == ENGLISH
    for word in result.words:
        xs = [x for x, _ in word.quad]
        ys = [y for _, y in word.quad]
        assert 0 <= min(xs) < max(xs) <= image.shape[1]
        assert 0 <= min(ys) < max(ys) <= image.shape[0]
        assert 0.5 < word.confidence <= 1.0
        assert word.engine == "ppocr"
    # Word boxes follow the words: "Invoice" starts left of "number" on the same row.
    invoice, number = result.lines[0].words[:2]
    assert invoice.quad[1][0] <= number.quad[0][0] + 2


@pytest.mark.parametrize("turn", [1, 6])  # upright, and stored turned (EXIF orientation 6)
def test_a_page_read_shrunk_reports_boxes_in_the_uploaded_pixels(engine, turn):
    """A page over `read_pixels` is read at a whole fraction of its size; its words, page size
    and boxes come back as from the full page (a 150 MP scan is read so in the server)."""
    import io
    from dataclasses import replace

    from docuocr.pipeline import ocr_bytes

    img = Image.fromarray(page(ENGLISH, LATIN_FONT, size=80)).resize((2200, 1080))
    exif = Image.Exif()
    exif[0x0112] = turn
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif.tobytes())
    data = buf.getvalue()
    full = ocr_bytes(data, engine, Limits())
    shrunk = ocr_bytes(data, engine, replace(Limits(), read_pixels=700_000), "ocr")  # 1/2
    assert shrunk.model == "ocr-2.2.1"  # the alias reports its version, as before
    (a,), (b,) = full.pages, shrunk.pages
    assert (
        (b.width, b.height) == (a.width, a.height) == ((2200, 1080) if turn == 1 else (1080, 2200))
    )
    assert [line.text for line in b.lines] == [line.text for line in a.lines] == ENGLISH
    for x, y in zip(a.words, b.words, strict=True):
        assert np.abs(np.array(x.quad) - np.array(y.quad)).max() <= 8, (x.text, x.quad, y.quad)


def test_reads_korean_with_our_model(engine):
    result = engine.read(page(KOREAN, KOREAN_FONT))
    words = [w.text for w in result.words]
    assert "대한민국은" in words and "평등하다" in words, words
    assert all(w.engine == "korean" for w in result.words if w.script == "hangul")
    assert len(result.lines[0].words) == 2


def test_tesseract_route_for_korean_still_works():
    engine = Engine(default_stages({"hangul": {"recognizer": ""}}))
    result = engine.read(page(KOREAN, KOREAN_FONT))
    words = [w.text for w in result.words]
    assert "대한민국은" in words and "평등하다" in words, words
    assert all(w.engine == "tesseract" for w in result.words if w.script == "hangul")
    # Tesseract's pieces are merged back into the space-delimited words.
    assert len(result.lines[0].words) == 2


def test_the_engine_reads_with_the_stages_it_is_handed(engine):
    """The Hangul route is a stage of its own, and the calibrator is handed in: without the route
    a page of English and Korean keeps only PP-OCR's words (no Hangul), and a calibration that
    trusts every word more raises every word's confidence, on the very same readings."""
    from dataclasses import replace

    from docuocr.calibration import Calibrator

    mixed = page(ENGLISH + KOREAN, KOREAN_FONT)
    usual = engine.read(mixed)
    without = Engine(replace(engine.stages, hangul=lambda scan: None)).read(mixed)
    assert "Invoice" in [w.text for w in without.words]
    assert all(w.engine == "ppocr" and w.script != "hangul" for w in without.words)
    assert "대한민국은" in [w.text for w in usual.words]

    data = Calibrator.load().to_dict()
    trusting = Calibrator.from_dict({**data, "bias": data["bias"] + 5.0})
    surer = Engine(replace(engine.stages, calibrator=trusting)).read(mixed)
    assert [w.text for w in surer.words] == [w.text for w in usual.words]
    pairs = list(zip(surer.words, usual.words, strict=True))
    assert all(a.confidence >= b.confidence for a, b in pairs)
    assert any(a.confidence > b.confidence for a, b in pairs)


@pytest.mark.parametrize("turn", [0, 180])
def test_japanese_page_is_turned_by_what_ppocr_reads(engine, turn):
    """Japanese lines look like PP-OCR's misreadings of Hangul, so the Korean model was asked
    which way up they are: it reads Japanese as garbage both ways, and the page upside down was
    left so (a cjk-pdf page, char F1 0.75 -> 0.93 once fixed)."""
    image = np.ascontiguousarray(np.rot90(page(JAPANESE, CJK_FONT), k=turn // 90))
    result = engine.read(image)
    assert result.rotation == turn
    assert [line.text for line in result.lines] == JAPANESE


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_rotated_page_reads_like_upright_with_natural_first_vertex(engine, turn):
    upright = page(ENGLISH, LATIN_FONT)
    h, w = upright.shape[:2]
    rotated = np.ascontiguousarray(np.rot90(upright, k=-turn // 90))
    result = engine.read(rotated)
    assert result.rotation == (360 - turn) % 360  # the clockwise turn that makes it upright
    assert [line.text for line in result.lines] == ENGLISH
    for word in result.words:
        # Turn the box back upright: its first vertex must be the word's top-left corner there.
        back = unrotate_points(np.array(word.quad), turn, w, h)
        assert np.allclose(back, order_quad(back), atol=1e-3), word.text
        assert back[0][0] < w and back[0][1] < h


def test_crop_positions_map_back_onto_the_same_ink():
    """A line quad rounded to whole pixels is a trapezoid; a position found in its crop must land
    on the same page column (the word-box bug that cost FUNSD 0.025 F1)."""
    image = np.full((60, 400, 3), 255, np.uint8)
    marks = [60, 150, 230, 330]
    for x in marks:
        image[22:38, x : x + 2] = 0
    quad = np.array([[20, 20], [380, 21], [380, 40], [20, 38]], dtype=np.float32)
    line = crop(image, quad)
    ink = np.flatnonzero(line.min(axis=2).min(axis=0) < 128)
    runs = np.split(ink, np.flatnonzero(np.diff(ink) > 1) + 1)
    assert len(runs) == len(marks)
    for x, run in zip(marks, runs, strict=True):
        t = (run.mean() + 0.5) / line.shape[1]
        assert abs(along(quad, t, t)[0][0] - (x + 1)) < 1.0


def test_watermark_ignored_and_korean_read(engine):
    words = fixture_words(engine, "water_mark.jpg")
    assert words.count("한글에서") >= 6
    assert not any("onfid" in w for w in words)


def test_small_print_windowpane(engine):
    words = fixture_words(engine, "dpi_150.jpg")
    assert sum(w.startswith("windowpane") for w in words) >= 12


def test_small_print_over_the_budget_is_read_less_enlarged(engine):
    """At 75 DPI, font sizes 5-8 make one region whose 4x enlargement is more than the second
    look's budget of a page: it is read at the enlargement the budget leaves (2.9x), not dropped."""
    words = collections.Counter(fixture_words(engine, "dpi_75.jpg"))
    assert words["watched"] >= 11 and words["wondering"] >= 10  # 9 and 8 when dropped


def test_receipt_photo_reads_title(engine):
    assert "영수증" in fixture_words(engine, "rotate.jpg")


def test_multi_page_pdf_english(engine):
    words = collections.Counter(fixture_words(engine, "multi_page.pdf"))
    assert words["curious"] >= 10 and words["raindrops"] >= 10


def test_checkboxes_are_words_and_table_cells_are_not(engine):
    image = Image.fromarray(page(["Bacon", "Feta", "Ham"], LATIN_FONT)).copy()
    draw = ImageDraw.Draw(image)
    for i, ticked in enumerate([False, True, False]):
        y = 68 + 90 * i  # 28 px boxes, 28 px left of the text, as on a printed form
        draw.rectangle(
            (4, y, 32, y + 28), outline="black", width=3, fill="black" if ticked else None
        )
    # a table of cells as tall as the text: their insides are square, but they are not checkboxes
    for x in range(600, 1000, 40):
        for y in range(60, 300, 40):
            draw.rectangle((x, y, x + 40, y + 40), outline="black", width=2)
    lines = [[w.text for w in line.words] for line in engine.read(np.asarray(image)).lines]
    assert lines == [["□", "Bacon"], ["■", "Feta"], ["□", "Ham"]]


def test_check_box_fixture_marks_like_upstage(engine):
    words = fixture_words(engine, "check_box.png")
    assert words.count("□") >= 9 and words.count("■") >= 1
    assert words.count("Bacon") == 2  # the marks come in beside the text, not instead of it


def test_latin_inside_a_korean_line_is_read_by_ppocr(engine):
    # dpi_table's header "OCR 인식 가능 범위": Tesseract's kor model reads "OCR" as "068"
    words = fixture_words(engine, "dpi_table.jpg")
    assert "OCR" in words and "LA" in words and "068" not in words
    assert words.count("인식") == 2


def test_both_backends_read_the_same_page():
    """OpenVINO (bf16 recognisers where the CPU has it) and onnxruntime (f32, the reference) give
    the same lines and boxes within a few pixels (a descender that reaches the edge of a line
    box tilted by a pixel in one of them moves its word's bottom 2.5 px)."""
    image = page(ENGLISH + KOREAN, KOREAN_FONT)
    ov = Engine(default_stages({"runtime": {"backend": "openvino"}})).read(image)
    ort = Engine(default_stages({"runtime": {"backend": "onnxruntime"}})).read(image)
    assert [line.text for line in ov.lines] == [line.text for line in ort.lines]
    for a, b in zip(ov.words, ort.words, strict=True):
        assert np.abs(np.array(a.quad) - np.array(b.quad)).max() <= 3, a.text
        assert abs(a.confidence - b.confidence) < 0.05, a.text


def test_openvino_is_imported_without_its_model_converter():
    """The converter is a tenth of a second of every start and docuocr never converts a model;
    a program that wants it can still import it. A fresh interpreter: pytest's has openvino."""
    code = (
        "import sys\n"
        "from docuocr.engine.onnx import Model\n"
        "Model('ch_ppocr_mobile_v2.0_cls_mobile.onnx', {'backend': 'openvino', 'precision': 'f32'})\n"
        "assert 'openvino' in sys.modules and 'openvino.tools.ovc' not in sys.modules\n"
        "from openvino.tools.ovc import convert_model\n"
        "print(callable(convert_model))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_unknown_backend_names_the_setting():
    with pytest.raises(ValueError, match="DOCUOCR_ENGINE_RUNTIME_BACKEND"):
        default_stages({"runtime": {"backend": "tensorrt"}})


def test_a_crop_reads_the_same_whatever_is_read_with_it(engine):
    """Each crop is padded only to its own width bucket. In batches of 8, a short word was padded
    to the longest crop of its batch, and its reading moved with the crops it shared it with."""
    img = page(["Total", "Invoice number 4521 is due and payable on receipt"], LATIN_FONT)
    quads, _ = engine.stages.find.detect(img)
    crops = [crop(img, q) for q in quads]
    assert len(crops) == 2 and max(c.shape[1] for c in crops) > 4 * min(c.shape[1] for c in crops)
    together = engine.recognize(crops)
    for c, read in zip(crops, together, strict=True):
        (alone,) = engine.recognize([c])
        assert (alone.text, alone.probs) == (read.text, read.probs)
    assert "Total" in [r.text for r in together]


def test_a_spare_recogniser_shares_the_crops_and_reads_them_the_same(engine):
    """The CLI's thread that runs out of files lends its recogniser to the thread still reading;
    the crops it takes read exactly as they would have on the borrower's own."""
    lines = ["Invoice number 4521", "is due on receipt", "of goods by the", "first day of March"]
    img = page(lines, LATIN_FONT)
    crops = [crop(img, q) for q in engine.stages.find.detect(img)[0]]
    crops = [c[:, : max(8, c.shape[1] * k // 4)] for c in crops for k in (1, 2, 3, 4)]
    alone = engine.recognize(crops)
    cfg = load_config()
    spare = Recognizer(cfg["recognition"], cfg["runtime"])
    lent = []
    read = spare._read
    spare._read = lambda *args: lent.append(len(args[2])) or read(*args)  # type: ignore[method-assign]
    engine.recognize.spares = Spares()
    engine.recognize.spares.give(spare)
    try:
        shared = engine.recognize(crops)
    finally:
        engine.recognize.spares = None
    assert [(r.text, r.probs, r.centers) for r in shared] == [
        (r.text, r.probs, r.centers) for r in alone
    ]
    assert 0 < sum(lent) < len(crops)  # it read some of them, and the borrower the rest


def test_shape_buckets_round_up_to_few_sizes():
    sizes = {bucket(n, 4) for n in range(33, 2049)}
    assert all(bucket(n, 4) >= n and bucket(n, 4) % 32 == 0 for n in range(1, 2049))
    assert all(bucket(n, 4) <= n * 1.25 + 32 for n in range(1, 2049))
    assert len(sizes) <= 25  # instead of 2016 (or 63 multiples of 32)
    assert bucket(450, 4) == 512 and bucket(512, 4) == 512 and bucket(1100, 4) == 1280
    assert bucket(37, 0, least=8) == 40  # 0: only to a multiple of `least`


def test_small_print_regions_share_one_sheet_without_overlap():
    sizes = [(30, 400), (90, 1500), (28, 60), (200, 2100), (40, 40)]
    places, width, height = _shelves(sizes, SHEET_GAP)
    assert width % 32 == 0 and height % 32 == 0
    boxes = [(x, y, x + w, y + h) for (x, y), (h, w) in zip(places, sizes, strict=True)]
    for x0, y0, x1, y1 in boxes:
        assert x0 >= SHEET_GAP and y0 >= SHEET_GAP and x1 + SHEET_GAP <= width
        assert y1 + SHEET_GAP <= height
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:  # at least a gap of paper between any two
            apart_x = a[2] + SHEET_GAP <= b[0] or b[2] + SHEET_GAP <= a[0]
            apart_y = a[3] + SHEET_GAP <= b[1] or b[3] + SHEET_GAP <= a[1]
            assert apart_x or apart_y, (a, b)


def test_small_print_on_one_sheet_finds_what_region_by_region_found(engine):
    """The sheet must not lose or move lines: every region detected alone gives the same boxes
    (within 2 px) as on the shared sheet."""
    path = FIXTURES / "dpi_150.jpg"
    if not path.is_file():
        pytest.skip("../shared fixtures are not present")
    image = np.asarray(load(path.read_bytes(), Limits()).pages[0])
    det = engine.stages.find.detect
    quads, _ = det(image)
    cfg = load_config()["small_print"]
    found, _ = det.small_print(image, quads, cfg)
    assert len(found) >= 5
    alone = []  # each region detected by itself, as before the sheet
    for (x0, y0, x1, y1), scale in small_print_regions(image, quads, cfg):
        qs, _ = det(image[y0:y1, x0:x1], scale)
        alone += [q + np.array([x0, y0], dtype=np.float32) for q in qs]
    matched = sum(any(np.abs(q - a).max() <= 3 for a in alone) for q in found)
    assert matched >= 0.9 * len(found), (matched, len(found))


def test_small_print_looks_at_print_not_at_rules():
    """A line of small print is a region for the second look; a form's rule beside it, and the
    stub of an underline, are not (they were every region on FUNSD's forms, for over half of a
    page's detection time, and held no text)."""
    if not Path(LATIN_FONT).is_file():
        pytest.skip(f"{LATIN_FONT} is not installed (make install adds it)")
    img = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(img)
    draw.text(
        (60, 40),
        "Terms apply to every order placed",
        fill="black",
        font=ImageFont.truetype(LATIN_FONT, 9),
    )
    draw.line((60, 150, 840, 150), fill="black", width=2)  # a rule across the form
    draw.line((400, 230, 430, 231), fill="black", width=2)  # an underline's stub
    image = np.asarray(img)
    rects = uncovered_text(image, [], load_config()["small_print"])
    assert len(rects) == 1 and rects[0][1] < 60, rects
    regions = small_print_regions(image, [], load_config()["small_print"])
    assert len(regions) == 1


def test_a_rule_has_no_letters_and_print_has_many():
    rule = np.zeros((4, 300), np.uint8)
    rule[1:3] = 255
    halftone = np.zeros((3, 120), np.uint8)
    halftone[1, ::3] = 255  # a faxed grey rule: specks one pixel high
    assert letters(rule)[0] == 0 and letters(halftone)[0] == 0
    img = Image.new("L", (300, 16), 0)
    ImageDraw.Draw(img).text((2, 2), "small print", fill=255)
    found, pieces = letters(np.asarray(img))
    assert found >= 8 and found >= 0.9 * pieces


def test_a_rule_broken_up_by_the_scan_is_not_small_print():
    """A faxed rule breaks into pieces, a few of them short enough to look like letters: on FUNSD
    such rules were most of the second look's regions, with sheets up to 448x3072 px that cost
    more than the page's own detection and found nothing."""
    cfg = load_config()["small_print"]
    image = np.full((60, 700, 3), 255, np.uint8)
    x = 20
    for width in [5, 24, 36, 4, 18, 30] * 4:  # pieces of a 2 px rule, 3 px apart
        image[30:32, x : x + width] = 0
        x += width + 3
    image[28, 20:x:7] = 0  # the rule's halftone: specks 1 px high
    run = 255 - cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[26:34, 18 : x + 2]
    found, pieces = letters(run)
    assert found >= cfg["min_letters"]  # letters alone would take it for print
    assert uncovered_text(image, [], cfg) == []


def test_underscored_names_and_narrow_letters_stay_whole(engine):
    """An underscore sits below the text band, so the band shows a blank beside it; two narrow
    letters stand apart by their side bearings. Neither blank is a space."""
    words = fixture_words(engine, "feild_description.png")
    assert "document_information.document_name" in words
    assert "Waybill" in words and "2024-06-11" in words
    assert not any(w.startswith("_") for w in words)


def test_a_blurred_tilted_photo_of_a_korean_page_is_not_turned_over(engine):
    """Neither reader is sure of such a page either way up (PP-OCR 0.54 turned against 0.46); on a
    coin toss the page stays upright (FLIP_MARGIN). Before, 3 of the 12 dev photos of Korean
    report pages were read turned over, as Hanja noise."""
    from docuocr.bench.captures import make, pdf_pages

    pdf = SHARED / "data" / "korean-docs" / "openhwp_hwpml30_spec.pdf"
    if not pdf.is_file():
        pytest.skip("../shared is not present")
    (page,) = pdf_pages(pdf, "all", [20])
    data, _, _ = make(page, "photo", seed=0)  # as in the dev photo set
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert engine.read(image).rotation == 0


def test_a_number_is_not_cut_at_its_separator():
    from docuocr.engine.words import _in_number

    # a cut before text[i]: neither side of the point in "4.13", the comma or the colon
    assert _in_number("RM4.13", 3) and _in_number("RM4.13", 4)
    assert _in_number("1,250", 1) and _in_number("12:30", 3)
    # a colon or point after a word, or at a number's end, is still a place to cut
    assert not _in_number("Total: 5", 5) and not _in_number("Total: 5", 6)
    assert not _in_number("4.13 RM", 4) and not _in_number("No. 5", 3)


def test_a_torn_character_is_settled_by_the_other_reader():
    from docuocr.engine.hangul_route import agreed

    probs, alts = [0.97, 1.0, 0.45], [[], [], [("증", 0.44), ("종", 0.02)]]
    # Tesseract reads the runner-up where the model was torn: its reading, at the model's odds.
    assert agreed("영수중", probs, alts, "영수증") == [0.97, 1.0, 0.44]
    # Not among the runners-up, another length, or the same reading: no agreement to act on.
    assert agreed("영수중", probs, alts, "영수층") is None
    assert agreed("영수중", probs, alts, "영수") is None
    assert agreed("영수중", probs, alts, "영수중") is None


_ALLOC_UNDER_CAP = """
import resource, numpy as np
from docuocr.engine.config import load_config
from docuocr.engine.onnx import Model
cfg = load_config()
model = Model(cfg["recognition"]["model"], {**cfg["runtime"], "threads": 1})
small = np.zeros((1, 3, 48, 320), np.float32)
model(small)
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))  # the test server's
try:
    model(np.zeros((8, 3, 48, 40000), np.float32))  # its output alone is 3 GB
    print("no error")
except MemoryError as exc:
    print("MemoryError")
print(model(small).shape)
"""


def test_a_failed_allocation_is_memory_and_the_model_still_reads():
    """Under a worker's memory cap, an input too big for it is a MemoryError (the API's 413), and
    the next input still reads. OpenVINO answers such an input with an empty output, or with a
    RuntimeError that leaves the compiled model broken for every later job."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _ALLOC_UNDER_CAP],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split("\n")[:2] == ["MemoryError", "(1, 40, 18710)"], out.stdout + out.stderr


def test_a_photo_with_nothing_readable_gives_no_words(engine):
    """What people photograph by mistake (a wall, a blurred or blank frame) is a
    page with no words and no confidence, never invented text (issue #23's bad input). Wood grain
    and scattered shapes are the exceptions found: at this size one box of each reads as a single
    digit at 0.3-0.5, so for them the test holds what is true, that nothing invented is scored as
    likely right."""
    from docuocr.document import Document
    from docuocr.formats.upstage import to_upstage

    rng = np.random.default_rng(0)
    h, w = 600, 800
    yy, xx = np.mgrid[0:h, 0:w]
    wall = (90 + 80 * xx / w + 40 * np.sin(yy / 97.0))[..., None].repeat(3, 2)
    grain = 120 + 40 * np.sin(xx / 7.0 + 3 * np.sin(yy / 50.0)) + rng.normal(0, 8, (h, w))
    blur = cv2.GaussianBlur(rng.normal(128, 60, (h, w)).astype(np.float32), (0, 0), 3)
    shapes = np.full((h, w, 3), 200, np.uint8)
    for _ in range(150):
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(shapes, centre, int(rng.integers(3, 40)), colour, -1)
    frames = {
        "blank": np.full((h, w, 3), 255, np.uint8),
        "wall": wall + rng.normal(0, 6, wall.shape),
        "wood": np.stack([grain * 1.1, grain * 0.8, grain * 0.5], 2),
        "blurred noise": blur[..., None].repeat(3, 2),
        "shapes": cv2.GaussianBlur(shapes, (0, 0), 1.5),
    }
    for name, frame in frames.items():
        page = engine.read(np.clip(frame, 0, 255).astype(np.uint8))
        if name in ("wood", "shapes"):
            assert all(w.confidence < 0.5 for w in page.words), [w.text for w in page.words]
            continue
        assert [w.text for w in page.words] == [], name
        body = to_upstage(Document(pages=[page]))
        assert body["text"] == "" and body["confidence"] == 0, name
