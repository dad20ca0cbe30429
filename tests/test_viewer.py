"""The web viewer in real headless Chromium (Debian's), against a real `docuocr serve`.

Every number the page shows is checked against the API's own response for the same file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import requests
from PIL import Image, ImageDraw

from docuocr.serverproc import ServerProcess
from tests.docgen import font, jpeg, phrase_image, tiff

ROOT = Path(__file__).parents[1]
SHARED = Path(__file__).parents[2] / "shared"
ROTATE = SHARED / "fixtures" / "upstage-cookbook" / "rotate.jpg"
STATIC = ROOT / "src" / "docuocr" / "static"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = "viewer-test-key"
OCR_TIMEOUT_MS = 240_000  # a rotated photo takes seconds of OCR on a loaded 2-core machine


def _missing(reason: str) -> None:
    """`make install` provides the browser, so in CI a missing one is a failure, not a skip."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (make install)")
    if not Path(CHROMIUM).is_file():
        _missing("chromium is not installed (make install: apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def server(serve) -> ServerProcess:
    return serve(DOCUOCR_API_KEYS=KEY, DOCUOCR_RATE_LIMIT=None)  # the default rate limit


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    page: object  # playwright Page
    page_errors: list[str]
    console_errors: list[str]


@pytest.fixture
def tab(browser, server) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    tab = Tab(page, [], [])
    page.on("pageerror", lambda exc: tab.page_errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and tab.console_errors.append(msg.text))
    page.goto(server.url + "/")
    yield tab
    context.close()


def ocr_api(server: ServerProcess, path: Path) -> dict:
    """The API's own answer for the file, to compare the page with."""
    with path.open("rb") as f:
        r = requests.post(
            server.url + "/v1/document-ai/ocr",
            headers={"Authorization": f"Bearer {KEY}"},
            files={"document": f},
            timeout=OCR_TIMEOUT_MS / 1000,
        )
    assert r.status_code == 200, r.text
    return r.json()


def rotated_photo(tmp_path: Path) -> Path:
    """rotate.jpg from the Upstage cookbook, or else a tilted page stored sideways with an EXIF
    orientation tag, so that the boxes only line up if the page shows the intake's image."""
    if ROTATE.is_file():
        return ROTATE
    page = Image.new("RGB", (900, 420), "white")
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(["Invoice number 20417", "Total amount 1,250.00", "Due 2026-03-31"]):
        draw.text((40, 40 + 120 * i), line, font=font(52), fill="black")
    tilted = page.rotate(12, expand=True, fillcolor="white")
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg(tilted.transpose(Image.Transpose.ROTATE_90), orientation=6))
    return path


def upload(tab: Tab, path: Path, key: str = KEY, state: str = "done") -> None:
    tab.page.fill("#api-key", key)
    tab.page.set_input_files("#document", str(path))
    tab.page.wait_for_selector(f"body[data-state={state}]", timeout=OCR_TIMEOUT_MS)


def drawn(tab: Tab, selector: str = "[data-word-id]") -> list[tuple[int, float]]:
    return [
        (int(i), float(c))
        for i, c in tab.page.eval_on_selector_all(
            selector, "els => els.map(e => [e.dataset.wordId, e.dataset.confidence])"
        )
    ]


def set_threshold(tab: Tab, value: float) -> None:
    tab.page.fill("#threshold", repr(value))


def low_ids(words: list[dict], threshold: float) -> list[int]:
    return [w["id"] for w in words if w["confidence"] < threshold]


