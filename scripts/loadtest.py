#!/usr/bin/env python3
"""A bounded load test of `docuocr serve` on loopback.

Sends REQUESTS page-sized PNGs from CLIENTS threads that all start at once, and reports
throughput, p50/p95 latency, the status counts, the peak RSS of the server's process tree
(the server, its OCR workers and any LibreOffice they run), and the peaks of the server's
`/metrics` gauges (requests in flight, admitted, queue depth) sampled during the run. A 429 or
503 is retried after its Retry-After, up to --retries times, as Upstage's cookbook client does.

Without --url it starts its own `docuocr serve` (default workers, one API key per client) on a
free port in 8500-8599 and stops it afterwards. Passes (exit 0) when every answer is a 200, or
a 429/503 with Retry-After, the server is healthy at the end, and its peak RSS is under 8 GB.

    .venv/bin/python scripts/loadtest.py                  # 48 requests, 24 clients
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8000 --keys KEY --pid PID
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from statistics import quantiles

import requests
from PIL import Image, ImageDraw, ImageFont
from prometheus_client.parser import text_string_to_metric_families

from docuocr.serverproc import ServerProcess

PATH = "/v1/document-ai/ocr"
RSS_LIMIT_MB = 8 * 1024
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = "Invoice 2026-{n:03d}: 12 items shipped to the warehouse, total due 4,218.50 EUR."


def page(small: bool) -> bytes:
    """An A4 page at 150 DPI with 30 lines of text, or with --small one short line."""
    size, lines, font_size = ((480, 110), 1, 40) if small else ((1240, 1754), 30, 26)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    face = ImageFont.truetype(FONT, font_size) if Path(FONT).is_file() else None
    for n in range(lines):
        text = "Hello world" if small else TEXT.format(n=n)
        draw.text((60, 30 + 55 * n), text, font=face, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class RssMonitor(threading.Thread):
    """Samples the process tree's total RSS every 0.2 s and keeps the peak."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while self.pid and not self.stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb(process_tree(self.pid)))
            self.stop.wait(0.2)


class GaugeMonitor(threading.Thread):
    """Scrapes `/metrics` every 0.2 s and keeps each gauge's peak (the in-flight count includes
    the scrape itself). A server without `/metrics` leaves the peaks empty."""

    GAUGES = (
        "docuocr_http_requests_in_flight",
        "docuocr_pool_admitted",
        "docuocr_pool_queue_depth",
    )

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.url = url + "/metrics"
        self.headers = {"Authorization": f"Bearer {key}"}  # for DOCUOCR_METRICS_AUTH=1
        self.peaks: dict[str, float] = {}
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            try:
                response = session.get(self.url, headers=self.headers, timeout=5)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 200:
                self.samples += 1
                for family in text_string_to_metric_families(response.text):
                    if family.name in self.GAUGES and family.samples:
                        value = family.samples[0].value
                        self.peaks[family.name] = max(self.peaks.get(family.name, 0.0), value)
            self.stop.wait(0.2)


