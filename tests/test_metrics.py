"""`GET /metrics` and `GET /ready` through a real `docuocr serve` (one worker, no queue, replaced
after every job, so readiness drops after each), and the app's metrics in process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import requests
from PIL import Image, ImageDraw
from prometheus_client.parser import text_string_to_metric_families

from docuocr.config import Limits, ModelLimits, Settings
from docuocr.errors import TooManyRequests
from docuocr.http.app import create_app
from docuocr.metrics import Metrics
from docuocr.pool import Pool
from docuocr.serverproc import ServerProcess
from tests.docgen import PHRASE, font, png, text_pdf

# A key per request that posts: the server allows each key one request per 20 s.
KEYS = tuple(f"metrics-key-{n}" for n in range(6))
OCR = "/v1/document-ai/ocr"
SECRET_NAME = "payroll-of-jane-doe.pdf"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def page(lines: int) -> bytes:
    """`lines` lines of text: 1 reads in well under a second, 12 take a few seconds."""
    img = Image.new("RGB", (1240, 80 + 60 * lines), "white")
    draw = ImageDraw.Draw(img)
    for i in range(lines):
        draw.text((40, 40 + 60 * i), f"{PHRASE} line {i}", font=font(36), fill="black")
    return png(img)


@pytest.fixture(scope="module")
def server(serve) -> ServerProcess:
    return serve(
        DOCUOCR_API_KEYS=",".join(KEYS),
        DOCUOCR_QUEUE_SIZE="0",
        DOCUOCR_WORKER_MAX_TASKS="1",
        DOCUOCR_RATE_LIMIT="0.05",
        DOCUOCR_RATE_BURST="1",
        DOCUOCR_METRICS_AUTH="1",
    )


def scrape(server: ServerProcess) -> str:
    response = requests.get(server.url + "/metrics", headers=auth(KEYS[0]), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name` with these labels, read with prometheus_client's own parser (0 if none)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def grew(before: str, after: str, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def eventually(check: Callable[[], bool], timeout: float = 60) -> None:
    """Counts are taken just after a response goes out; readiness comes back after a reload."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_ready(server: ServerProcess) -> None:
    eventually(lambda: requests.get(server.url + "/ready", timeout=10).status_code == 200, 120)


