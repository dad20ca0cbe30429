"""`docuocr bench`: metrics on hand-made cases with known answers, loaders on real files, the Korean
page generator, and one small end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docuocr.bench import datasets, main, metrics, report
from docuocr.bench.datasets import PageTruth
from docuocr.bench.systems import Pred, line_words, split_line

SHARED = Path(__file__).parents[2] / "shared"
DATA = SHARED / "data"


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


# --- metrics -------------------------------------------------------------------------------------


def test_prf() -> None:
    assert metrics.prf(3, 4, 6) == pytest.approx((0.75, 0.5, 0.6))
    assert metrics.prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert metrics.prf(0, 5, 0) == (0.0, 0.0, 0.0)


def test_iou_matrix() -> None:
    iou = metrics.iou_matrix([(0, 0, 2, 2)], [(1, 0, 3, 2), (0, 0, 2, 2), (5, 5, 6, 6)])
    assert iou.shape == (1, 3)
    assert iou[0].tolist() == pytest.approx([1 / 3, 1.0, 0.0])


def test_hungarian_matching_beats_greedy() -> None:
    # Greedy would pair X with B (IoU 0.846) and leave A with Y (0.375): one detection.
    # The assignment maximising total IoU pairs X-A (0.833) and Y-B (0.6): two.
    a, b = (0, 0, 10, 10), (1, 0, 13, 10)
    x, y = (0, 0, 12, 10), (4, 0, 16, 10)
    match = metrics.match_words([("alpha", a), ("beta", b)], [("alpha", x), ("beta", y)])
    assert (match.detections, match.hits, match.correct) == (2, 2, [True, True])


def test_iou_threshold_and_exact_text() -> None:
    truth = [("Total", (0, 0, 10, 10))]
    at_half = (0, 0, 10, 5)  # IoU exactly 0.5
    below = (0, 0, 10, 4.9)
    assert metrics.match_words(truth, [("Total", at_half)]).hits == 1
    assert metrics.match_words(truth, [("Total", below)]).detections == 0
    wrong_text = metrics.match_words(truth, [("Tota1", at_half)])
    assert (wrong_text.detections, wrong_text.hits, wrong_text.correct) == (1, 0, [False])
    case = metrics.match_words(truth, [("total", (0, 0, 10, 10))])
    assert case.hits == 0  # exact equality, case included
    assert metrics.match_words([], [("x", (0, 0, 1, 1))]).correct == [False]


def test_bag_of_words_is_a_multiset() -> None:
    match = metrics.match_bag(["a", "a", "b"], ["a", "c", "a", "a"])
    assert match.hits == 2
    assert match.correct == [True, False, True, False]


def test_levenshtein_and_cer() -> None:
    assert metrics.levenshtein("kitten", "sitting") == 3
    assert metrics.levenshtein("", "abc") == 3
    assert metrics.levenshtein("대한민국", "대한민궁") == 1
    rng = np.random.default_rng(0)
    for _ in range(200):  # against the textbook dynamic programme
        a = "".join(rng.choice(list("ab가"), rng.integers(0, 12)))
        b = "".join(rng.choice(list("ab가"), rng.integers(0, 12)))
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        assert metrics.levenshtein(a, b) == prev[-1]
    assert metrics.cer("a b\nc", "abd") == pytest.approx(1 / 3)  # whitespace removed
    assert metrics.cer("", "") == 0.0


def test_char_counts_and_normalisation() -> None:
    assert metrics.char_counts("가나 다", "가다\n라") == (3, 3, 2)
    assert metrics.normalize_text("Ａ１ 김ㆍ이") == "A1 김·이"
    s = report.score_text("대한 민국", [Pred("대한민국", (0, 0, 1, 1), 0.9)])
    assert s.counts["chars_common"] == 4 and s.counts["edits"] == 0
    assert s.counts["words_hit"] == 0 and s.correct == [False]  # word bag sees the missing space


def test_calibration_known_values() -> None:
    conf, right = [0.9, 0.8, 0.3, 0.2], [True, True, False, False]
    assert metrics.ece(conf, right) == pytest.approx(0.2)  # four bins of one: mean |acc - conf|
    assert metrics.brier(conf, right) == pytest.approx(0.045)
    assert metrics.auroc(conf, right) == 1.0
    assert metrics.ece([0.95] * 4, [True, True, True, False]) == pytest.approx(0.2)
    assert metrics.ece([1.0, 0.0], [True, False]) == 0.0  # 1.0 lands in the last bin
    assert metrics.auroc([0.2, 0.8, 0.6], [True, False, True]) == 0.0
    assert metrics.auroc([0.5, 0.5], [True, False]) == 0.5
    assert metrics.auroc([0.5, 0.7], [True, True]) is None


def test_summaries() -> None:
    funsd = report.summarise("funsd", {"truth": 10, "pred": 8, "detections": 8, "hits": 6})
    assert funsd["recall"] == 0.6 and funsd["precision"] == 0.75
    assert funsd["det_f1"] == pytest.approx(2 * 0.8 * 1.0 / 1.8)
    text = report.summarise(
        "text", {"chars_truth": 10, "chars_pred": 10, "chars_common": 9, "edits": 2}
    )
    assert text["char_f1"] == pytest.approx(0.9) and text["cer"] == pytest.approx(0.2)


# --- geometry and word boxes ---------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_rotate_box_follows_the_pixels(angle: int) -> None:
    img = Image.new("L", (100, 60), 255)
    ImageDraw.Draw(img).rectangle((10, 5, 29, 19), fill=0)  # covers pixels [10, 30) x [5, 20)
    turned = np.asarray(datasets.rotate_image(img, angle))
    ys, xs = np.nonzero(turned < 128)
    ink = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert datasets.rotate_box((10, 5, 30, 20), angle, 100, 60) == pytest.approx(ink)


def test_split_line_by_characters() -> None:
    words = split_line("ab cd", [(0, 0), (50, 0), (50, 10), (0, 10)], 0.7)
    assert [(w.text, w.box, w.confidence) for w in words] == [
        ("ab", (0, 0, 20, 10), 0.7),
        ("cd", (30, 0, 50, 10), 0.7),
    ]


def test_line_words_glues_characters_into_words() -> None:
    quad = [(0, 0), (60, 0), (60, 10), (0, 10)]
    items = [
        ("大", 0.9, [(0, 0), (10, 0), (10, 10), (0, 10)]),
        ("韓", 0.7, [(10, 0), (20, 0), (20, 10), (10, 10)]),
        ("A", 0.8, [(40, 0), (50, 0), (50, 10), (40, 10)]),
    ]
    words = line_words("大韓 A", quad, 0.5, items)
    assert [(w.text, w.box) for w in words] == [("大韓", (0, 0, 20, 10)), ("A", (40, 0, 50, 10))]
    assert words[0].confidence == pytest.approx(0.8)
    # items that do not spell the line: fall back to splitting the line box
    assert [w.text for w in line_words("ab cd", quad, 0.5, [("xy", 1.0, quad)])] == ["ab", "cd"]


# --- loaders -------------------------------------------------------------------------------------


def test_sroie_lines_keep_commas_and_odd_encodings(tmp_path: Path) -> None:
    text = (
        "72,25,326,25,326,64,72,64,NO.53 55,57 & 59, JALAN\n1,2,3\n0,0,1,0,1,1,0,1,CAF\u00c9 2.50\n"
    )
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode("latin-1"))
    tokens = datasets.parse_sroie(datasets.read_text_file(path))
    assert tokens == ["NO.53", "55,57", "&", "59,", "JALAN", "CAF\u00c9", "2.50"]


def test_text_rules(tmp_path: Path) -> None:
    Image.new("RGB", (40, 20), "white").save(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text("hello\n", encoding="utf-8")
    Image.new("RGB", (40, 20), "white").save(tmp_path / "b.png")  # no ground truth
    pages = [Image.new("RGB", (40, 20), "white") for _ in range(2)]
    pages[0].save(tmp_path / "c.pdf", save_all=True, append_images=pages[1:])
    (tmp_path / "c.txt").write_text("one\fzwei\f", encoding="utf-8")
    pages[0].save(tmp_path / "d.pdf", save_all=True, append_images=pages[1:])
    (tmp_path / "d.p1.txt").write_text("eins", encoding="utf-8")
    (tmp_path / "d.p2.txt").write_text("deux", encoding="utf-8")
    ds = datasets.load(tmp_path, "text")
    assert [(s.name, [p.text for p in s.pages]) for s in ds.samples] == [
        ("a.png", ["hello\n"]),
        ("c.pdf", ["one", "zwei"]),
        ("d.pdf", ["eins", "deux"]),
    ]
    assert ds.skipped == ["b.png: no ground truth"]
    assert [s.name for s in datasets.load(tmp_path, "text", limit=2).samples] == ["a.png", "c.pdf"]


def test_funsd_loader_on_real_files() -> None:
    root = needs(DATA / "funsd-train")
    ds = datasets.load(root, "funsd", limit=3)
    assert len(ds.samples) == 3
    assert [s.name for s in ds.samples] == sorted(s.name for s in ds.samples)
    first = ds.samples[0].pages[0]
    assert first.size == Image.open(ds.samples[0].path).size
    assert len(first.words) > 20 and all(t.strip() for t, _ in first.words)
    w, h = first.size
    assert all(0 <= b[0] <= b[2] <= w and 0 <= b[1] <= b[3] <= h for _, b in first.words)


def test_sroie_loader_on_real_files() -> None:
    root = needs(DATA / "sroie-dev")
    ds = datasets.load(root, "sroie", limit=2)
    assert [s.path.suffix for s in ds.samples] == [".jpg", ".jpg"]
    tokens = ds.samples[0].pages[0].tokens
    assert len(tokens) > 20 and not any(" " in t for t in tokens)


def test_text_loader_on_real_files() -> None:
    smoke = datasets.load(needs(DATA / "smoke" / "tesseract-test"), "text")
    names = [s.name for s in smoke.samples]
    assert "phototest.tif" in names and "eurotext.tif" in names
    assert any(s.startswith("phototest-rotated-180.png") for s in smoke.skipped)
    cjk = datasets.load(needs(DATA / "cjk-pdf"), "text", limit=1)
    assert cjk.samples and "".join(p.text for p in cjk.samples[0].pages).strip()  # the text layer


# --- Korean page generator -----------------------------------------------------------------------

KOREAN = """제1조 이 법은 지방공무원의 육아휴직에 관한 사항을 정함을 목적으로 한다.
제2조 국회는 국민의 대표로서 법률을 제정하고 정부의 예산안을 심의한다.
공무원이 자녀를 양육하기 위하여 필요한 경우에는 임용권자는 휴직을 명하여야 한다.
대한민국의 모든 국민은 인간으로서의 존엄과 가치를 가지며 행복을 추구할 권리를 가진다.
초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요한 나이이다.
이 법 시행 당시 재학 중인 자에 대해서는 종전의 규정을 적용할 수 있다.
"""


def ink_bands(img: Image.Image) -> list[tuple[int, int]]:
    """Row ranges that hold ink: the rendered text lines, top to bottom."""
    rows = (np.asarray(img.convert("L")) < 128).any(axis=1)
    bands, start = [], None
    for y, ink in enumerate(rows):
        if ink and start is None:
            start = y
        elif not ink and start is not None:
            bands.append((start, y))
            start = None
    return bands


def test_synth_pages_read_back(tmp_path: Path) -> None:
    from docuocr.bench import synth

    fonts = [f for f in synth.find_fonts() if "NanumGothic Regular" in f.name]
    if not fonts:
        pytest.skip("fonts-nanum is not installed")
    corpus = tmp_path / "corpus"
    (corpus / "kobill").mkdir(parents=True)
    (corpus / "kobill" / "1.txt").write_text(KOREAN, encoding="utf-8")
    out = synth.generate(tmp_path / "a", 2, corpus, seed=3, degrade_share=0.5, fonts=fonts)
    again = synth.generate(tmp_path / "b", 2, corpus, seed=3, degrade_share=0.5, fonts=fonts)
    for a, b in zip(out, again, strict=True):  # reproducible
        assert a.read_bytes() == b.read_bytes()
        assert a.with_suffix(".txt").read_text() == b.with_suffix(".txt").read_text()
    truth = out[0].with_suffix(".txt").read_text(encoding="utf-8")
    lines = truth.splitlines()
    assert sum("가" <= c <= "힣" for c in truth) > 300 and lines[-1] == "- 1 -"
    img = Image.open(out[0])
    assert img.size == synth.PAGE
    assert datasets.load(tmp_path / "a", "text").samples[0].pages[0].text == truth
    # The page shows what its ground truth says: one ink band per line, and Tesseract, read as one
    # block (its automatic layout splits some clean Korean pages into false columns), reads the
    # first lines back.
    bands = ink_bands(img)
    assert len(bands) == len(lines)
    tesserocr = pytest.importorskip("tesserocr")
    from docuocr.bench.systems import TESSDATA

    crop = img.crop((0, 0, img.width, bands[3][1] + 10)).convert("RGB")
    try:
        read = tesserocr.image_to_text(
            crop, lang="kor", psm=tesserocr.PSM.SINGLE_BLOCK, path=str(TESSDATA)
        )
    except RuntimeError:
        pytest.skip("tesseract-ocr-kor is not installed")
    n_truth, n_read, common = metrics.char_counts(metrics.normalize_text("".join(lines[:4])), read)
    assert metrics.prf(common, n_truth, n_read)[2] > 0.8


# --- end to end ----------------------------------------------------------------------------------


def test_bench_one_funsd_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = needs(DATA / "funsd-train")
    out = tmp_path / "report.json"
    argv = [str(root), "--kind", "funsd", "--limit", "1", "--systems", "docuocr,rapidocr"]
    assert main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "| docuocr | 1 |" in printed.out and "[1/1]" in printed.err
    doc = json.loads(out.read_text(encoding="utf-8"))
    for name in ("docuocr", "rapidocr"):
        agg = doc["aggregate"][name]
        assert agg["pages"] == 1 and agg["errors"] == 0
        assert 0.3 < agg["metrics"]["f1"] <= 1.0
        assert 0.0 <= agg["calibration"]["ece"] <= 1.0
        assert agg["seconds_per_page"] > 0
    pages = [r for r in doc["pages"] if "f1" in r]
    assert {r["system"] for r in pages} == {"docuocr", "rapidocr"}
    assert pages[0]["truth"] == len(datasets.load(root, "funsd", 1).samples[0].pages[0].words)


def test_bench_usage_errors(tmp_path: Path) -> None:
    assert main(["--help"]) == 0
    assert main([str(tmp_path), "--kind", "funsd", "--systems", "nope"]) == 2
    assert main([str(tmp_path / "missing"), "--kind", "text"]) == 2
    assert main([str(tmp_path), "--kind", "text"]) == 1  # nothing to score


def test_prepare_scales_and_turns_funsd_boxes() -> None:
    from docuocr.bench.run import prepare

    truth = PageTruth(words=[("x", (10, 20, 30, 40))], size=(100, 200))
    img = Image.new("RGB", (50, 100))  # rasterised at half size
    (scaled,) = prepare("funsd", [truth], [img], 1, 0)
    assert scaled.words == [("x", (5, 10, 15, 20))]
    (turned,) = prepare("funsd", [truth], [img], 1, 90)
    assert turned.words == [("x", (100 - 20, 5, 100 - 10, 15))]


def test_bench_speed_runs_all_three_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(img).text((40, 80), "Invoice 2024 total due", fill="black", font_size=40)
    img.save(tmp_path / "page.png")
    (tmp_path / "page.txt").write_text("Invoice 2024 total due", encoding="utf-8")
    out = tmp_path / "speed.json"
    argv = [str(tmp_path), "--kind", "text", "--speed", "--rounds", "1", "--workers", "1"]
    assert main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| docuocr ocr, cold start | 1 |" in printed
    assert "| docuocr serve, 1 workers, warm | 1 |" in printed
    timings = json.loads(out.read_text(encoding="utf-8"))["timings"]
    assert [t["pages"] for t in timings] == [1, 1, 1]
    assert all(t["s_per_page"] > 0 for t in timings)


def test_bench_lines_kind_scores_line_crops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--kind lines`: tight Korean line crops, padded with their own paper, read whole by the
    engine and by Tesseract in PSM 7, scored as text."""
    from PIL import ImageFont

    font_path = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    if not font_path.is_file():
        pytest.skip("fonts-nanum is not installed")
    font = ImageFont.truetype(str(font_path), 28)
    lines = ["대한민국은 민주공화국이다", "모든 권력은 국민으로부터 나온다"]
    for i, text in enumerate(lines):
        x0, y0, x1, y1 = font.getbbox(text)
        img = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 235)
        ImageDraw.Draw(img).text((2 - x0, 2 - y0), text, font=font, fill=20)
        img.save(tmp_path / f"{i}.png")
        (tmp_path / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
    padded = datasets.pad_line(Image.open(tmp_path / "0.png"))
    assert padded.getpixel((0, 0)) == (235, 235, 235)
    out = tmp_path / "report.json"
    argv = [str(tmp_path), "--kind", "lines", "--systems", "docuocr,tesseract"]
    assert main([*argv, "--json", str(out)]) == 0
    assert "| docuocr | 2 |" in capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["aggregate"]["docuocr"]["metrics"]["char_f1"] > 0.9
    assert doc["aggregate"]["tesseract"]["metrics"]["char_f1"] > 0.8
