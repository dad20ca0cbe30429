"""The async API: the durable store, page counting, signed links, and restart recovery end to end
(a real `docuocr serve`, killed mid-work, and a second server on the same data dir)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from docuocr.config import Limits
from docuocr.errors import InvalidDocument
from docuocr.http.jobs import Forbidden, Signer
from docuocr.intake import load, open_document
from docuocr.jobs.runner import prepare
from docuocr.jobs.store import Store, owner_of
from docuocr.serverproc import ServerProcess
from tests.docgen import font, jpeg, png, text_pdf, tiff

SHARED = Path(__file__).resolve().parents[2] / "shared"
KEY, OTHER_KEY = "jobs-key-1", "jobs-key-2"
AUTH = {"Authorization": f"Bearer {KEY}"}


def words_image(text: str, size: tuple[int, int] = (560, 110)) -> Image.Image:
    from PIL import ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((24, 28), text, font=font(44), fill="black")
    return img


# --- the store -----------------------------------------------------------------------------


def test_store_lifecycle_survives_reopening(tmp_path):
    store = Store(tmp_path / "jobs")
    me, other = owner_of(KEY), owner_of(OTHER_KEY)
    assert me != other and KEY not in me
    job = store.create(me, "ocr-2.2.1", "", "scan.pdf", "pdf", b"%PDF-1.4 fake")
    assert (job.status, job.total_pages, job.batches) == ("submitted", 0, [])
    assert store.document(job.id) == b"%PDF-1.4 fake"
    assert store.get(job.id, other) is None  # another key does not see it
    assert store.get(job.id, me).id == job.id
    assert store.next_to_prepare(set()).id == job.id
    assert store.next_to_prepare({job.id}) is None  # being prepared by a lane

    store.prepared(job.id, "pdf", 25, None)
    job = store.get(job.id)
    assert [(b.id, b.start_page, b.end_page) for b in job.batches] == [
        (0, 1, 10),
        (1, 11, 20),
        (2, 21, 25),
    ]
    assert store.next_to_prepare(set()) is None

    claimed_job, batch = store.claim_batch()
    assert (claimed_job.id, batch.id, claimed_job.status) == (job.id, 0, "started")
    store.progress(job.id, 0, 4)
    assert store.get(job.id).completed_pages == 4
    store.finish_batch(job.id, 0, b'{"pages": []}')
    _, second = store.claim_batch()
    assert second.id == 1

    # A crash now: reopen the files with a new connection, as a new server would.
    store.close()
    store = Store(tmp_path / "jobs")
    job = store.get(job.id)
    assert [b.status for b in job.batches] == ["completed", "started", "submitted"]
    assert job.completed_pages == 10
    assert store.recover() == 1
    assert [b.status for b in store.get(job.id).batches] == ["completed", "submitted", "submitted"]
    assert store.result_path(job.id, 0).read_bytes() == b'{"pages": []}'

    for _ in range(2):
        _, batch = store.claim_batch()
        store.finish_batch(job.id, batch.id, b"{}")
    job = store.get(job.id)
    assert (job.status, job.completed_pages, job.failure_message) == ("completed", 25, "")
    assert job.completed_at is not None
    assert store.claim_batch() is None
    store.close()


def test_a_failed_batch_fails_the_job_but_keeps_the_others(tmp_path):
    store = Store(tmp_path / "jobs")
    job = store.create(owner_of(KEY), "ocr-2.2.1", "", "", "tiff", b"II*\x00")
    store.prepared(job.id, "tiff", 12, None)
    _, b0 = store.claim_batch()
    _, b1 = store.claim_batch()
    store.finish_batch(job.id, b1.id, None, "page 11: the page is too large")
    assert store.get(job.id).status == "started"  # batch 0 still running
    store.finish_batch(job.id, b0.id, b"{}")
    job = store.get(job.id)
    assert job.status == "failed"
    assert job.failure_message == "batch 1: page 11: the page is too large"
    assert [b.status for b in job.batches] == ["completed", "failed"]
    store.close()


def test_purge_removes_expired_jobs_and_their_files(tmp_path):
    store = Store(tmp_path / "jobs")
    old = store.create(owner_of(KEY), "ocr-2.2.1", "", "", "png", b"old")
    busy = store.create(owner_of(KEY), "ocr-2.2.1", "", "", "png", b"busy")
    cutoff = time.time()
    new = store.create(owner_of(KEY), "ocr-2.2.1", "", "", "png", b"new")
    assert store.get(old.id, since=cutoff) is None  # expired jobs are invisible at once
    assert store.purge(cutoff, keep={busy.id}) == 1
    assert store.get(old.id) is None and not store.job_dir(old.id).exists()
    assert store.get(busy.id) is not None and store.get(new.id) is not None
    assert store.job_dir(new.id).is_dir()
    store.close()


# --- page counting --------------------------------------------------------------------------


def test_prepare_counts_the_pages_and_keeps_images_and_pdfs_as_they_are():
    limits = Limits()
    pdf = text_pdf([f"page {i} of the split test" for i in range(1, 5)], size=(300, 120))
    tif = tiff([words_image(f"frame {i}") for i in range(3)])
    one = png(words_image("one page"))
    for data, kind, pages in ((pdf, "pdf", 4), (tif, "tiff", 3), (one, "png", 1)):
        assert prepare(data, limits) == (None, kind, pages)


def test_a_hancom_document_is_laid_out_once_and_read_page_by_page():
    """An async HWP job is laid out into a PDF once, like a DOCX; its pages are that PDF's."""
    hwp = SHARED / "data" / "hwp" / "hwpjs_noori.hwp"
    if not hwp.is_file():
        pytest.skip("../shared is not present")
    data = hwp.read_bytes()
    limits = Limits()
    converted, kind, total = prepare(data, limits)
    assert kind == "pdf" and converted is not None
    whole = load(data, limits)
    assert total == whole.total_pages == 3  # Hancom's export has 3 pages
    with open_document(converted, limits) as source:  # what a page job opens
        assert (source.kind, source.page_count) == ("pdf", 3)
        last = source.page(total - 1)
    assert np.array_equal(np.asarray(last), np.asarray(whole.pages[-1]))


