"""The worker side: one Engine, loaded once, reads one whole document per job.

`init_worker` and `run_job` are the entry points of a worker process (the server's pool and
`docuocr batch --engine local`); a Ray actor holds a `Worker` of its own.

Each worker process runs under an address-space cap (RLIMIT_AS), so a memory blow-up fails that
one job with a 413 instead of taking the machine's memory. A job stops at its request's deadline:
the worker raises `Timeout` from a SIGALRM handler, and if native code never returns to Python,
faulthandler's watchdog ends the worker, which breaks the pool and makes it rebuild itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import os
import re
import resource
import signal
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from docuocr.config import ModelLimits
from docuocr.document import Document
from docuocr.errors import DocumentTooLarge, DocuocrError, Timeout
from docuocr.intake.sniff import sniff
from docuocr.runtime.engines import build_engine

if TYPE_CHECKING:
    from docuocr.engine import Engine

HARD_KILL_GRACE_S = 30  # a job still in native code this long after its deadline: end the worker
# How onnxruntime, OpenCV and C++ code say an allocation was refused (by the address-space cap).
_ALLOC_FAILED = re.compile(r"fail(ed)? to allocate|bad_alloc|insufficient memory|out of mem", re.I)

_worker: Worker | None = None  # the worker process's, made by init_worker
_job_timeout_s = 0.0  # the running job's time limit, for the message


class OutOfMemory(DocumentTooLarge):
    code = "out_of_memory"


class Worker:
    """An Engine and every model's limits; `read` runs intake and OCR on one document, with the
    limits of the model asked for. `engine` may be None for a worker that never gets past
    intake (a test of intake's errors)."""

    def __init__(self, engine: Engine | None, limits: ModelLimits) -> None:
        self.engine = engine
        self.limits = limits

    def read(
        self,
        data: bytes | Path,
        model: str,
        deadline: float = 0.0,
        timeout_s: float = 0.0,
        with_previews: bool = False,
        with_pdf: bool = False,
        page: int | None = None,
    ) -> Document | tuple[Document, list[dict]] | tuple[Document, bytes]:
        """One job; `deadline` is its request's, in time.time() seconds (0: none). With previews,
        the page images as the viewer shows them come back too; with_pdf, the searchable PDF.
        With `page`, only that page (0-based) of a document of any length is read: an async
        job's, whose stored document is then passed as its path and read here, not sent."""
        global _job_timeout_s
        from docuocr.pipeline import ocr_bytes, ocr_page, searchable_pdf
        from docuocr.preview import preview

        if deadline:
            _job_timeout_s = timeout_s
            left = deadline - time.time()
            if left <= 0:  # its request has had its 504 already: skip it
                raise _timeout(timeout_s)
            signal.setitimer(signal.ITIMER_REAL, left)
            faulthandler.dump_traceback_later(left + HARD_KILL_GRACE_S, exit=True)
        limits = self.limits[model]
        try:
            if isinstance(data, Path):
                data = data.read_bytes()
            if page is not None:
                return ocr_page(data, page, self.engine, limits, model)
            if with_pdf:
                return searchable_pdf(data, self.engine, limits, model)
            if not with_previews:
                return ocr_bytes(data, self.engine, limits, model)
            shots: list[dict] = []
            doc = ocr_bytes(
                data, self.engine, limits, model, on_page=lambda img: shots.append(preview(img))
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
            self._give_back_memory()
        # Only an allocation failure gets here. Raised outside the handler on purpose: raised
        # inside it, the error would keep the failed job's traceback, and with it the frames
        # holding its huge arrays, alive as `__context__` in the worker while the next job runs
        # under the same cap.
        raise _out_of_memory()

    def _give_back_memory(self) -> None:
        """Return freed heap to the system after each job: under the worker's address-space cap,
        a big page's freed but still mapped memory would otherwise fail the next, small one. Past
        3/4 of the cap, the models let go of their buffers too (after a 100 MP page, OpenVINO's
        detector kept enough that a small page then failed)."""
        cap = resource.getrlimit(resource.RLIMIT_AS)[0]
        if (
            self.engine is not None
            and cap != resource.RLIM_INFINITY
            and _address_space() > 0.75 * cap
        ):
            self.engine.release_memory()
        gc.collect()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def init_worker(
    limits: ModelLimits,
    memory_mb: int = 0,
    threads: int = 0,
    loaded: Synchronized | None = None,
    engine: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Runs once in each new worker process: cap its memory, then load the models there, not per
    request. `loaded` counts the workers that have their models (the pool's readiness); `engine`
    is the engine's overrides (`Settings.engine`)."""
    global _worker
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
    _worker = Worker(build_engine(threads, engine), limits)
    if loaded is not None:
        with loaded.get_lock():
            loaded.value += 1


def run_job(
    data: bytes | Path,
    model: str,
    deadline: float = 0.0,
    timeout_s: float = 0.0,
    with_previews: bool = False,
    with_pdf: bool = False,
    page: int | None = None,
) -> Any:
    """One job in a worker process set up by `init_worker` (see `Worker.read`)."""
    if _worker is None:
        raise RuntimeError("run_job runs in a worker process started with init_worker")
    return _worker.read(data, model, deadline, timeout_s, with_previews, with_pdf, page)


def timed_job(
    data: bytes | Path,
    model: str,
    deadline: float,
    timeout_s: float,
    with_previews: bool = False,
    with_pdf: bool = False,
    page: int | None = None,
) -> tuple[Any, float, str]:
    """`run_job`, how long it ran in the worker (queueing excluded), for admission, and the kind
    of document it read ("pdf", "png", ...), for the metrics (a stored document's is its job's)."""
    started = time.perf_counter()
    result = run_job(data, model, deadline, timeout_s, with_previews, with_pdf, page)
    run_s = time.perf_counter() - started
    try:
        # A few header bytes (a ZIP's directory): no cost next to the OCR.
        kind = sniff(data) if isinstance(data, bytes) else "unknown"
    except DocuocrError:
        kind = "unknown"
    return result, run_s, kind


def warm() -> int:
    """One tiny read, so the first real request does not pay the runtime's first-call costs."""
    assert _worker is not None and _worker.engine is not None
    _worker.engine.read(np.full((64, 256, 3), 255, np.uint8))
    return os.getpid()


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


def _drop_frames(exc: BaseException) -> None:
    """Forget the tracebacks of a bad-input error and of its causes. Their frames hold the job's
    decoded pages (a TIFF failing at page 3 holds pages 1 and 2), and concurrent.futures keeps the
    last error in the worker while the next job runs under the same memory cap: in CI, a small
    page sent after such a failure ran out of memory (413)."""
    seen: BaseException | None = exc
    while seen is not None:
        seen.__traceback__ = None
        seen = seen.__cause__ or seen.__context__


def _address_space() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def _is_alloc_failure(exc: BaseException) -> bool:
    # onnxruntime and OpenCV have their own error types; the message says what happened.
    return isinstance(exc, MemoryError) or bool(_ALLOC_FAILED.search(str(exc)))


def _out_of_memory() -> OutOfMemory:
    cap = resource.getrlimit(resource.RLIMIT_AS)[0]
    limit = f" of {cap // 2**20} MB" if cap != resource.RLIM_INFINITY else ""
    return OutOfMemory(
        f"reading this document needs more than the memory limit{limit} of an OCR worker "
        "(DOCUOCR_WORKER_MEMORY_MB); send smaller or fewer pages"
    )
