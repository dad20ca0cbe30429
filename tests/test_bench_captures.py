"""The capture bench: the capture generator (seeded, geometry within bounds, ground truth kept),
page-text folding, SROIE compared caseless, PDF page selection and the Upstage-fixture kind."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from docuocr.bench import captures, datasets, main, metrics, report
from docuocr.bench.datasets import PageTruth
from docuocr.bench.systems import Pred
from tests.docgen import font, text_pdf

SHARED = Path(__file__).parents[2] / "shared"
DATA = SHARED / "data"
COOKBOOK = SHARED / "fixtures" / "upstage-cookbook"
LINES = ["Invoice 2026-0412 total 1,250.00", "Ship to: Seoul, Korea", "Thank you"]


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


def pred(text: str) -> Pred:
    return Pred(text, (0, 0, 1, 1), 0.9)


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small A5 page at 150 DPI with three lines of text and its ground truth."""
    root = tmp_path_factory.mktemp("src")
    img = Image.new("RGB", (874, 1240), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(LINES):
        draw.text((80, 120 + 70 * i), line, fill="black", font=font(32))
    img.save(root / "page.png")
    (root / "page.txt").write_text("\n".join(LINES), encoding="utf-8")
    return root


# --- folding -------------------------------------------------------------------------------------


def test_page_text_folding() -> None:
    norm = metrics.normalize_text
    assert norm("2020–2024 — A−B ‐ x‑y") == "2020-2024 - A-B - x-y"
    assert norm("‘a’ ‚b‛ 1′ “c” „d‟ 2″") == "'a' 'b' 1' \"c\" \"d\" 2\""
    assert norm("김ㆍ이ꞏ박‧최∙정・강ᆞ조⋅윤･한") == "김·이·박·최·정·강·조·윤·한"
    assert norm("A\ue000B\U000f0001C") == "ABC"  # private use dropped
    assert norm("제1장 개요 ........ 3") == "제1장 개요  3"  # leader dots removed
    assert norm("목차 · · · · 12 …… 7 ‥‥ 9") == "목차  12  7  9"
    assert norm("끝.. 그리고 1.5") == "끝.. 그리고 1.5"  # two dots and decimals stay
    assert norm("• ◦ ○ ▪") == "• ◦ ○ ▪"  # bullets stay different
    s = report.score_text("제1장 ......... 3", [pred("제1장"), pred("3")])
    assert s.counts["chars_common"] == s.counts["chars_truth"] == 4


# --- SROIE caseless ------------------------------------------------------------------------------


def test_sroie_compares_caseless_and_reports_exact_case() -> None:
    truth = PageTruth(tokens=["TOTAL:", "RM", "12.00", "THANK"])
    words = [pred("Total:"), pred("RM 12.00"), pred("Thanks")]
    s = report.score_sroie(truth, words)
    assert s.counts == {"truth": 4, "pred": 4, "hits": 3, "hits_exact": 2}
    assert s.correct == [True, True, True, False]
    assert [w.text for w in words] == ["Total:", "RM 12.00", "Thanks"]  # the output keeps its case
    out = report.summarise("sroie", s.counts)
    assert out["f1"] == pytest.approx(0.75) and out["f1_exact_case"] == pytest.approx(0.5)
    assert "F1 exact case" in report.table(
        "sroie",
        {
            "x": {
                "pages": 1,
                "metrics": out,
                "calibration": report.calibration(s),
                "seconds_per_page": 1.0,
            }
        },
    )


# --- the capture generator -----------------------------------------------------------------------


def test_captures_are_reproducible(page_dir: Path, tmp_path: Path) -> None:
    for style in ("photo", "lowdpi"):
        a = captures.generate(page_dir, tmp_path / "a", "text", style, seed=3)
        data_a = (tmp_path / "a" / a[0]["file"]).read_bytes()
        b = captures.generate(page_dir, tmp_path / "b", "text", style, seed=3)
        assert a == b and (tmp_path / "b" / b[0]["file"]).read_bytes() == data_a
        c = captures.generate(page_dir, tmp_path / "c", "text", style, seed=4)
        assert (tmp_path / "c" / c[0]["file"]).read_bytes() != data_a


@pytest.mark.parametrize("seed", range(4))
def test_photo_geometry_within_bounds(page_dir: Path, tmp_path: Path, seed: int) -> None:
    [meta] = captures.generate(page_dir, tmp_path, "text", "photo", seed=seed)
    assert meta["file"] == "page.jpg"
    assert (tmp_path / "page.txt").read_text(encoding="utf-8") == "\n".join(LINES)
    assert 4 <= abs(meta["angle"]) <= 25 and 0 <= meta["perspective"] <= 15
    assert 75 <= meta["dpi"] <= 110 and 60 <= meta["jpeg_quality"] <= 90
    with Image.open(tmp_path / "page.jpg") as im:
        assert im.format == "JPEG" and list(im.size) == meta["size"]
        rgb = np.asarray(im.convert("RGB"))
    quad = np.array(meta["page_quad"])
    w, h = meta["size"]
    assert quad[:, 0].min() > 0 and quad[:, 1].min() > 0
    assert quad[:, 0].max() < w and quad[:, 1].max() < h  # the whole page, with a margin
    # Page size at the drawn resolution: the A5 page is 5.83 in wide.
    top = np.linalg.norm(quad[1] - quad[0])
    assert 0.8 * 5.83 * meta["dpi"] < top < 1.05 * 5.83 * meta["dpi"]
    # The top edge leans as drawn (counter-clockwise positive), give or take the perspective.
    lean = math.degrees(math.atan2(quad[0][1] - quad[1][1], quad[1][0] - quad[0][0]))
    assert abs(lean - meta["angle"]) < 9
    # The paper is where the quad says: brighter than the desk around it.
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [quad.round().astype(np.int32)], 1)
    grey = rgb.mean(axis=2)
    assert grey[mask == 1].mean() > grey[mask == 0].mean() + 25


