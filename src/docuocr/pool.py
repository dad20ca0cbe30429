"""The OCR worker pool: CPU work in separate processes, so the event loop only ever waits.

Each worker loads one `Engine` when it starts and keeps it. The pool admits at most
`workers + queue_size` requests at a time and turns the rest away with 429 at once, rather than
letting a queue grow without bound. `max_tasks_per_child` is not used: on Python 3.11 it can
deadlock the executor once a worker retires (CPython gh-115634). Instead, the whole pool is
replaced after `worker_max_tasks` jobs, at a moment when no job is running.

Each worker runs under an address-space cap (RLIMIT_AS), so a memory blow-up fails that one job
with a 413 instead of taking the machine's memory. A job stops at its request's deadline: the
worker raises `Timeout` from a SIGALRM handler, and if native code never returns to Python,
faulthandler's watchdog ends the worker, which breaks the pool and makes it rebuild itself.

The pool is `ready` once every worker of its current executor has loaded its models; it is not
while a replacement (after a crash, or after `worker_max_tasks`) loads them, so a load balancer
can hold traffic meanwhile. Its counts (pages, seconds, restarts, 429s) go to `docuocr.metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import faulthandler
import gc
import logging
import math
import os
import re
import resource
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import numpy as np

from docuocr.config import ModelLimits, Settings
from docuocr.document import Document
from docuocr.errors import DocumentTooLarge, DocuocrError, Timeout, TooManyRequests
from docuocr.intake.sniff import sniff
from docuocr.metrics import Metrics

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2  # what a 429 tells the client to wait: about one page of OCR
# Until a job has finished, the pool admits this many requests per worker; after that, only as
# many as the measured job time says will finish within this share of the request timeout.
COLD_SLOTS_PER_WORKER = 2
ADMIT_SHARE = 0.8
HARD_KILL_GRACE_S = 30  # a job still in native code this long after its deadline: end the worker
# How onnxruntime, OpenCV and C++ code say an allocation was refused (by the address-space cap).
_ALLOC_FAILED = re.compile(r"fail(ed)? to allocate|bad_alloc|insufficient memory|out of mem", re.I)

_engine = None  # the worker process's Engine, built by _init_worker
_limits = ModelLimits()  # every model's limits; a job uses its model's
_job_timeout_s = 0.0  # the running job's time limit, for the message


class WorkerCrashed(DocuocrError):
    status = 500
    type = "server_error"
    code = "worker_crashed"


class OutOfMemory(DocumentTooLarge):
    code = "out_of_memory"


def threads_per_worker(workers: int) -> int:
    """Cores shared out between workers: with one inference thread pool per worker, more threads
    than cores only makes them fight (2 workers × 1 thread beat 2 × 2 by about 1.5× here, measured
    with onnxruntime)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _init_worker(
    limits: ModelLimits,
    memory_mb: int = 0,
    threads: int = 0,
    loaded: Synchronized | None = None,
) -> None:
    """Runs once in each new worker: cap its memory, then load the models there, not per request.
    `loaded` counts the workers that have their models (the pool's readiness)."""
    global _engine, _limits
    if threads > 0:  # an explicit DOCUOCR_ENGINE_RUNTIME_THREADS still wins
        os.environ.setdefault("DOCUOCR_ENGINE_RUNTIME_THREADS", str(threads))
    # Ctrl-C reaches the whole process group; the server shuts the pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _out_of_time)
    if memory_mb > 0:
        # Inherited by LibreOffice too, which gets its own cap of the same size.
        cap = memory_mb * 2**20
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    _fewer_malloc_arenas()
    from docuocr.engine import Engine

    _engine = Engine()
    _limits = limits
    if loaded is not None:
        with loaded.get_lock():
            loaded.value += 1


