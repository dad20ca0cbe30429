"""`docuocr batch` on a small folder tree: local pool and local Ray (2 CPUs), resuming, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from docuocr.batch.plan import ERRORS_FILE, plan
from docuocr.batch.progress import Progress
from docuocr.config import Limits
from docuocr.formats import render
from tests.docgen import font, jpeg, png, text_pdf

DOCUOCR = Path(sys.executable).with_name("docuocr")
EXPECTED = {  # output → the words on its pages
    "a.json": [["hello", "batch", "world"]],
    "sub/b.json": [["second", "file", "here"]],
    "sub/deeper/c.json": [["first", "pdf", "page"], ["second", "pdf", "page"]],
}


def words_image(text: str) -> Image.Image:
    img = Image.new("RGB", (600, 110), "white")
    ImageDraw.Draw(img).text((24, 28), text, font=font(44), fill="black")
    return img


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """Three readable files (four pages), one text file, one corrupt image, one name clash."""
    root = tmp_path_factory.mktemp("tree") / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.png").write_bytes(png(words_image("Hello batch world")))
    buf = io.BytesIO()
    words_image("clash").save(buf, format="BMP")
    (root / "a.tif").write_bytes(buf.getvalue())  # after a.png, and would also write a.json
    (root / "sub" / "b.jpg").write_bytes(jpeg(words_image("second file here")))
    (root / "sub" / "deeper" / "c.pdf").write_bytes(
        text_pdf(["first pdf page", "second pdf page"], size=(300, 100))
    )
    (root / "notes.txt").write_text("not a document\n")
    (root / "sub" / "broken.png").write_bytes(png(words_image("x"))[:300])
    (root / ".hidden.png").write_bytes(png(words_image("hidden")))
    return root


def batch(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DOCUOCR), "batch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )


def outputs(out: Path) -> dict[str, dict]:
    return {
        p.relative_to(out).as_posix(): json.loads(p.read_text())
        for p in sorted(out.rglob("*.json"))
    }


def page_words(body: dict) -> list[list[str]]:
    return [[w["text"].lower() for w in page["words"]] for page in body["pages"]]


def errors(out: Path) -> dict[str, dict]:
    lines = (out / ERRORS_FILE).read_text().splitlines()
    return {r["path"]: r for r in map(json.loads, lines)}


@pytest.fixture(scope="module")
def local_run(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    return out, batch(tree, out, "--workers", "2")


def test_local_batch_writes_the_api_json_per_file(local_run):
    out, run = local_run
    assert run.returncode == 1, run.stderr  # the corrupt PNG and the clash failed
    got = outputs(out)
    assert sorted(got) == sorted(EXPECTED)
    for name, body in got.items():
        assert page_words(body) == EXPECTED[name], name
        assert body["numBilledPages"] == len(EXPECTED[name])
    failures = errors(out)
    assert set(failures) == {"notes.txt", "sub/broken.png", "a.tif"}
    assert failures["notes.txt"]["status"] == "skipped"
    assert failures["notes.txt"]["code"] == "unsupported_document_format"
    assert failures["sub/broken.png"]["status"] == "failed"
    assert failures["sub/broken.png"]["code"] == "invalid_document"
    assert "a.png" in failures["a.tif"]["reason"]
    assert "skipped notes.txt: unsupported document format" in run.stderr
    assert "pages/s" in run.stderr and "ETA" in run.stderr


def test_batch_output_equals_the_sync_api(local_run, tree):
    """The API renders `ocr_bytes` with `formats.render`; the batch JSON is that, byte for byte."""
    from docuocr.engine import Engine, default_stages
    from docuocr.pipeline import ocr_bytes

    out, _ = local_run
    engine = Engine(default_stages())
    for src, name in (("a.png", "a.json"), ("sub/deeper/c.pdf", "sub/deeper/c.json")):
        doc = ocr_bytes((tree / src).read_bytes(), engine, Limits())
        assert outputs(out)[name] == render(doc), name


def test_a_second_run_resumes(local_run, tree):
    out, _ = local_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    run = batch(tree, out, "--workers", "2")
    assert run.returncode == 1  # the broken file is tried again, and fails again
    assert "2 file(s) to read, 3 already done" in run.stderr, run.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == before
    assert set(errors(out)) == {"notes.txt", "sub/broken.png", "a.tif"}


def test_ray_batch_on_a_local_ray_matches_the_local_engine(local_run, tree, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    run = batch(tree, out, "--engine", "ray", "--workers", "2")
    assert run.returncode == 1, run.stderr
    assert "on a local Ray" in run.stderr
    local = outputs(local_run[0])
    assert outputs(out) == local  # the same words, boxes and confidences
    assert set(errors(out)) == {"notes.txt", "sub/broken.png", "a.tif"}


def test_bad_arguments(tmp_path):
    run = batch(tmp_path / "missing", tmp_path / "out")
    assert run.returncode == 2 and "is not a folder" in run.stderr
    run = batch(tmp_path, tmp_path / "out", "--schema", "nope")
    assert run.returncode == 2 and "schema" in run.stderr


def test_plan_skips_done_files_and_the_output_folder(tmp_path):
    src = tmp_path / "in"
    (src / "x").mkdir(parents=True)
    (src / "x" / "p.png").write_bytes(b"1")
    (src / "q.tar.gz").write_bytes(b"2")
    out = src / "out"  # inside IN: never read as input
    (out / "x").mkdir(parents=True)
    (out / "x" / "p.json").write_text("{}")
    todo, done, clashes = plan(src, out)
    assert [(i.rel, i.out.relative_to(out).as_posix()) for i in todo] == [
        ("q.tar.gz", "q.tar.json")
    ]
    assert (done, clashes) == (1, [])


def test_progress_line_has_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(4, stream)
    progress.done("a.pdf", pages=3)
    line = progress.line()
    assert line.startswith("[######") and "1/4 files, 3 pages" in line
    assert "pages/s" in line and "ETA 0:" in line
    assert "a.pdf" in stream.getvalue()
    progress.done("b.png", failed=True)
    assert "1 failed" in progress.line()
    assert "1 file(s) read, 1 failed" in progress.finish()