def test_prepare_rejects_what_intake_rejects():
    with pytest.raises(InvalidDocument):
        prepare(b"%PDF-1.4\n% truncated", Limits())


def test_prepare_counts_pages_beyond_the_sync_page_limit():
    pdf = text_pdf(["x"] * 35, size=(200, 100))
    assert prepare(pdf, replace(Limits(), max_pages=30))[2] == 35
    # ocr refuses more than 100 pages per sync call; the async API has its own page limit.
    pdf = text_pdf(["x"] * 101, size=(200, 100))
    assert prepare(pdf, Limits.from_env("ocr"))[2] == 101


def test_signed_links(tmp_path):
    signer = Signer(tmp_path, ttl_s=60)
    query = dict(p.split("=") for p in signer.query("job", 1).split("&"))
    signer.check("job", 1, query["expires"], query["signature"])
    # Same secret after a restart: a fresh Signer reads it from the data dir.
    Signer(tmp_path, ttl_s=60).check("job", 1, query["expires"], query["signature"])
    assert (tmp_path / "url_secret").stat().st_mode & 0o777 == 0o600
    with pytest.raises(Forbidden):
        signer.check("job", 2, query["expires"], query["signature"])  # another batch
    with pytest.raises(Forbidden):
        signer.check("job", 1, str(int(query["expires"]) + 1), query["signature"])
    expired = Signer(tmp_path, ttl_s=-1)
    q = dict(p.split("=") for p in expired.query("job", 1).split("&"))
    with pytest.raises(Forbidden) as err:
        expired.check("job", 1, q["expires"], q["signature"])
    assert err.value.code == "download_url_expired"


def test_one_runner_per_data_dir(tmp_path):
    """A second server on the same data dir queues jobs; only the first one runs them."""
    from types import SimpleNamespace

    from docuocr.config import Settings
    from docuocr.http.jobs import JobService

    async def main() -> None:
        settings = Settings(data_dir=tmp_path)
        idle_pool = SimpleNamespace(workers=1, in_flight=0)  # never asked to OCR: no jobs
        first, second = JobService(settings), JobService(settings)
        await first.start(idle_pool)
        assert first.store is None  # nothing is created until the first job
        await first.open()
        await second.start(idle_pool)  # the store exists now: opened at start-up
        assert first.runner is not None and second.store is not None and second.runner is None
        await first.stop()
        await second.stop()
        third = JobService(settings)
        await third.start(idle_pool)
        assert third.runner is not None  # the lock went with the first server
        await third.stop()

    asyncio.run(main())


# --- end to end: kill the server mid-work, a new one finishes -------------------------------