def _fewer_malloc_arenas(arenas: int = 2) -> None:
    """glibc reserves 64 MB of address space for each thread that allocates, and OpenVINO runs 13
    threads: 700 MB of the worker's capped address space (DOCUOCR_WORKER_MEMORY_MB) gone before
    the first page (2.7 GB against 2.0 GB after one FUNSD page). Two arenas do for one job at a
    time."""
    with contextlib.suppress(OSError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX


def _timeout(seconds: float) -> Timeout:
    return Timeout(f"OCR took longer than {seconds:g} s (DOCUOCR_REQUEST_TIMEOUT)")


def _out_of_time(signum: int, frame: object) -> None:
    raise _timeout(_job_timeout_s)


def _ocr(
    data: bytes,
    model: str,
    deadline: float = 0.0,
    timeout_s: float = 0.0,
    with_previews: bool = False,
    with_pdf: bool = False,
) -> Document | tuple[Document, list[dict]] | tuple[Document, bytes]:
    """One job; `deadline` is its request's, in time.time() seconds (0: none). With previews,
    the page images as the viewer shows them come back too; with_pdf, the searchable PDF."""
    global _job_timeout_s
    from docuocr.pipeline import ocr_bytes, searchable_pdf
    from docuocr.preview import preview

    if deadline:
        _job_timeout_s = timeout_s
        left = deadline - time.time()
        if left <= 0:  # its request has had its 504 already: skip it
            raise _timeout(timeout_s)
        signal.setitimer(signal.ITIMER_REAL, left)
        faulthandler.dump_traceback_later(left + HARD_KILL_GRACE_S, exit=True)
    limits = _limits[model]
    try:
        if with_pdf:
            return searchable_pdf(data, _engine, limits, model)
        if not with_previews:
            return ocr_bytes(data, _engine, limits, model)
        shots: list[dict] = []
        doc = ocr_bytes(
            data, _engine, limits, model, on_page=lambda img: shots.append(preview(img))
        )
        return doc, shots
    except DocuocrError as exc:
        if exc.__cause__ is None or not _is_alloc_failure(exc.__cause__):  # caught by intake
            _drop_frames(exc)
            raise
    except Exception as exc:
        if not _is_alloc_failure(exc):
            raise
    finally:
        if deadline:
            signal.setitimer(signal.ITIMER_REAL, 0)
            faulthandler.cancel_dump_traceback_later()
        _give_back_memory()
    # Only an allocation failure gets here. Raised outside the handler on purpose: raised inside
    # it, the error would keep the failed job's traceback, and with it the frames holding its huge
    # arrays, alive as `__context__` in the worker while the next job runs under the same cap.
    raise _out_of_memory()


def _drop_frames(exc: BaseException) -> None:
    """Forget the tracebacks of a bad-input error and of its causes. Their frames hold the job's
    decoded pages (a TIFF failing at page 3 holds pages 1 and 2), and concurrent.futures keeps the
    last error in the worker while the next job runs under the same memory cap: in CI, a small
    page sent after such a failure ran out of memory (413)."""
    seen: BaseException | None = exc
    while seen is not None:
        seen.__traceback__ = None
        seen = seen.__cause__ or seen.__context__


def _give_back_memory() -> None:
    """Return freed heap to the system after each job: under the worker's address-space cap, a
    big page's freed but still mapped memory would otherwise fail the next, small one. Past 3/4 of
    the cap, the models let go of their buffers too (after a 100 MP page, OpenVINO's detector kept
    enough that a small page then failed)."""
    cap = resource.getrlimit(resource.RLIMIT_AS)[0]
    if _engine is not None and cap != resource.RLIM_INFINITY and _address_space() > 0.75 * cap:
        _engine.release_memory()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _address_space() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def _is_alloc_failure(exc: BaseException) -> bool:
    # onnxruntime and OpenCV have their own error types; the message says what happened.
    return isinstance(exc, MemoryError) or bool(_ALLOC_FAILED.search(str(exc)))


def _timed_ocr(
    data: bytes,
    model: str,
    deadline: float,
    timeout_s: float,
    with_previews: bool = False,
    with_pdf: bool = False,
) -> tuple[Any, float, str]:
    """`_ocr`, how long it ran in the worker (queueing excluded), for admission, and the kind of
    document it read ("pdf", "png", ...), for the metrics."""
    started = time.perf_counter()
    result = _ocr(data, model, deadline, timeout_s, with_previews, with_pdf)
    run_s = time.perf_counter() - started
    try:
        kind = sniff(data)  # a few header bytes (a ZIP's directory): no cost next to the OCR
    except DocuocrError:
        kind = "unknown"
    return result, run_s, kind


def _out_of_memory() -> OutOfMemory:
    cap = resource.getrlimit(resource.RLIMIT_AS)[0]
    limit = f" of {cap // 2**20} MB" if cap != resource.RLIM_INFINITY else ""
    return OutOfMemory(
        f"reading this document needs more than the memory limit{limit} of an OCR worker "
        "(DOCUOCR_WORKER_MEMORY_MB); send smaller or fewer pages"
    )


def _warm() -> int:
    """One tiny read, so the first real request does not pay the runtime's first-call costs."""
    _engine.read(np.full((64, 256, 3), 255, np.uint8))
    return os.getpid()


class Pool:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.workers = max(1, settings.workers)
        self.capacity = self.workers + max(0, settings.queue_size)
        self.timeout_s = settings.request_timeout_s
        self.in_flight = 0
        self.max_tasks = max(0, settings.worker_max_tasks)
        self._limits = settings.limits
        self._memory_mb = settings.worker_memory_mb
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
            initializer=_init_worker,
            initargs=(
                self._limits,
                self._memory_mb,
                threads_per_worker(self.workers),
                self._loaded,
            ),
        )

    def _start_warm_up(self) -> list[Future]:
        # Submitting `workers` jobs makes the executor start every worker now.
        self._warming = [self._executor.submit(_warm) for _ in range(self.workers)]
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
        data: bytes,
        model: str,
        with_previews: bool = False,
        kind: str = "",
        with_pdf: bool = False,
    ) -> Any:
        """Run intake and OCR on `data` in a worker; DocuocrErrors from the worker pass through.
        Returns the Document, or (Document, page previews) `with_previews`, or (Document,
        searchable PDF) `with_pdf`. `kind` names the input format for the metrics when `data` is
        not the original (an async job's page)."""
        self._running += 1
        try:
            result, run_s, sniffed = await self._run(data, model, with_previews, with_pdf)
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
        self, data: bytes, model: str, with_previews: bool, with_pdf: bool = False
    ) -> tuple[Any, float, str]:
        executor = self._executor
        deadline = time.time() + self.timeout_s
        job = (_timed_ocr, data, model, deadline, self.timeout_s, with_previews, with_pdf)
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