def test_rotated_photo_matches_api(tab: Tab, server: ServerProcess, tmp_path: Path) -> None:
    path = rotated_photo(tmp_path)
    api = ocr_api(server, path)
    words = [w for p in api["pages"] for w in p["words"]]
    assert words, "the API read nothing: the comparison below would be empty"
    assert not {"previews", "formats"} & set(api)  # the API's response carries no page images
    page = tab.page
    upload(tab, path)

    # Every word of the response is drawn once, with its id and confidence.
    assert drawn(tab) == [(w["id"], w["confidence"]) for w in words]
    assert page.locator("polygon[data-word-id]").count() == len(words)
    # The default threshold is 0.8, and the marks follow it live.
    assert page.input_value("#threshold") == "0.8"
    assert [i for i, _ in drawn(tab, ".low-confidence")] == low_ids(words, 0.8)
    confidences = sorted({w["confidence"] for w in words})
    for threshold in (confidences[len(confidences) // 2], 1.0, 0.0, 0.8):
        set_threshold(tab, threshold)
        assert [i for i, _ in drawn(tab, ".low-confidence")] == low_ids(words, threshold)
        assert page.text_content("#sum-low") == str(len(low_ids(words, threshold)))
    assert page.text_content("#sum-words") == str(len(words))

    # The image is the page the boxes are in, and each box sits where its vertices say.
    geometry = page.evaluate(
        """() => {
            const fig = document.querySelector('figure.page:not([hidden])');
            const img = fig.querySelector('img').getBoundingClientRect();
            const boxes = [...fig.querySelectorAll('polygon')].map(p => {
                const r = p.getBoundingClientRect();
                return [Number(p.dataset.wordId), r.left - img.left, r.top - img.top,
                        r.right - img.left, r.bottom - img.top];
            });
            const el = fig.querySelector('img');
            return {width: img.width, height: img.height, natural: [el.naturalWidth,
                    el.naturalHeight], boxes};
        }"""
    )
    api_page = api["pages"][0]
    scale = geometry["width"] / api_page["width"]
    assert geometry["height"] == pytest.approx(api_page["height"] * scale, abs=1.5)
    natural_w, natural_h = geometry["natural"]
    assert natural_w / natural_h == pytest.approx(api_page["width"] / api_page["height"], rel=0.01)
    by_id = {w["id"]: w for w in words}
    for word_id, left, top, right, bottom in geometry["boxes"]:
        xs = [v["x"] * scale for v in by_id[word_id]["boundingBox"]["vertices"]]
        ys = [v["y"] * scale for v in by_id[word_id]["boundingBox"]["vertices"]]
        # The stroke is drawn outside the geometry, hence the small allowance.
        assert (left, top, right, bottom) == pytest.approx(
            (min(xs), min(ys), max(xs), max(ys)), abs=3
        ), word_id

    # Focus shows the word's text and confidence.
    low = low_ids(words, 0.8) or [words[0]["id"]]
    page.focus(f'[data-word-id="{low[0]}"]')
    assert page.is_visible("#tooltip")
    tip = page.text_content("#tooltip")
    assert by_id[low[0]]["text"] in tip
    assert f"{by_id[low[0]]['confidence']:.4f}" in tip

    # The side panel has the recognised text, and downloads the JSON in the chosen schema.
    assert page.inner_text("#text").split() == api_page["text"].split()
    with page.expect_download() as info:
        page.click("#download")
    downloaded = json.loads(Path(info.value.path()).read_text())
    assert info.value.suggested_filename == f"{path.stem}.upstage.json"
    assert [(w["id"], w["text"]) for p in downloaded["pages"] for w in p["words"]] == [
        (w["id"], w["text"]) for w in words
    ]
    page.select_option("#schema", "clova")
    with page.expect_download() as info:
        page.click("#download")
    clova = json.loads(Path(info.value.path()).read_text())
    assert info.value.suggested_filename == f"{path.stem}.clova.json"
    assert [f["inferText"] for f in clova["images"][0]["fields"]] == [w["text"] for w in words]

    # A screenshot for people: a word to check under the pointer, its tooltip showing.
    page.select_option("#schema", "")
    page.hover(f'[data-word-id="{low[0]}"]')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer.png"))
    assert tab.page_errors == []
    assert tab.console_errors == []


def test_multi_page_navigation(tab: Tab, server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "two-pages.tiff"
    first = phrase_image("Hello world", size=(520, 120), font_size=48)
    second = phrase_image("Second page here", size=(620, 120), font_size=48)
    path.write_bytes(tiff([first, second]))
    api = ocr_api(server, path)
    assert [len(p["words"]) for p in api["pages"]] == [2, 3], api["text"]
    page = tab.page
    upload(tab, path)

    words = [w for p in api["pages"] for w in p["words"]]
    assert [i for i, _ in drawn(tab)] == [w["id"] for w in words]  # ids run on, as in the API
    assert page.text_content("#page-label") == "Page 1 of 2"
    assert page.is_disabled("#prev-page")
    visible = "figure.page:not([hidden]) [data-word-id]"
    assert [i for i, _ in drawn(tab, visible)] == [w["id"] for w in api["pages"][0]["words"]]
    page.click("#next-page")
    assert page.text_content("#page-label") == "Page 2 of 2"
    assert page.is_disabled("#next-page")
    assert [i for i, _ in drawn(tab, visible)] == [w["id"] for w in api["pages"][1]["words"]]
    assert page.inner_text("#text").split() == api["pages"][1]["text"].split()
    page.click("#prev-page")
    assert page.text_content("#page-label") == "Page 1 of 2"

    # "Download searchable PDF": both pages, each with its words as text
    with page.expect_download() as info:
        page.click("#download-pdf")
    assert info.value.suggested_filename == "two-pages.pdf"
    pdf = pdfium.PdfDocument(Path(info.value.path()).read_bytes())
    assert [" ".join(p.get_textpage().get_text_range().split()) for p in pdf] == [
        p["text"] for p in api["pages"]
    ]
    assert tab.page_errors == []
    assert tab.console_errors == []


def test_api_error_is_shown_and_a_corrected_key_reads_again(
    tab: Tab, server: ServerProcess, tmp_path: Path
) -> None:
    path = tmp_path / "hello.png"
    phrase_image("Hello world", size=(520, 120), font_size=48).save(path)
    wrong = requests.post(
        server.url + "/viewer/ocr",
        headers={"Authorization": "Bearer wrong"},
        files={"document": path.read_bytes()},
        timeout=30,
    )
    assert wrong.status_code == 401
    message = wrong.json()["error"]["message"]

    upload(tab, path, key="wrong", state="error")
    assert tab.page.is_visible("#error")
    assert message in tab.page.text_content("#error")
    assert tab.page.locator("[data-word-id]").count() == 0

    tab.page.fill("#api-key", KEY)  # the page reads the document again with the new key
    tab.page.wait_for_selector("body[data-state=done]", timeout=OCR_TIMEOUT_MS)
    assert tab.page.is_hidden("#error")
    assert tab.page.locator("[data-word-id]").count() == 2
    # The key lives in this tab's session storage and nowhere else.
    storage = tab.page.evaluate("() => [sessionStorage.length, localStorage.length]")
    assert storage == [1, 0]
    assert tab.page_errors == []
    # The browser logs the 401 itself; nothing else may be an error.
    assert all("401" in e for e in tab.console_errors), tab.console_errors


def test_page_is_served_without_a_key_and_works_offline(server: ServerProcess) -> None:
    r = requests.get(server.url + "/", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in r.headers["content-security-policy"]
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert requests.get(f"{server.url}/{ref}", timeout=10).status_code == 200, ref
    # Nothing the page loads or calls lives on another host.
    for f in STATIC.iterdir():
        text = f.read_text()
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//|url\(["']?(?:https?:)?//""", text)
        assert not re.search(r"""(?:fetch|import)\(\s*["'](?:https?:)?//""", text), f.name
    # The viewer's endpoint needs the key, like the API.
    assert requests.post(server.url + "/viewer/ocr", timeout=10).status_code == 401
