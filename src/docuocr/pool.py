"""The OCR worker pool: CPU work in separate processes, so the event loop only ever waits.

Each worker loads one `Engine` when it starts and keeps it. The pool admits at most
`workers + queue_size` requests at a time and turns the rest away with 429 at once, rather than
letting a queue grow without bound. `max_tasks_per_child` is not used: on Python 3.11 it can
deadlock the executor once a worker retires (CPython gh-115634). Instead, the whole pool is
replaced after `worker_max_tasks` jobs, at a moment when no job is running.

The workers themselves (memory cap, deadline, one job) are `docuocr.runtime.worker`'s.

The pool is `ready` once every worker of its current executor has loaded its models; it is not
while a replacement (after a crash, or after `worker_max_tasks`) loads them, so a load balancer
can hold traffic meanwhile. Its counts (pages, seconds, restarts, 429s) go to `docuocr.metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from docuocr.config import Settings
from docuocr.errors import DocuocrError, Timeout, TooManyRequests
from docuocr.metrics import Metrics
from docuocr.runtime.engines import threads_per_worker
from docuocr.runtime.worker import init_worker, timed_job, warm

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2  # what a 429 tells the client to wait: about one page of OCR
# Until a job has finished, the pool admits this many requests per worker; after that, only as
# many as the measured job time says will finish within this share of the request timeout.
COLD_SLOTS_PER_WORKER = 2
ADMIT_SHARE = 0.8


class WorkerCrashed(DocuocrError):
    status = 500
    type = "server_error"
    code = "worker_crashed"


class Pool:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.workers = max(1, settings.workers)
        self.capacity = self.workers + max(0, settings.queue_size)
        self.timeout_s = settings.request_timeout_s
        self.in_flight = 0
        self.max_tasks = max(0, settings.worker_max_tasks)
        self._limits = settings.limits
        self._memory_mb = settings.worker_memory_mb
        self._engine = settings.engine
        self._running = 0  # jobs this pool awaits now
        self._done = 0  # jobs finished by the current executor
        self.job_s: float | None = None  # moving average of a successful job's run time
        self._warming: list[Future] = []  # the current executor's warm-up jobs
        self._executor = self._new_executor()
        self.metrics = metrics or Metrics()
        self.metrics.queue_depth.set_function(lambda: self.queued)
        self.metrics.admitted.set_function(lambda: self.in_flight)
        self.metrics.capacity.set(self.capacity)
        self.metrics.workers.set(self.workers)
        self.metrics.ready.set_function(lambda: float(self.ready))

    def _new_executor(self) -> ProcessPoolExecutor:
        context = get_context("spawn")
        self._loaded = context.Value("i", 0)  # workers of this executor with their models
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(
                self._limits,
                self._memory_mb,
                threads_per_worker(self.workers),
                self._loaded,
                self._engine,
            ),
        )

    def _start_warm_up(self) -> list[Future]:
        # Submitting `workers` jobs makes the executor start every worker now.
        self._warming = [self._executor.submit(warm) for _ in range(self.workers)]
        return self._warming

    @property
    def queued(self) -> int:
        """Jobs given to the executor that no worker has started yet (about: a worker may be
        between two jobs)."""
        return max(0, self._running - self.workers)

    @property
    def ready(self) -> bool:
        """Every worker of the current executor has loaded its models and run its warm-up read.
        Counted by the workers themselves: one fast worker may run all the warm-up jobs while
        another still loads. Safe to read from any thread (the metrics scrape)."""
        warm = all(f.done() and not f.cancelled() and f.exception() is None for f in self._warming)
        return bool(self._warming) and warm and self._loaded.value >= self.workers

    def revive(self) -> None:
        """Replace workers that died while loading their models: nothing else would, as long as a
        load balancer holds traffic from a pool that is not ready. Call from the event loop."""
        broken = [
            f for f in self._warming if f.done() and not f.cancelled() and f.exception() is not None
        ]
        if any(isinstance(f.exception(), BrokenProcessPool) for f in broken):
            self._rebuild(self._executor)

    async def warm_up(self) -> None:
        """Start the workers and load their models; raises if the engine cannot load."""
        try:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._start_warm_up()))
        except BrokenProcessPool:
            raise RuntimeError(
                "the OCR workers died while loading the models; if DOCUOCR_WORKER_MEMORY_MB is "
                f"set ({self._memory_mb} MB), it may be too low"
            ) from None

    def admission_limit(self) -> int:
        """Requests that may be in flight now: `capacity`, or fewer when the measured job time
        says the last of them would not finish within the timeout. Accepted means answered."""
        if self.job_s is None:
            by_time = COLD_SLOTS_PER_WORKER * self.workers
        else:
            by_time = self.workers * max(1, int(ADMIT_SHARE * self.timeout_s / self.job_s))
        return min(self.capacity, by_time)

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one of the admitted places for the whole request, or raise 429 at once."""
        if self.in_flight >= self.admission_limit():
            if self.in_flight >= self.capacity:
                why = f"the queue of {self.capacity - self.workers} is full"
            else:
                why = f"the queued requests already need about {self.timeout_s:g} s"
            reason = "queue_full" if self.in_flight >= self.capacity else "queue_time"
            self.metrics.rejected.labels(reason).inc()
            err = TooManyRequests(f"all {self.workers} workers are busy and {why}; retry later")
            if self.job_s is not None:  # about when the next place frees up
                err.retry_after = min(60, max(1, math.ceil(self.job_s / self.workers)))
            raise err
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def ocr(
        self,
        data: bytes | Path,
        model: str,
        with_previews: bool = False,
        kind: str = "",
        with_pdf: bool = False,
        page: int | None = None,
    ) -> Any:
        """Run intake and OCR on `data` in a worker; DocuocrErrors from the worker pass through.
        Returns the Document, or (Document, page previews) `with_previews`, or (Document,
        searchable PDF) `with_pdf`. With `page`, only that page (0-based) is read, however long
        the document (an async job's: `data` is then the path of its stored document, which the
        worker reads, and `kind` names its format for the metrics)."""
        self._running += 1
        try:
            result, run_s, sniffed = await self._run(data, model, with_previews, with_pdf, page)
            doc = result[0] if with_previews or with_pdf else result
            self.metrics.pages_read(kind or sniffed, len(doc.pages), run_s)
            return result
        finally:
            self._running -= 1
            self._done += 1
            if self.max_tasks and self._done >= self.max_tasks and not self._running:
                log.info("the OCR workers ran %d jobs; replacing them", self._done)
                self._replace(self._executor, "max_tasks")

    async def _run(
        self,
        data: bytes | Path,
        model: str,
        with_previews: bool,
        with_pdf: bool = False,
        page: int | None = None,
    ) -> tuple[Any, float, str]:
        executor = self._executor
        deadline = time.time() + self.timeout_s
        job = (timed_job, data, model, deadline, self.timeout_s, with_previews, with_pdf, page)
        try:
            future = executor.submit(*job)
        except BrokenProcessPool:
            # The pool broke between jobs (a worker was killed while idle): not this document's
            # fault, so run it on a fresh pool.
            executor = self._rebuild(executor)
            future = executor.submit(*job)
        try:
            result, run_s, kind = await asyncio.wait_for(
                asyncio.wrap_future(future), self.timeout_s
            )
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
        self.job_s = run_s if self.job_s is None else 0.7 * self.job_s + 0.3 * run_s
        return result, run_s, kind

    def _rebuild(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """Replace a broken executor once, however many requests saw it break."""
        if self._executor is broken:
            log.warning("an OCR worker died; restarting the worker pool")
            self._replace(broken, "crash")
        return self._executor

    def _replace(self, old: ProcessPoolExecutor, reason: str) -> None:
        """New workers start loading now; the old ones exit once their jobs (if any) end. The
        pool is not `ready` until the new ones have their models."""
        self.metrics.restarts.labels(reason).inc()
        old.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()
        self._done = 0
        self._start_warm_up()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
