"""No uploaded office document makes the server reach the network.

Each hostile document (tests/hostile.py) points at a loopback listener that must see nothing. The
real server reads them all; then each fence (the package rewrite, the network namespace, the
LibreOffice profile) is shown to hold on its own against the references that LibreOffice really
follows when nothing stops it.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from docuocr.errors import InvalidDocument
from docuocr.intake import converter, load, office
from docuocr.intake.links import neutralise
from docuocr.serverproc import ServerProcess
from tests import docgen, hostile

needs_soffice = pytest.mark.skipif(docgen.SOFFICE is None, reason="LibreOffice is not installed")
KEY = "test-key"
# What LibreOffice 7.4 fetches from these documents when no fence is up (measured).
FOLLOWED = [("docx", "linked-picture"), ("xlsx", "indirect"), ("pptx", "linked-picture"),
            ("pptx", "linked-ole")]  # fmt: skip


class Listener:
    """A loopback TCP listener that records the first line of whatever connects to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(4096).split(b"\r\n")[0] or b"(connected)")
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.seen.append(b"(connected)")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    probe = Listener()
    yield probe
    probe.close()


@pytest.fixture
def fresh(listener: Listener) -> Listener:
    listener.seen.clear()
    return listener


@pytest.fixture(scope="module")
def server(serve) -> ServerProcess:
    return serve(DOCUOCR_WORKERS="2", DOCUOCR_API_KEYS=KEY)


def _documents(url: str) -> dict[str, bytes]:
    docs = {
        f"{kind}:{vector}": hostile.BUILDERS[kind](vector, url)
        for kind, vectors in hostile.VECTORS.items()
        for vector in vectors
    }
    docs.update({f"all:{name}": build(url) for name, build in hostile.COMBINED.items()})
    return docs


@needs_soffice
def test_no_hostile_document_reaches_the_network_through_the_server(server, fresh):
    docs = _documents(fresh.url)

    def post(item: tuple[str, bytes]) -> tuple[str, requests.Response]:
        name, data = item
        ext = name.split(":")[1] if name.startswith("all:") else name.split(":")[0]
        files = {"document": (f"probe.{'docx' if ext == 'entity' else ext}", data)}
        headers = {"Authorization": f"Bearer {KEY}"}
        return name, requests.post(
            f"{server.url}/v1/document-ai/ocr", headers=headers, files=files, timeout=120
        )

    with ThreadPoolExecutor(2) as pool:  # the server's two workers
        answers = dict(pool.map(post, docs.items()))

    assert fresh.seen == [], f"the listener was reached: {fresh.seen}"
    wrong = {n: r.status_code for n, r in answers.items() if r.status_code not in (200, 400)}
    assert not wrong, wrong
    for name, r in answers.items():
        if r.status_code == 200:  # the document is still read, without what it linked to
            assert "intake check" in r.json()["text"], name
        else:
            assert name == "all:entity", (name, r.text)
            assert "document type declaration" in r.json()["error"]["message"]
    assert requests.get(f"{server.url}/health", timeout=10).json()["status"] == "ok"


def _fences(monkeypatch, keep: str) -> None:
    """Take down every fence but `keep` ("neutralise", "netns", "profile" or "none")."""
    if keep != "neutralise":
        monkeypatch.setattr(office, "neutralise", lambda data, kind: data)
    if keep != "netns":
        monkeypatch.setattr(converter, "no_network_prefix", lambda: ())
    if keep != "profile":
        monkeypatch.setattr(office, "write_profile", lambda path: None)


@needs_soffice
def test_with_every_fence_down_libreoffice_does_fetch(monkeypatch, fresh):
    """The control: the hostile documents and the listener are real."""
    _fences(monkeypatch, "none")
    load(hostile.BUILDERS["docx"]("linked-picture", fresh.url))
    assert any(b"/drawing.png" in line for line in fresh.seen), fresh.seen


@needs_soffice
@pytest.mark.parametrize("fence", ["neutralise", "netns"])
def test_each_fence_holds_on_its_own(monkeypatch, fresh, fence):
    if fence == "netns" and not converter.no_network_prefix():
        pytest.skip("this OS allows no network namespace")
    _fences(monkeypatch, fence)
    for kind, vector in FOLLOWED:
        assert load(hostile.BUILDERS[kind](vector, fresh.url)).pages, vector
    assert fresh.seen == []


@needs_soffice
def test_the_profile_alone_blocks_linked_pictures(monkeypatch, fresh):
    _fences(monkeypatch, "profile")
    for kind in ("docx", "pptx"):
        load(hostile.BUILDERS[kind]("linked-picture", fresh.url))
    assert fresh.seen == []


@needs_soffice
@pytest.mark.parametrize("name", ["docx", "xlsx", "pptx"])
def test_the_rewrite_leaves_no_trace_of_the_url(name):
    url = "http://127.0.0.1:9/probe"
    cleaned = neutralise(hostile.COMBINED[name](url), name)
    with zipfile.ZipFile(io.BytesIO(cleaned)) as zf:
        left = [n for n in zf.namelist() if b"127.0.0.1" in zf.read(n)]
    assert left == []


@needs_soffice
@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx"])
def test_ordinary_documents_pass_unchanged(kind):
    data = docgen.office(kind)
    assert neutralise(data, kind) is data


@needs_soffice
def test_an_external_entity_is_refused_before_libreoffice():
    with pytest.raises(InvalidDocument, match="document type declaration"):
        neutralise(hostile.docx_entity("http://127.0.0.1:9"), "docx")


@needs_soffice
def test_a_part_that_is_not_xml_is_refused():
    data = hostile.edit(docgen.office("docx"), {"word/document.xml": lambda x: x[:-20]}, {})
    with pytest.raises(InvalidDocument, match="not well-formed XML"):
        neutralise(data, "docx")


def test_the_namespace_has_no_network(listener):
    prefix = converter.no_network_prefix()
    if not prefix:
        pytest.skip("this OS allows no network namespace")
    port = listener.url.rsplit(":", 1)[1]
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
    done = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, timeout=30)
    assert done.returncode != 0
    assert b"Network is unreachable" in done.stderr or b"refused" in done.stderr
    # and the same program outside it does connect
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_profile_settings_are_valid_xml(tmp_path: Path):
    office.write_profile(tmp_path)
    from lxml import etree

    root = etree.parse(str(tmp_path / "user" / "registrymodifications.xcu")).getroot()
    assert len(root) == sum(len(p) for p in office.PROFILE_SETTINGS.values())
