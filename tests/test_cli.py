"""The `docuocr` command, run as a user would: a real process on real files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docgen import PHRASE, phrase_image, png

DOCUOCR = Path(sys.executable).with_name("docuocr")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DOCUOCR), *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "phrase.png"
    path.write_bytes(png(phrase_image()))
    return path


def test_one_file_prints_the_api_json(page):
    result = run("ocr", str(page), "--model", "ocr")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["apiVersion"] == "1.1"
    assert body["modelVersion"] == "ocr-2.2.1"
    assert body["numBilledPages"] == 1
    assert body["text"].split() == PHRASE.split()
    assert [w["id"] for w in body["pages"][0]["words"]] == list(range(len(PHRASE.split())))


def test_several_files_with_one_bad(page, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    missing = tmp_path / "missing.pdf"
    out = tmp_path / "out"
    result = run("ocr", str(bad), str(missing), str(page), "--out", str(out))
    assert result.returncode == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(tmp_path))]
    # Several files are read in parallel, so they finish in any order.
    assert len(errors) == 2
    assert any("broken.png: " in e for e in errors) and any("missing.pdf: " in e for e in errors)
    assert re.search(rf"\[\d/3\] {re.escape(str(page))}: 1 page\(s\)", result.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["phrase.json"]
    body = json.loads((out / "phrase.json").read_text())
    assert body["text"].split() == PHRASE.split()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--schema", "nonsense"], "nonsense"),
        (["--model", "document-parse"], "OCR only"),
        (["--model", "ocr-9"], "ocr-2.2.1"),
    ],
)
def test_bad_options_fail_before_any_ocr(page, args, says):
    result = run("ocr", str(page), *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert result.stdout == ""


def test_several_files_need_out(page):
    result = run("ocr", str(page), str(page.with_name("other.png")))
    assert result.returncode == 2
    assert "--out" in result.stderr


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("ocr", "serve", "bench"):
        assert command in result.stdout
    module = subprocess.run(
        [sys.executable, "-m", "docuocr", "--help"], capture_output=True, text=True, check=True
    )
    assert module.stdout == result.stdout
    serve = run("serve", "--help")
    assert "--no-auth" in serve.stdout and "--workers" in serve.stdout