def test_ready_after_start_and_health_unchanged(server):
    response = requests.get(server.url + "/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "workers": 1}
    health = requests.get(server.url + "/health").json()
    assert set(health) == {"status", "version", "models", "workers", "in_flight", "capacity"}
    assert value(scrape(server), "docuocr_ready") == 1


def test_a_3_page_pdf_counts_3_pages_and_one_200_and_readiness_drops_while_reloading(server):
    wait_ready(server)
    before = scrape(server)
    pdf = text_pdf(["Hello page one", "Second page here", "Third and last"], size=(400, 120))
    response = requests.post(
        server.url + OCR, headers=auth(KEYS[0]), files={"document": (SECRET_NAME, pdf)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["numBilledPages"] == 3
    # DOCUOCR_WORKER_MAX_TASKS=1: the worker was replaced before the answer went out, and the
    # new one is loading its models now.
    not_ready = requests.get(server.url + "/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["ready"] is False

    ok = {"endpoint": OCR, "method": "POST", "status": "200"}
    eventually(lambda: grew(before, scrape(server), "docuocr_http_requests_total", **ok) == 1)
    after = scrape(server)
    assert grew(before, after, "docuocr_pages_total", format="pdf") == 3
    assert grew(before, after, "docuocr_ocr_page_seconds_count") == 3
    assert grew(before, after, "docuocr_ocr_page_seconds_sum") > 0
    assert grew(before, after, "docuocr_http_request_duration_seconds_count", endpoint=OCR) == 1
    assert grew(before, after, "docuocr_worker_restarts_total", reason="max_tasks") == 1
    wait_ready(server)
    assert value(scrape(server), "docuocr_ready") == 1


def test_429s_are_counted_by_reason(server):
    wait_ready(server)
    before = scrape(server)
    # Rate limit: the key's one request, then a second at once. Neither runs any OCR.
    first = requests.post(server.url + OCR, headers=auth(KEYS[1]), files={"model": (None, "ocr")})
    assert first.json()["error"]["code"] == "missing_document"
    limited = requests.post(server.url + OCR, headers=auth(KEYS[1]), files={"model": (None, "ocr")})
    assert limited.status_code == 429

    # Queue full: one worker, no queue; a second request while the first runs is turned away.
    result = {}

    def post() -> None:
        result["response"] = requests.post(
            server.url + OCR, headers=auth(KEYS[2]), files={"document": ("p.png", page(12))}
        )

    thread = threading.Thread(target=post)
    thread.start()
    eventually(lambda: value(scrape(server), "docuocr_pool_admitted") == 1, 30)
    busy = requests.post(server.url + OCR, headers=auth(KEYS[3]), files={"document": b"x"})
    thread.join(60)
    assert busy.status_code == 429, busy.text
    assert result["response"].status_code == 200, result["response"].text

    status_429 = {"endpoint": OCR, "method": "POST", "status": "429"}
    eventually(
        lambda: grew(before, scrape(server), "docuocr_http_requests_total", **status_429) == 2
    )
    after = scrape(server)
    reasons = [
        grew(before, after, "docuocr_too_many_requests_total", reason=reason)
        for reason in ("rate_limit", "queue_full", "queue_time")
    ]
    assert reasons == [1, 1, 0]


def test_async_jobs_by_state(server):
    wait_ready(server)
    before = scrape(server)
    assert value(before, "docuocr_async_jobs", state="completed") == 0
    response = requests.post(
        server.url + "/v1/document-ai/async/ocr",
        headers=auth(KEYS[4]),
        files={"document": ("scan.png", page(1))},
    )
    assert response.status_code == 202, response.text
    eventually(lambda: value(scrape(server), "docuocr_async_jobs", state="completed") == 1, 120)
    after = scrape(server)
    assert grew(before, after, "docuocr_pages_total", format="png") == 1
    submitted = {"endpoint": "/v1/document-ai/async/ocr", "method": "POST", "status": "202"}
    assert grew(before, after, "docuocr_http_requests_total", **submitted) == 1


def test_metrics_need_the_key_and_leak_no_key_path_or_file_name(server):
    before = scrape(server)
    assert requests.get(server.url + "/metrics").status_code == 401
    assert requests.get(server.url + "/metrics", headers=auth("not-a-key")).status_code == 401
    assert requests.get(server.url + "/no/such/path-of-a-secret").status_code == 404
    request_id = "0123456789abcdef"
    url = server.url + f"/v1/document-ai/requests/{request_id}"
    assert requests.get(url, headers=auth(KEYS[5])).status_code == 404

    template = {"endpoint": "/v1/document-ai/requests/{request_id}", "method": "GET"}
    eventually(lambda: grew(before, scrape(server), "docuocr_http_requests_total", **template,
                            status="404") == 1)  # fmt: skip
    text = scrape(server)
    assert grew(before, text, "docuocr_http_requests_total", endpoint="/metrics", method="GET",
                status="401") == 2  # fmt: skip
    assert grew(before, text, "docuocr_http_requests_total", endpoint="unmatched", method="GET",
                status="404") == 1  # fmt: skip
    for secret in (*KEYS, "not-a-key", "path-of-a-secret", request_id, SECRET_NAME, "jane"):
        assert secret not in text
    assert "Traceback" not in server.log.read_text()


# --- in process: no worker pool (httpx's ASGITransport runs no lifespan) ----------------------


def call(app, method: str, path: str, body: bytes = b"", **headers: str) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, content=body, headers=headers)

    return asyncio.run(main())


def get(app, path: str, **headers: str) -> httpx.Response:
    return call(app, "GET", path, **headers)


def test_requests_stopped_before_routing_still_count_under_their_route():
    small = ModelLimits({"ocr-2.2.1": Limits(max_file_bytes=1000)})
    app = create_app(Settings(api_keys=("k",), limits=small))
    assert call(app, "POST", OCR, b"x" * 200_000).status_code == 413  # from the body limit
    assert call(app, "BREW", "/health").status_code == 405
    text = get(app, "/metrics").text
    assert value(text, "docuocr_http_requests_total", endpoint=OCR, method="POST",
                 status="413") == 1  # fmt: skip
    assert value(text, "docuocr_http_requests_total", endpoint="/health", method="other",
                 status="405") == 1  # fmt: skip


def test_metrics_need_no_key_by_default_and_two_apps_keep_apart():
    first = create_app(Settings(api_keys=("k",)))
    second = create_app(Settings(api_keys=("k",), metrics_auth=True))  # no duplicate timeseries
    assert get(first, "/no-such-page").status_code == 404
    response = get(first, "/metrics")
    assert response.status_code == 200
    assert value(response.text, "docuocr_http_requests_total",
                 endpoint="unmatched", method="GET", status="404") == 1  # fmt: skip
    assert get(second, "/metrics").status_code == 401
    response = get(second, "/metrics", Authorization="Bearer k")
    assert response.status_code == 200
    assert value(response.text, "docuocr_http_requests_total",
                 endpoint="unmatched", method="GET", status="404") == 0  # fmt: skip


def test_metrics_auth_setting(monkeypatch):
    monkeypatch.setenv("DOCUOCR_METRICS_AUTH", "yes")
    assert Settings.from_env().metrics_auth is True
    monkeypatch.delenv("DOCUOCR_METRICS_AUTH")
    assert Settings.from_env().metrics_auth is False
    monkeypatch.setenv("DOCUOCR_METRICS_AUTH", "maybe")
    with pytest.raises(ValueError, match="DOCUOCR_METRICS_AUTH"):
        Settings.from_env()


def test_time_based_admission_429_is_counted_as_queue_time():
    pool = Pool(Settings(workers=2, queue_size=16, request_timeout_s=100))  # no worker started
    try:
        pool.job_s = 25.0  # 3 rounds of 25 s fit in 80% of 100 s: 6 admitted, not 18
        with contextlib.ExitStack() as held:
            for _ in range(6):
                held.enter_context(pool.admit())
            with pytest.raises(TooManyRequests), pool.admit():
                pass
        text = pool.metrics.render().decode()
        assert value(text, "docuocr_too_many_requests_total", reason="queue_time") == 1
        assert value(text, "docuocr_too_many_requests_total", reason="queue_full") == 0
        assert value(text, "docuocr_ready") == 0  # no worker has loaded anything
    finally:
        pool.close()


def test_workers_that_die_while_loading_are_started_again_by_the_readiness_check():
    """Under a 64 MB address-space cap the models cannot load: the new workers die at once."""

    async def main() -> None:
        pool = Pool(Settings(workers=1, worker_memory_mb=64))
        try:
            with pytest.raises(RuntimeError, match="died while loading the models"):
                await pool.warm_up()
            assert pool.ready is False
            pool.revive()  # what GET /ready does
            assert pool.ready is False  # the new worker is loading (and will die again)
            text = pool.metrics.render().decode()
            assert value(text, "docuocr_worker_restarts_total", reason="crash") == 1
        finally:
            pool.close()

    asyncio.run(main())


def test_page_kinds_are_the_sniffed_format_never_a_name():
    metrics = Metrics()
    metrics.pages_read("png", 2, 1.0)
    metrics.pages_read("../etc/passwd", 1, 1.0)  # cannot happen (kinds come from sniff), still
    text = metrics.render().decode()
    assert value(text, "docuocr_pages_total", format="png") == 2
    assert value(text, "docuocr_pages_total", format="unknown") == 1
    assert "passwd" not in text
    assert value(text, "docuocr_ocr_page_seconds_count") == 3
