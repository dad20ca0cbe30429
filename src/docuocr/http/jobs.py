"""The async API, as the hosted one: submit a document, poll the request, download 10-page batches.

- `POST /v1/document-ai/async/ocr`: the sync call's form fields and key; answers 202
  `{"request_id"}` once the document is safely stored. Model, schema and file type are checked
  first (400/415 at once, like the sync call); unreadable content fails the job later.
- `GET /v1/document-ai/requests/{id}`: status, progress and batches. A key sees only its own
  requests (the store keeps a hash of the key); anything else is a 404.
- `GET download_url`: a completed batch's response, the same JSON the sync API returns for a
  document made of that batch's pages (page and word ids start at 0 in every batch). Like the
  hosted API's pre-signed links, the URL needs no key: it carries an HMAC signature valid for
  15 minutes, and polling the request gives fresh ones. The owner's key works as well.
"""

# No `from __future__ import annotations`: FastAPI must see the closures used in Depends().
import asyncio
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from docuocr.config import Settings, model_version
from docuocr.errors import DocuocrError
from docuocr.http.access import Access, Credentials
from docuocr.http.form import OCR_ROUTE, read_form
from docuocr.intake.sniff import sniff
from docuocr.jobs.runner import Runner
from docuocr.jobs.store import COMPLETED, STATES, Job, Store
from docuocr.metrics import Metrics

log = logging.getLogger(__name__)

SUBMIT_PATH = "/v1/document-ai/async/ocr"
REQUESTS_PATH = "/v1/document-ai/requests"
SECRET_FILE = "url_secret"
RUNNER_LOCK = "runner.lock"


class NotFound(DocuocrError):
    status = 404
    code = "request_not_found"


class Forbidden(DocuocrError):
    status = 403
    type = "authentication_error"
    code = "invalid_signature"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Signer:
    """HMAC-signed download links; the secret lives in the data dir so links survive restarts.
    Stdlib `hmac`, not itsdangerous: that would make the readable `expires=&signature=` query an
    opaque token and void the links in flight, to save ten lines."""

    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self._secret: bytes | None = None

    def _key(self) -> bytes:
        if self._secret is None:
            path = self.root / SECRET_FILE
            if not path.is_file():
                self.root.mkdir(parents=True, exist_ok=True)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as f:
                        f.write(secrets.token_hex(32))
                except FileExistsError:
                    pass
            self._secret = path.read_text().strip().encode()
        return self._secret

    def _mac(self, job_id: str, batch_id: int, expires: int) -> str:
        msg = f"{job_id}/{batch_id}/{expires}".encode()
        return hmac.new(self._key(), msg, hashlib.sha256).hexdigest()

    def query(self, job_id: str, batch_id: int) -> str:
        expires = int(time.time() + self.ttl_s)
        return f"expires={expires}&signature={self._mac(job_id, batch_id, expires)}"

    def check(self, job_id: str, batch_id: int, expires: str, signature: str) -> None:
        if not expires.isdigit() or not hmac.compare_digest(
            signature.encode(), self._mac(job_id, batch_id, int(expires)).encode()
        ):
            raise Forbidden("the download link's signature is not valid")
        if int(expires) < time.time():
            raise Forbidden(
                "the download link has expired; get the request again for a fresh download_url",
                code="download_url_expired",
            )


