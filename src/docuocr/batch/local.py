"""`docuocr batch --engine local`: a process pool on this machine, with the server pool's workers.

Each worker process loads one Engine when it starts (`pool._init_worker`) and reads whole files
with `pool._ocr`, exactly as the server does, so the JSON equals the API's. A worker that dies
(out of memory, a crashing decoder) breaks the pool: a new pool is started and the files that
were in flight are tried once more, so only a file that kills a worker twice is reported.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from docuocr.batch.plan import Failure, Item
from docuocr.config import ModelLimits, Settings
from docuocr.document import Document
from docuocr.errors import DocuocrError
from docuocr.pool import _init_worker, _ocr, threads_per_worker

TRIES = 2  # a file that breaks the pool this often is reported as failed


def _memory_mb() -> int:
    """The server's per-worker memory cap (DOCUOCR_WORKER_MEMORY_MB), so a file that would blow
    up fails alone, as it does in the API."""
    raw = os.environ.get("DOCUOCR_WORKER_MEMORY_MB", "").strip()
    return int(raw) if raw else Settings.worker_memory_mb


def _executor(workers: int, limits: ModelLimits) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(limits, _memory_mb(), threads_per_worker(workers)),
    )


def read(
    inputs: Iterator[tuple[Item, bytes]],
    model: str,
    limits: ModelLimits,
    workers: int,
    with_pdf: bool = False,
) -> Iterator[tuple[Item, Document | tuple[Document, bytes] | Failure]]:
    """OCR every input on `workers` processes; yield results as they finish, in any order.
    `with_pdf`, each result is (Document, searchable PDF)."""
    executor = _executor(workers, limits)
    pending: dict[Future, tuple[Item, bytes, int]] = {}
    retry: deque[tuple[Item, bytes, int]] = deque()
    # Two files per worker keep every worker busy while the next file is read from disk.
    room = 2 * workers
    try:
        while True:
            while len(pending) < room:
                if retry:
                    item, data, tries = retry.popleft()
                else:
                    nxt = next(inputs, None)
                    if nxt is None:
                        break
                    (item, data), tries = nxt, 0
                job = (_ocr, data, model, 0.0, 0.0, False, with_pdf)
                try:
                    future = executor.submit(*job)
                except BrokenProcessPool:
                    executor.shutdown(wait=False, cancel_futures=True)
                    executor = _executor(workers, limits)
                    future = executor.submit(*job)
                pending[future] = (item, data, tries)
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item, data, tries = pending.pop(future)
                try:
                    yield item, future.result()
                except DocuocrError as exc:
                    yield item, Failure(exc.code, exc.message)
                except BrokenProcessPool:
                    if tries + 1 < TRIES:
                        retry.append((item, data, tries + 1))
                    else:
                        yield (
                            item,
                            Failure(
                                "worker_crashed",
                                "the OCR worker stopped abruptly while reading this file "
                                "(out of memory, or a crash in a decoder)",
                            ),
                        )
                except Exception as exc:  # one bad file must not stop the others
                    yield item, Failure("internal_error", f"unexpected error: {exc!r}")
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
