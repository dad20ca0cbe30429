"""`docuocr batch --engine local`: a process pool on this machine, with the server pool's workers.

Each worker process loads one Engine when it starts (`runtime.worker.init_worker`) and reads whole
files with `runtime.worker.run_job`, exactly as the server does, so the JSON equals the API's. A
worker that dies (out of memory, a crashing decoder) breaks the pool: a new pool is started and
the files that were in flight are tried once more, so only a file that kills a worker twice is
reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from docuocr.batch.plan import Failure, Item
from docuocr.config import Settings
from docuocr.document import Document
from docuocr.runtime.dispatch import dispatch
from docuocr.runtime.engines import threads_per_worker
from docuocr.runtime.worker import init_worker, run_job


def _executor(workers: int, settings: Settings) -> ProcessPoolExecutor:
    # The server's per-worker memory cap (DOCUOCR_WORKER_MEMORY_MB), so a file that would blow up
    # fails alone, as it does in the API.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=init_worker,
        initargs=(
            settings.limits,
            settings.worker_memory_mb,
            threads_per_worker(workers),
            None,
            settings.engine,
        ),
    )


def read(
    inputs: Iterator[tuple[Item, bytes]],
    model: str,
    settings: Settings,
    workers: int,
    with_pdf: bool = False,
) -> Iterator[tuple[Item, Document | tuple[Document, bytes] | Failure]]:
    """OCR every input on `workers` processes; yield results as they finish, in any order.
    `with_pdf`, each result is (Document, searchable PDF). `settings`: the limits, the memory cap
    and the engine's overrides."""
    executor = _executor(workers, settings)

    def submit(data: bytes) -> Future:
        nonlocal executor
        job = (run_job, data, model, 0.0, 0.0, False, with_pdf)
        try:
            return executor.submit(*job)
        except BrokenProcessPool:
            executor.shutdown(wait=False, cancel_futures=True)
            executor = _executor(workers, settings)
            return executor.submit(*job)

    def wait_any(futures: list[Future]) -> set[Future]:
        return wait(futures, return_when=FIRST_COMPLETED)[0]

    try:
        # Two files per worker keep every worker busy while the next file is read from disk.
        yield from dispatch(
            inputs,
            2 * workers,
            submit,
            wait_any,
            Future.result,
            BrokenProcessPool,
            Failure,
            "the OCR worker stopped abruptly while reading this file "
            "(out of memory, or a crash in a decoder)",
        )
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
