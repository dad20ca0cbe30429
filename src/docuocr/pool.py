"""The OCR worker pool: CPU work in separate processes, so the event loop only ever waits.

Each worker loads one `Engine` when it starts and keeps it. The pool admits at most
`workers + queue_size` requests at a time and turns the rest away with 429 at once, rather than
letting a queue grow without bound. `max_tasks_per_child` is not used: on Python 3.11 it can
deadlock the executor once a worker retires (CPython gh-115634).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context

import numpy as np

from docuocr.config import Limits, Settings
from docuocr.document import Document
from docuocr.errors import DocuocrError, Timeout, TooManyRequests

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2  # what a 429 tells the client to wait: about one page of OCR

_engine = None  # the worker process's Engine, built by _init_worker
_limits = Limits()


class WorkerCrashed(DocuocrError):
    status = 500
    type = "server_error"
    code = "worker_crashed"


def _init_worker(limits: Limits) -> None:
    """Runs once in each new worker: load the models there, not per request."""
    global _engine, _limits
    # Ctrl-C reaches the whole process group; the server shuts the pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from docuocr.engine import Engine

    _engine = Engine()
    _limits = limits


def _ocr(data: bytes, model: str) -> Document:
    from docuocr.pipeline import ocr_bytes

    return ocr_bytes(data, _engine, _limits, model)


def _warm() -> int:
    """One tiny read, so the first real request does not pay the runtime's first-call costs."""
    _engine.read(np.full((64, 256, 3), 255, np.uint8))
    return os.getpid()


class Pool:
    def __init__(self, settings: Settings) -> None:
        self.workers = max(1, settings.workers)
        self.capacity = self.workers + max(0, settings.queue_size)
        self.timeout_s = settings.request_timeout_s
        self.in_flight = 0
        self._limits = settings.limits
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._limits,),
        )

    def _start_warm_up(self) -> list[Future]:
        # Submitting `workers` jobs makes the executor start every worker now.
        return [self._executor.submit(_warm) for _ in range(self.workers)]

    async def warm_up(self) -> None:
        """Start the workers and load their models; raises if the engine cannot load."""
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self._start_warm_up()))

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one of the `capacity` places for the whole request, or raise 429 at once."""
        if self.in_flight >= self.capacity:
            raise TooManyRequests(
                f"all {self.workers} workers are busy and the queue of "
                f"{self.capacity - self.workers} is full; retry in a few seconds"
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def ocr(self, data: bytes, model: str) -> Document:
        """Run intake and OCR on `data` in a worker; DocuocrErrors from the worker pass through."""
        executor = self._executor
        try:
            future = executor.submit(_ocr, data, model)
        except BrokenProcessPool:
            # The pool broke between jobs (a worker was killed while idle): not this document's
            # fault, so run it on a fresh pool.
            executor = self._rebuild(executor)
            future = executor.submit(_ocr, data, model)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            raise Timeout(
                f"OCR took longer than {self.timeout_s:g} s (DOCUOCR_REQUEST_TIMEOUT)"
            ) from None
        except BrokenProcessPool:
            self._rebuild(executor)
            raise WorkerCrashed(
                "the OCR worker stopped abruptly while reading this document (out of memory, or a "
                "crash in a decoder); the worker pool has been restarted"
            ) from None

    def _rebuild(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """Replace a broken executor once, however many requests saw it break."""
        if self._executor is broken:
            log.warning("an OCR worker died; restarting the worker pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self._start_warm_up()
        return self._executor

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