def test_low_dpi_styles(page_dir: Path, tmp_path: Path) -> None:
    [meta] = captures.generate(page_dir, tmp_path / "90", "text", "dpi90")
    with Image.open(tmp_path / "90" / "page.png") as im:
        assert im.size == (round(874 * 90 / 150), round(1240 * 90 / 150))
    [meta] = captures.generate(page_dir, tmp_path / "low", "text", "lowdpi", seed=1)
    assert 75 <= meta["dpi"] <= 90 and 80 <= meta["jpeg_quality"] <= 92
    with Image.open(tmp_path / "low" / "page.jpg") as im:
        assert abs(im.size[0] - 874 * meta["dpi"] / 150) <= 1
    [meta] = captures.generate(page_dir, tmp_path / "p", "text", "photo", dpi_range=(60, 62))
    assert 60 <= meta["dpi"] <= 62
    assert captures.parse_dpi("60-80") == (60.0, 80.0)
    with pytest.raises(ValueError):
        captures.parse_dpi("80-60")


def test_pdf_pages_keep_their_text_layer(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(text_pdf(["first page", "second page", "third page"]))
    written = captures.generate(pdf, tmp_path / "out", "pdf", "dpi90", pages=[2, 3, 9])
    assert [m["file"] for m in written] == ["doc.p002.png", "doc.p003.png"]
    assert (tmp_path / "out" / "doc.p002.txt").read_text(encoding="utf-8").strip() == "second page"
    with Image.open(tmp_path / "out" / "doc.p002.png") as im:
        assert abs(im.size[0] - 595 / 72 * 90) <= 1 and abs(im.size[1] - 842 / 72 * 90) <= 1
    ds = datasets.load(tmp_path / "out", "text")
    assert [s.pages[0].text.strip() for s in ds.samples] == ["second page", "third page"]


def test_funsd_reading_order() -> None:
    words = [("b", (50, 12, 60, 22)), ("c", (5, 40, 20, 50)), ("a", (5, 10, 20, 20))]
    assert captures.funsd_text(words) == "a b\nc"


def test_splits_are_disjoint_and_real() -> None:
    funsd = needs(DATA / "funsd-train")
    dev = [p.name for p in captures.sources(funsd, "funsd", "dev")]
    held = [p.name for p in captures.sources(funsd, "funsd", "heldout")]
    assert len(dev) == 20 and len(held) == 12 and not set(dev) & set(held)
    assert dev[0].startswith("funsd_001_") and held[0].startswith("funsd_101_")
    docs = needs(DATA / "korean-docs")
    dev = [(p.name, len(p.text)) for p in captures.sources(docs, "pdf", "dev")]
    held = [(p.name, len(p.text)) for p in captures.sources(docs, "pdf", "heldout")]
    assert len(dev) == len(held) == 12 and not {n for n, _ in dev} & {n for n, _ in held}
    assert min(n for _, n in dev + held) > 300  # every page has a real text layer


def test_captures_command(page_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "set"
    assert captures.main([str(page_dir), str(out), "--kind", "text", "--style", "photo"]) == 0
    doc = json.loads((out / "captures.json").read_text(encoding="utf-8"))
    assert doc["style"] == "photo" and [p["file"] for p in doc["pages"]] == ["page.jpg"]
    assert captures.main([str(page_dir), str(out), "--kind", "text", "--style", "photo",
                          "--split", "dev"]) == 2  # fmt: skip


# --- PDF page selection in the bench -------------------------------------------------------------


def test_bench_reads_only_the_pages_asked_for(tmp_path: Path) -> None:
    root = tmp_path / "set"
    root.mkdir()
    pdf = root / "doc.pdf"
    pdf.write_bytes(text_pdf(["alpha one", "beta two", "gamma three", "delta four"]))
    assert datasets.parse_pages("2-3,4") == [2, 3, 4]
    for bad in ("0", "3-1", "x", ""):
        with pytest.raises(ValueError):
            datasets.parse_pages(bad)
    [sample] = datasets.load(root, "text", pages=[2, 4, 7]).samples
    assert sample.selected == [2, 4]
    assert [p.text.strip() for p in sample.pages] == ["beta two", "delta four"]
    sub = datasets.pdf_subset(pdf.read_bytes(), sample.selected)
    assert [t.strip() for t in datasets.pdf_text_layer(_write(tmp_path / "sub.pdf", sub))] == [
        "beta two",
        "delta four",
    ]
    with pytest.raises(ValueError):
        datasets.load(root, "funsd", pages=[1])
    out = tmp_path / "r.json"
    argv = [str(root), "--kind", "text", "--pages", "2,4", "--systems", "tesseract"]
    assert main([*argv, "--tesseract-lang", "eng", "--json", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["page_count"] == 2 and doc["pages"][0]["sample"] == "doc.pdf"
    assert doc["aggregate"]["tesseract"]["metrics"]["char_f1"] > 0.8


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- Upstage fixtures ----------------------------------------------------------------------------


def test_upstage_loader_and_scorer() -> None:
    root = needs(COOKBOOK)
    ds = datasets.load(root, "upstage")
    names = {s.name: s for s in ds.samples}
    assert {"dpi_75", "rotate", "multi_page"} <= set(names)
    assert len(names["multi_page"].pages) == 3 and names["multi_page"].path.suffix == ".pdf"
    response = json.loads((root / "rotate.json").read_text(encoding="utf-8"))
    words = [pred(w["text"]) for w in response["pages"][0]["words"]]
    s = report.score_upstage(names["rotate"].pages[0], words)
    assert s.counts["hits"] == s.counts["truth"] == s.counts["pred"] > 50  # itself: perfect
    half = report.score_upstage(names["rotate"].pages[0], words[::2])
    assert report.summarise("upstage", half.counts)["precision"] == 1.0


def test_bench_upstage_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = needs(COOKBOOK)
    for name in ("dpi_75.jpg", "dpi_75.json"):
        (tmp_path / name).write_bytes((root / name).read_bytes())
    out = tmp_path / "r.json"
    assert (
        main([str(tmp_path), "--kind", "upstage", "--systems", "docuocr", "--json", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "| dpi_75 |" in printed and "docuocr f1" in printed
    agg = json.loads(out.read_text(encoding="utf-8"))["aggregate"]["docuocr"]
    assert agg["errors"] == 0 and 0.6 < agg["metrics"]["f1"] <= 1.0