class JobService:
    """The store and the runner, opened at start-up when jobs exist, else on the first submit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.job_settings = settings.jobs
        self.root = settings.data_dir / "jobs"
        self.signer = Signer(self.root, self.job_settings.url_ttl_s)
        self.store: Store | None = None
        self.runner: Runner | None = None
        self._pool: Any = None
        self._opening = asyncio.Lock()
        self._lock_file: TextIO | None = None

    async def start(self, pool: Any) -> None:
        self._pool = pool
        if Store.exists(self.root):
            await self.open()

    async def open(self) -> Store:
        async with self._opening:
            if self.store is None:
                self.store = await asyncio.to_thread(Store, self.root)
                if self._pool is not None and self._lock_runner():
                    runner = Runner(self.store, self._pool, self.settings.limits, self.job_settings)
                    await runner.start()
                    self.runner = runner
            return self.store

    def _lock_runner(self) -> bool:
        """One runner per data dir: a second server on it takes requests, the first runs them."""
        self._lock_file = open(self.root / RUNNER_LOCK, "w")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another server runs the async jobs in %s; this one only queues", self.root)
            return False
        return True

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
        if self.store is not None:
            self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock

    def counts(self) -> dict[str, int]:
        """Jobs by state, for the metrics (all 0 until the store exists)."""
        counts = dict.fromkeys(STATES, 0)
        if self.store is not None:
            counts.update(self.store.count_by_status())
        return counts

    def find(self, job_id: str, owner: str | None) -> Job:
        """The job if it exists, has not expired and belongs to `owner`; otherwise a 404."""
        since = time.time() - self.job_settings.retention_s
        job = self.store.get(job_id, owner, since) if self.store is not None else None
        if job is None:
            raise NotFound(f"no request with id {job_id!r}")
        return job

    def describe(self, job: Job, base_url: str) -> dict[str, Any]:
        batches = []
        for b in job.batches:
            url = None
            if b.status == COMPLETED:
                url = f"{base_url}{REQUESTS_PATH}/{job.id}/batches/{b.id}?" + self.signer.query(
                    job.id, b.id
                )
            batches.append(
                {
                    "id": b.id,
                    "model": model_version(job.model),
                    "status": b.status,
                    "failure_message": b.failure_message,
                    "start_page": b.start_page,
                    "end_page": b.end_page,
                    "completed_pages": b.completed_pages,
                    "download_url": url,
                    "updated_at": _iso(b.updated_at),
                }
            )
        return {
            "id": job.id,
            "status": job.status,
            "model": model_version(job.model),
            "failure_message": job.failure_message,
            "total_pages": job.total_pages,
            "completed_pages": job.completed_pages,
            "requested_at": _iso(job.requested_at),
            "completed_at": _iso(job.completed_at),
            "batches": batches,
        }


def jobs_router(settings: Settings, access: Access, metrics: Metrics | None = None) -> APIRouter:
    """The async endpoints, with their start-up and shutdown. A submission passes the same key
    and per-key rate limit as the sync call (`access.limited`), so a client cannot go around the
    limit by submitting instead of posting; polling needs the key only. `metrics` gets the jobs
    by state."""
    service = JobService(settings)
    if metrics is not None:
        metrics.watch_jobs(service.counts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Runs inside the app's lifespan, so the OCR pool is up already.
        await service.start(getattr(app.state, "pool", None))
        try:
            yield
        finally:
            await service.stop()

    router = APIRouter(lifespan=lifespan)

    @router.post(SUBMIT_PATH, status_code=202, **OCR_ROUTE)
    async def submit(
        request: Request, who: Annotated[str, Depends(access.limited)]
    ) -> JSONResponse:
        """Submit a document for async OCR; poll `GET /v1/document-ai/requests/{request_id}`."""
        form = await read_form(request, settings.limits)
        data = form.data
        kind = sniff(data)
        store = await service.open()
        job = await asyncio.to_thread(
            store.create, who, form.model, form.schema or "", form.filename, kind, data
        )
        if service.runner is not None:
            service.runner.wake()
        log.info("async job %s submitted (%s, %d bytes)", job.id, kind, len(data))
        return JSONResponse({"request_id": job.id}, status_code=202)

    @router.get(REQUESTS_PATH)
    async def list_requests(
        request: Request, who: Annotated[str, Depends(access.known)]
    ) -> dict[str, Any]:
        """This key's async requests, newest first (the last 100)."""
        if service.store is None:
            return {"requests": []}
        since = time.time() - service.job_settings.retention_s
        jobs = service.store.list(who, since)
        return {
            "requests": [
                {
                    "id": j.id,
                    "status": j.status,
                    "model": model_version(j.model),
                    "requested_at": _iso(j.requested_at),
                    "completed_at": _iso(j.completed_at),
                }
                for j in jobs
            ]
        }

    @router.get(REQUESTS_PATH + "/{request_id}")
    async def get_request(
        request_id: str, request: Request, who: Annotated[str, Depends(access.known)]
    ) -> dict[str, Any]:
        """Status, progress and batches of an async request, with fresh download links."""
        job = service.find(request_id, who)
        return service.describe(job, str(request.base_url).rstrip("/"))

    @router.get(REQUESTS_PATH + "/{request_id}/batches/{batch_id}")
    async def download(
        request_id: str,
        batch_id: int,
        request: Request,
        creds: Credentials,
        expires: str = "",
        signature: str = "",
    ) -> Response:
        """A completed batch's OCR response: a signed download_url, or the owner's key."""
        if signature:
            service.signer.check(request_id, batch_id, expires, signature)
            job = service.find(request_id, None)
        else:
            job = service.find(request_id, access.owner(creds))
        if not 0 <= batch_id < len(job.batches):
            raise NotFound(f"request {request_id} has no batch {batch_id}", code="batch_not_found")
        batch = job.batches[batch_id]
        if batch.status != COMPLETED:
            raise NotFound(
                f"batch {batch_id} has no result (status: {batch.status})", code="batch_not_ready"
            )
        assert service.store is not None
        body = await asyncio.to_thread(service.store.result_path(job.id, batch_id).read_bytes)
        return Response(body, media_type="application/json")

    return router
