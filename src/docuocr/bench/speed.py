"""`docuocr bench --speed`: what a page costs, as a user pays for it.

Three ways of reading the same files, measured in one run, in alternating order round by round so
they see the same machine load:
- raw RapidOCR, warm, in this process (the baseline: its models loaded once, then page after page);
- `docuocr ocr FILES --out DIR`, cold: a fresh process, so start-up and model load are included;
- `docuocr serve` with N workers, warm: every file posted at once, pages per second of the server.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np

from docuocr.serverproc import ServerProcess


@dataclass
class Timing:
    name: str
    pages: int = 0
    seconds: list[float] = field(default_factory=list)  # per round: wall time for all pages

    @property
    def s_per_page(self) -> float:
        return fmean(self.seconds) / self.pages if self.pages and self.seconds else float("nan")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rapidocr_pages(files: list[Path]) -> list[np.ndarray]:
    """The files' pages as docuocr's intake makes them (PDFs rasterised), in RapidOCR's BGR:
    decoded once, before any clock starts."""
    from docuocr.config import Limits
    from docuocr.intake import load

    limits = Limits.from_env()
    return [
        np.ascontiguousarray(np.asarray(page.convert("RGB"))[:, :, ::-1])
        for path in files
        for page in load(path.read_bytes(), limits).pages
    ]


def rapidocr_round(ocr: Any, images: list[np.ndarray], timing: Timing) -> None:
    """Raw RapidOCR with its defaults, its models loaded and warmed up before the clock starts."""
    if not timing.seconds:
        ocr(images[0], return_word_box=True)
    start = time.perf_counter()
    for image in images:
        ocr(image, return_word_box=True)
    timing.seconds.append(time.perf_counter() - start)
    timing.pages = len(images)


def cli_round(files: list[Path], timing: Timing) -> None:
    """`docuocr ocr` as a user runs it: a new process that loads its models, then reads the files."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "docuocr", "ocr", *map(str, files), "--out", out]
        done = subprocess.run(cmd, capture_output=True, text=True)
        timing.seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"docuocr ocr failed: {done.stderr.strip()[-500:]}")
        timing.pages = sum(_pages(json.loads(p.read_text())) for p in Path(out).glob("*.json"))


def _pages(doc: dict) -> int:
    return int(doc.get("numBilledPages") or len(doc.get("pages", [])))


class Server(ServerProcess):
    """`docuocr serve` with its own key and data folder, and no rate limit or queue cap."""

    def __init__(self, workers: int) -> None:
        self.key = secrets.token_urlsafe(16)
        self.dir = tempfile.TemporaryDirectory()
        env = {
            "DOCUOCR_WORKERS": str(workers),
            "DOCUOCR_API_KEYS": self.key,
            "DOCUOCR_DATA_DIR": self.dir.name,
            "DOCUOCR_RATE_LIMIT": "0",
            "DOCUOCR_QUEUE_SIZE": "1000",
        }
        super().__init__(env, Path(self.dir.name) / "server.log")

    def ocr(self, path: Path) -> int:
        """POST one file as the Upstage client does; returns its page count."""
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        tail = (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nocr'
            f"\r\n--{boundary}--\r\n"
        )
        body = head.encode() + path.read_bytes() + tail.encode()
        request = urllib.request.Request(
            self.url + "/v1/document-ai/ocr",
            data=body,
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            return _pages(json.load(response))

    def close(self) -> None:
        self.stop()
        self.dir.cleanup()


def server_round(server: Server, files: list[Path], clients: int, timing: Timing) -> None:
    """All files at once from `clients` threads; the wall time from the first request to the last
    answer."""
    if not timing.seconds:  # each worker loads its models on its first page
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(server.ocr, files[:clients]))
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        pages = sum(pool.map(server.ocr, files))
    timing.seconds.append(time.perf_counter() - start)
    timing.pages = pages


def run(files: list[Path], rounds: int, workers: int) -> list[Timing]:
    """Measure every way of reading `files`, `rounds` times, alternating their order."""
    rapid, cli = Timing("rapidocr, warm, in-process"), Timing("docuocr ocr, cold start")
    serve = Timing(f"docuocr serve, {workers} workers, warm")
    server = Server(workers) if workers else None
    try:
        if server:
            server.wait_ready()
        from rapidocr import RapidOCR

        ocr = RapidOCR(params={"Global.log_level": "error"})
        images = rapidocr_pages(files)
        steps = [
            (rapid, lambda: rapidocr_round(ocr, images, rapid)),
            (cli, lambda: cli_round(files, cli)),
        ]
        if server:
            steps.append((serve, lambda: server_round(server, files, 2 * workers, serve)))
        for r in range(rounds):
            for timing, step in steps if r % 2 == 0 else steps[::-1]:
                step()
                log(
                    f"round {r + 1}/{rounds}: {timing.name}: {timing.pages} pages in "
                    f"{timing.seconds[-1]:.1f} s"
                )
    finally:
        if server:
            server.close()
    return [rapid, cli] + ([serve] if server else [])


def table(timings: list[Timing]) -> str:
    base = timings[0].s_per_page
    rows = [
        "| how | pages | s/page | pages/s | s/page vs rapidocr |",
        "|---|---|---|---|---|",
    ]
    for t in timings:
        rows.append(
            f"| {t.name} | {t.pages} | {t.s_per_page:.2f} | {1 / t.s_per_page:.2f} "
            f"| {t.s_per_page / base:.2f}x |"
        )
    return "\n".join(rows)