def run_load(args: argparse.Namespace, url: str, keys: list[str], pid: int | None) -> dict:
    document = page(args.small)
    jobs = list(range(args.requests))
    lock = threading.Lock()
    answers: list[tuple[int, float, bool]] = []  # status, seconds, has Retry-After
    first: Counter[int] = Counter()
    done: list[float] = []  # seconds from first send to a 200, per document
    failed: list[str] = []
    barrier = threading.Barrier(args.clients)
    stop_at = time.monotonic() + args.max_seconds

    def client(n: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {keys[n % len(keys)]}"}
        barrier.wait()
        while True:
            with lock:
                if not jobs:
                    return
                jobs.pop()
            began = time.perf_counter()
            for attempt in range(args.retries + 1):
                sent = time.perf_counter()
                try:
                    response = session.post(
                        url + PATH,
                        headers=headers,
                        files={"document": ("page.png", document, "image/png")},
                        timeout=max(1.0, stop_at - time.monotonic()),
                    )
                except requests.RequestException as exc:
                    with lock:
                        failed.append(f"{type(exc).__name__}: {exc}")
                    break
                status = response.status_code
                with lock:
                    answers.append(
                        (status, time.perf_counter() - sent, "Retry-After" in response.headers)
                    )
                    if attempt == 0:
                        first[status] += 1
                if status == 200:
                    with lock:
                        done.append(time.perf_counter() - began)
                    break
                if status not in (429, 503) or attempt == args.retries:
                    break
                wait = float(response.headers.get("Retry-After", 1))
                if time.monotonic() + wait > stop_at:
                    break
                time.sleep(wait)

    monitor = RssMonitor(pid)
    monitor.start()
    gauges = GaugeMonitor(url, keys[0])
    gauges.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    monitor.stop.set()
    monitor.join()
    gauges.stop.set()
    gauges.join()
    try:
        healthy = requests.get(url + "/health", timeout=10).json()["status"] == "ok"
    except (requests.RequestException, ValueError, KeyError):
        healthy = False

    ok_latency = sorted(s for status, s, _ in answers if status == 200)
    statuses = Counter(str(status) for status, _, _ in answers)
    report = {
        "requests": args.requests,
        "clients": args.clients,
        "page": "small" if args.small else "A4 at 150 DPI, 30 lines",
        "wall_s": round(wall, 1),
        "completed": len(done),
        "throughput_pages_per_s": round(len(done) / wall, 3) if wall else 0.0,
        "latency_200_p50_s": round(_pct(ok_latency, 50), 2),
        "latency_200_p95_s": round(_pct(ok_latency, 95), 2),
        "end_to_end_p50_s": round(_pct(sorted(done), 50), 2),
        "end_to_end_p95_s": round(_pct(sorted(done), 95), 2),
        "first_statuses": {str(k): v for k, v in sorted(first.items())},
        "statuses": dict(sorted(statuses.items())),
        "missing_retry_after": sum(
            1 for status, _, has in answers if status in (429, 503) and not has
        ),
        "transport_errors": failed,
        "healthy": healthy,
        "peak_rss_mb": round(monitor.peak_mb),
        "metrics_samples": gauges.samples,
        "peak_in_flight": gauges.peaks.get("docuocr_http_requests_in_flight"),
        "peak_admitted": gauges.peaks.get("docuocr_pool_admitted"),
        "peak_queue_depth": gauges.peaks.get("docuocr_pool_queue_depth"),
    }
    report["passed"] = (
        set(statuses) <= {"200", "429", "503"}
        and report["missing_retry_after"] == 0
        and not failed
        and healthy
        and (pid is None or 0 < monitor.peak_mb < RSS_LIMIT_MB)
    )
    return report


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[p - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--keys", help="comma-separated API keys, used in turn by the clients")
    parser.add_argument("--pid", type=int, help="the running server's pid, for its peak RSS")
    parser.add_argument("--workers", type=int, help="--workers for the server started here")
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument(
        "--retries", type=int, default=100, help="per request, on 429/503 (within --max-seconds)"
    )
    parser.add_argument("--max-seconds", type=float, default=900, help="bound on the whole run")
    parser.add_argument("--small", action="store_true", help="a one-line page, for smoke tests")
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    args = parser.parse_args(argv)

    server = None
    with tempfile.TemporaryDirectory(prefix="docuocr-load-") as tmp:
        if args.url:
            url = args.url.rstrip("/")
            keys = (args.keys or "").split(",")
            pid = args.pid
        else:
            keys = [secrets.token_urlsafe(24) for _ in range(args.clients)]
            env = {"DOCUOCR_API_KEYS": ",".join(keys), "DOCUOCR_DATA_DIR": f"{tmp}/data"}
            flags = ("--workers", str(args.workers)) if args.workers else ()
            server = ServerProcess.start(env, Path(tmp) / "server.log", flags, timeout=300)
            url, pid = server.url, server.proc.pid
        try:
            report = run_load(args, url, keys, pid)
        finally:
            if server is not None:
                server.stop()
    if args.json:
        print(json.dumps(report))
    else:
        width = max(map(len, report))
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