class Server(ServerProcess):
    def __init__(self, data_dir: Path, log: Path, **env: str) -> None:
        environ = {
            "DOCUOCR_WORKERS": "1",
            "DOCUOCR_DATA_DIR": str(data_dir),
            "DOCUOCR_API_KEYS": f"{KEY},{OTHER_KEY}",
            "DOCUOCR_RATE_LIMIT": "0",  # these tests submit in bursts; one test sets a limit
            **env,
        }
        super().__init__(environ, log)
        self.wait_ready()

    def job(self, request_id: str, key: str = KEY) -> requests.Response:
        return requests.get(
            f"{self.url}/v1/document-ai/requests/{request_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )


@pytest.fixture
def servers(tmp_path) -> Iterator:
    started: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(tmp_path / "data", tmp_path / "server.log", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def _pdf(pages: int) -> bytes:
    """A PDF whose page i is 100 + 10*i points tall, so every page's size tells its number."""
    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    for i in range(1, pages + 1):
        one = pdfium.PdfDocument(text_pdf([f"page {i} alpha"], size=(300, 100 + 10 * i)))
        merged.import_pages(one)
        one.close()
    buf = io.BytesIO()
    merged.save(buf)
    merged.close()
    return buf.getvalue()


def _documents() -> dict[str, tuple[str, bytes, list[int]]]:
    """Five documents: name → (filename, bytes, each page's height in pixels, in order)."""
    files = {
        "png": ("hello.png", png(words_image("Hello async world"))),
        "jpeg": ("scan.jpg", jpeg(words_image("second document", (560, 120)))),
        "tiff": (
            "fax.tif",
            tiff([words_image(f"fax page {i}", (560, 100 + 10 * i)) for i in (1, 2, 3)]),
        ),
        "pdf": ("long.pdf", _pdf(12)),
        "png2": ("last.png", png(words_image("fifth request", (560, 140)))),
    }
    docs = {}
    for name, (filename, data) in files.items():
        heights = [page.height for page in load(data, Limits()).pages]
        assert len(set(heights)) == len(heights)  # distinct: the order can be checked
        docs[name] = (filename, data, heights)
    return docs


def test_jobs_survive_a_killed_server_and_complete_on_the_next(servers, tmp_path):
    docs = _documents()
    first = servers()
    submit = first.url + "/v1/document-ai/async/ocr"

    # Checked before anything is stored, as the sync call does.
    r = requests.post(submit, files={"document": ("a.png", docs["png"][1])}, timeout=10)
    assert r.status_code == 401
    r = requests.post(submit, headers=AUTH, files={"document": ("a.txt", b"plain text\n")})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_document_format"
    r = requests.post(
        submit, headers=AUTH, files={"document": ("a.png", docs["png"][1])}, data={"model": "x"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "model_not_found"

    ids: dict[str, str] = {}
    for name, (filename, data, _) in docs.items():
        r = requests.post(submit, headers=AUTH, files={"document": (filename, data)}, timeout=30)
        assert r.status_code == 202, r.text
        assert set(r.json()) == {"request_id"}
        ids[name] = r.json()["request_id"]

    # Let some work happen, then kill the server before the 18 pages are done.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = {n: first.job(i).json() for n, i in ids.items()}
        if sum(s["completed_pages"] for s in states.values()) >= 2:
            break
        time.sleep(0.5)
    assert not all(s["status"] == "completed" for s in states.values())
    first.kill()

    second = servers()
    assert "resuming" in first.log.read_text()  # both servers log to the same file
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        states = {n: second.job(i).json() for n, i in ids.items()}
        if all(s["status"] in ("completed", "failed") for s in states.values()):
            break
        time.sleep(1)
    readings: dict[str, dict] = {}  # each document's last batch
    for name, state in states.items():
        expected = docs[name][2]
        assert state["status"] == "completed", state
        assert state["id"] == ids[name] and state["failure_message"] == ""
        assert state["total_pages"] == state["completed_pages"] == len(expected)
        heights = []
        for batch in state["batches"]:
            assert batch["status"] == "completed"
            # A pre-signed link: no key needed, as with the hosted API's download_url.
            body = requests.get(batch["download_url"], timeout=10).json()
            assert body["numBilledPages"] == len(body["pages"])
            assert body["numBilledPages"] == batch["end_page"] - batch["start_page"] + 1
            assert [p["id"] for p in body["pages"]] == list(range(len(body["pages"])))
            words = [w for p in body["pages"] for w in p["words"]]
            assert words and [w["id"] for w in words] == list(range(len(words)))
            heights += [p["height"] for p in body["pages"]]
        assert [(b["start_page"], b["end_page"]) for b in state["batches"]] == [
            (s, min(s + 9, len(expected))) for s in range(1, len(expected) + 1, 10)
        ]
        assert heights == expected, name  # every page, once, in order
        readings[name] = body

    # A batch's JSON is the sync API's JSON for a document of those pages, exactly.
    for name in ("png", "tiff"):
        filename, data, _ = docs[name]
        sync = requests.post(
            second.url + "/v1/document-ai/ocr", headers=AUTH, files={"document": (filename, data)}
        )
        assert readings[name] == sync.json(), name

    # Unknown ids, other keys, tampered links.
    job_id = ids["pdf"]
    unknown = second.job("00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "request_not_found"
    assert second.job(job_id, OTHER_KEY).status_code == 404
    url = states["pdf"]["batches"][1]["download_url"]
    assert requests.get(url.replace("batches/1", "batches/0")).status_code == 403
    path = url.split("?")[0]
    assert requests.get(path).status_code == 401
    assert requests.get(path, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 404
    assert requests.get(path, headers=AUTH).json()["numBilledPages"] == 2
    listed = requests.get(second.url + "/v1/document-ai/requests", headers=AUTH).json()
    assert {r["id"] for r in listed["requests"]} == set(ids.values())
    other = requests.get(second.url + "/v1/document-ai/requests", headers={
        "Authorization": f"Bearer {OTHER_KEY}"}).json()  # fmt: skip
    assert other["requests"] == []
    second.stop()

    # Retention: a server with a retention shorter than the jobs' age purges them at start-up.
    time.sleep(1)
    third = servers(DOCUOCR_RESULT_RETENTION_DAYS="0.00001")  # under one second
    assert third.job(job_id).status_code == 404
    assert not (tmp_path / "data" / "jobs" / job_id).exists()
    third.stop()


def test_submissions_share_the_per_key_rate_limit(servers):
    server = servers(DOCUOCR_RATE_LIMIT="0.01", DOCUOCR_RATE_BURST="2")
    submit = server.url + "/v1/document-ai/async/ocr"
    png = _documents()["png"][1]
    codes = []
    for _ in range(3):
        r = requests.post(submit, headers=AUTH, files={"document": ("a.png", png)}, timeout=30)
        codes.append(r.status_code)
    assert codes == [202, 202, 429]
    assert r.json()["error"]["code"] == "too_many_requests" and int(r.headers["Retry-After"]) >= 1
    # polling is not a submission: it stays open to the same key
    listed = requests.get(server.url + "/v1/document-ai/requests", headers=AUTH, timeout=10)
    assert listed.status_code == 200 and len(listed.json()["requests"]) == 2


def test_async_jobs_follow_the_models_limits(servers):
    """A 57 MiB BMP: over ocr-2.2.1's 50 MB (413 at submission, nothing stored), within ocr's
    100 MB; the request and its result still report the model version as before."""
    from PIL import ImageDraw

    server = servers()
    submit = server.url + "/v1/document-ai/async/ocr"
    img = Image.new("RGB", (5000, 3986), "white")
    ImageDraw.Draw(img).text((200, 200), "Bitmap page reads well", font=font(90), fill="black")
    buf = io.BytesIO()
    img.save(buf, "BMP")
    data = buf.getvalue()
    assert len(data) > 57 * 2**20
    parts = [("model", (None, "ocr-2.2.1")), ("document", ("scan.bmp", data))]
    r = requests.post(submit, headers=AUTH, files=parts, timeout=60)
    assert r.status_code == 413 and "ocr-2.2.1" in r.json()["error"]["message"], r.text
    parts = [("document", ("scan.bmp", data)), ("model", (None, "ocr"))]
    r = requests.post(submit, headers=AUTH, files=parts, timeout=60)
    assert r.status_code == 202, r.text
    job_id = r.json()["request_id"]
    deadline = time.monotonic() + 120
    while (state := server.job(job_id).json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["status"] == "completed", state
    assert state["model"] == state["batches"][0]["model"] == "ocr-2.2.1"
    body = requests.get(state["batches"][0]["download_url"], timeout=10).json()
    assert body["modelVersion"] == "ocr-2.2.1"
    assert (body["pages"][0]["width"], body["text"]) == (5000, "Bitmap page reads well")
    server.stop()
