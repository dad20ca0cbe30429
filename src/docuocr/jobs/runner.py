"""The async job runner: lives in the server process and feeds job pages to the server's OCR pool.

Fairness to sync requests: the runner has one lane per pool worker and each lane keeps at most
one page in the pool. Before every page, lane `n` waits until `n < workers - sync requests in
flight` (lane 0 always runs). So an idle server gives async jobs every worker, and a busy one
gives them one page at a time: a sync request then waits behind at most one async page per
worker (a few seconds), while async jobs still move forward.

Pages: a job's document is opened once to count its pages (an office or Hancom document is laid
out to a PDF then, which replaces it in the store); then each page goes to the pool on its own,
and the worker reads just that page of the stored file, as the sync API's intake reads it. A page
at a time keeps the pool fair and lets a job of any length through.

Durability: a batch's result is written before the batch is marked completed; a batch that was
running when the server stopped is started again from its first page by the next server
(`Store.recover`), so no page is ever lost or stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections import Counter
from pathlib import Path

from docuocr.config import JobSettings, Limits, ModelLimits, model_version
from docuocr.document import Document, Page
from docuocr.errors import DocuocrError, Timeout
from docuocr.formats import render
from docuocr.intake import open_document
from docuocr.intake.checks import check_file_size
from docuocr.jobs.store import Batch, Job, Store
from docuocr.pool import Pool, WorkerCrashed

log = logging.getLogger(__name__)

ATTEMPTS = 3  # tries per page when the pool times out or a worker dies
IDLE_WAIT_S = 5.0  # a lane with nothing to do looks again this often (or when woken)
SLOT_POLL_S = 0.2


class Runner:
    def __init__(
        self, store: Store, pool: Pool, limits: ModelLimits, settings: JobSettings
    ) -> None:
        self.store = store
        self.pool = pool
        self.limits = limits
        self.settings = settings
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._busy: Counter[str] = Counter()  # job id → lanes working on it

    async def start(self) -> None:
        """Resume what the last server left unfinished, purge expired jobs, start the lanes."""
        recovered = self.store.recover()
        unfinished = self.store.unfinished()
        if unfinished:
            log.info(
                "resuming %d unfinished async job(s) (%d batch(es) restarted)",
                unfinished,
                recovered,
            )
        await self.purge()
        # A fresh context: started from a request, the lanes must not log under its request id.
        coros = [self._lane(n) for n in range(self.pool.workers)] + [self._purge_loop()]
        self._tasks = [asyncio.create_task(c, context=contextvars.Context()) for c in coros]

    async def stop(self) -> None:
        """Stop at once; running batches stay `started` and are resumed by the next server."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def wake(self) -> None:
        """New work arrived."""
        self._wake.set()

    async def purge(self) -> int:
        before = time.time() - self.settings.retention_s
        purged = await asyncio.to_thread(self.store.purge, before, set(self._busy))
        if purged:
            log.info(
                "purged %d async job(s) older than %g days", purged, self.settings.retention_days
            )
        return purged

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.purge_interval_s)
            try:
                await self.purge()
            except Exception:
                log.exception("purging expired async jobs failed")

    async def _lane(self, lane: int) -> None:
        while True:
            self._wake.clear()
            try:
                worked = await self._step(lane)
            except Exception:
                log.exception("async job runner error")
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_WAIT_S)

    async def _slot(self, lane: int) -> None:
        """Wait until this lane may put a page into the pool (see the module docstring)."""
        while lane >= max(1, self.pool.workers - self.pool.in_flight):
            await asyncio.sleep(SLOT_POLL_S)

    async def _step(self, lane: int) -> bool:
        await self._slot(lane)
        job = self.store.next_to_prepare(set(self._busy))
        if job is not None:
            await self._prepare(job)
            return True
        claimed = self.store.claim_batch()
        if claimed is not None:
            await self._run_batch(*claimed, lane)
            return True
        return False

    async def _prepare(self, job: Job) -> None:
        """Open the document (laying office and Hancom files out once), count its pages, make batches."""
        self._busy[job.id] += 1
        try:
            data = await asyncio.to_thread(self.store.document, job.id)
            limits = self.limits[job.model]
            converted, kind, total = await asyncio.to_thread(prepare, data, limits)
            if total > self.settings.max_pages:
                self.store.fail(
                    job.id,
                    f"the document has {total} pages; the async API reads at most "
                    f"{self.settings.max_pages} (DOCUOCR_ASYNC_MAX_PAGES)",
                )
                return
            await asyncio.to_thread(self.store.prepared, job.id, kind, total, converted)
            log.info("async job %s: %d page(s)", job.id, total)
        except DocuocrError as exc:
            self.store.fail(job.id, exc.message)
        except Exception:
            log.exception("async job %s: the document could not be opened", job.id)
            self.store.fail(job.id, "internal error while opening the document")
        finally:
            self._release(job.id)

    async def _run_batch(self, job: Job, batch: Batch, lane: int) -> None:
        self._busy[job.id] += 1
        page_no = batch.start_page
        try:
            path = self.store.document_path(job.id)
            pages: list[Page] = []
            for page_no in range(batch.start_page, batch.end_page + 1):
                await self._slot(lane)
                doc = await self._ocr(path, page_no - 1, job.model, job.kind)
                pages.extend(doc.pages)
                self.store.progress(job.id, batch.id, len(pages))
            body = render(
                Document(pages=pages, model=model_version(job.model), total_pages=len(pages)),
                job.schema,
            )
            result = json.dumps(body, ensure_ascii=False).encode()
            await asyncio.to_thread(self.store.finish_batch, job.id, batch.id, result)
            log.info("async job %s: batch %d done (pages %d-%d)", job.id, batch.id,
                     batch.start_page, batch.end_page)  # fmt: skip
        except DocuocrError as exc:
            self.store.finish_batch(job.id, batch.id, None, f"page {page_no}: {exc.message}")
        except Exception:
            log.exception("async job %s: batch %d failed", job.id, batch.id)
            self.store.finish_batch(job.id, batch.id, None, f"page {page_no}: internal error")
        finally:
            self._release(job.id)

    async def _ocr(self, path: Path, index: int, model: str, kind: str) -> Document:
        """Page `index` (0-based) of the stored document at `path`; `kind` is its, for the
        metrics."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self.pool.ocr(path, model, kind=kind, page=index)
            except (Timeout, WorkerCrashed) as exc:
                if attempt == ATTEMPTS:
                    raise
                log.warning(
                    "async page failed (%s), trying again (%d/%d)", exc.code, attempt, ATTEMPTS
                )
        raise AssertionError("unreachable")

    def _release(self, job_id: str) -> None:
        self._busy[job_id] -= 1
        if self._busy[job_id] <= 0:
            del self._busy[job_id]


def prepare(data: bytes, limits: Limits) -> tuple[bytes | None, str, int]:
    """Open a job's document once: (the PDF an office or Hancom document was laid out to, or None;
    the kind the stored document then is; its pages). Raises the same `DocuocrError`s as the sync
    API's intake for a document it cannot read. The async API's own page limit
    (JobSettings.max_pages), not the sync one, decides how many pages it reads."""
    with open_document(data, limits, page_limit=False) as source:
        if source.pdf is None:
            return None, source.kind, source.page_count
        check_file_size(source.pdf, limits)  # each page job opens the stored PDF within limits
        return source.pdf, "pdf", source.page_count
