"""The async API's durable store: job state in SQLite (WAL), documents and results as files.

Layout under `DATA_DIR/jobs/`: `jobs.db`, and one folder per job holding `document` (the upload,
or its PDF conversion) and `batch-<n>.json` (a finished batch's response). A job's row is written
only after its document is safely on disk, and a batch is marked completed only after its result
file is, so whatever the database says is there really is there after a crash.

Every method runs on the caller's thread and is quick (one small transaction); a lock makes the
one connection safe to share with `asyncio.to_thread` helpers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BATCH_PAGES = 10  # pages per batch, as in the hosted async API
DB_FILE = "jobs.db"
DOCUMENT_FILE = "document"
ORPHAN_AGE_S = 3600  # a job folder with no row this old is left over from a crash

SUBMITTED, STARTED, COMPLETED, FAILED = "submitted", "started", "completed", "failed"
FINAL = (COMPLETED, FAILED)
STATES = (SUBMITTED, STARTED, COMPLETED, FAILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT NOT NULL,
    schema TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    total_pages INTEGER NOT NULL DEFAULT 0,
    failure_message TEXT NOT NULL DEFAULT '',
    requested_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    completed_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, requested_at);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, requested_at);
CREATE TABLE IF NOT EXISTS batches (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    status TEXT NOT NULL,
    start_page INTEGER NOT NULL,
    end_page INTEGER NOT NULL,
    completed_pages INTEGER NOT NULL DEFAULT 0,
    failure_message TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (job_id, id)
);
CREATE INDEX IF NOT EXISTS batches_by_status ON batches (status);
"""


def owner_of(key: str) -> str:
    """What a job records about the API key that submitted it: a hash, never the key."""
    return hashlib.sha256(b"docuocr-job-owner\0" + key.encode()).hexdigest()


@dataclass
class Batch:
    id: int
    status: str
    start_page: int  # 1-based, inclusive
    end_page: int  # inclusive
    completed_pages: int
    failure_message: str
    updated_at: float

    @property
    def pages(self) -> int:
        return self.end_page - self.start_page + 1


@dataclass
class Job:
    id: str
    owner: str
    status: str
    model: str
    schema: str  # "" for the Upstage response
    filename: str
    kind: str  # the stored document's kind, as docuocr.intake.sniff names it
    total_pages: int  # 0 until the document has been opened and split into batches
    failure_message: str
    requested_at: float
    updated_at: float
    completed_at: float | None
    batches: list[Batch] = field(default_factory=list)

    @property
    def completed_pages(self) -> int:
        return sum(b.completed_pages for b in self.batches)


def write_durably(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all, and make it survive a crash (fsync file and folder)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(root / DB_FILE, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when it returns, so a 202 or a completed batch is never lost.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    @staticmethod
    def exists(root: Path) -> bool:
        return (root / DB_FILE).is_file()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- files -------------------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def document(self, job_id: str) -> bytes:
        return self.document_path(job_id).read_bytes()

    def document_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / DOCUMENT_FILE

    def result_path(self, job_id: str, batch_id: int) -> Path:
        return self.job_dir(job_id) / f"batch-{batch_id}.json"

    # --- jobs --------------------------------------------------------------------------------

    def create(
        self, owner: str, model: str, schema: str, filename: str, kind: str, data: bytes
    ) -> Job:
        """Keep the document on disk, then record the job: the caller may answer 202 after."""
        job_id = str(uuid.uuid4())
        folder = self.job_dir(job_id)
        folder.mkdir()
        write_durably(folder / DOCUMENT_FILE, data)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, owner, status, model, schema, filename, kind, "
                "requested_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, owner, SUBMITTED, model, schema, filename, kind, now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, owner: str | None = None, since: float = 0.0) -> Job | None:
        """The job, if it exists, belongs to `owner` (when given) and was requested after `since`."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM jobs WHERE id = ? AND requested_at >= ?", (job_id, since)
            ).fetchone()
            if row is None or (owner is not None and row["owner"] != owner):
                return None
            batches = self._db.execute(
                "SELECT * FROM batches WHERE job_id = ? ORDER BY id", (job_id,)
            ).fetchall()
        return _job(row, batches)

    def list(self, owner: str, since: float = 0.0, limit: int = 100) -> list[Job]:
        """`owner`'s jobs, newest first, without their batches."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE owner = ? AND requested_at >= ? "
                "ORDER BY requested_at DESC LIMIT ?",
                (owner, since, limit),
            ).fetchall()
        return [_job(row, []) for row in rows]

    def next_to_prepare(self, busy: set[str]) -> Job | None:
        """The oldest job whose document has not been split into batches yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM jobs WHERE status IN (?, ?) AND total_pages = 0 "
                "ORDER BY requested_at",
                (SUBMITTED, STARTED),
            ).fetchall()
        for row in rows:
            if row["id"] not in busy:
                return self.get(row["id"])
        return None

    def prepared(self, job_id: str, kind: str, total_pages: int, data: bytes | None) -> None:
        """Record the page count and the batches; `data` replaces the document (a conversion)."""
        if data is not None:
            write_durably(self.job_dir(job_id) / DOCUMENT_FILE, data)
        now = time.time()
        batches = [
            (job_id, n, SUBMITTED, start, min(start + BATCH_PAGES - 1, total_pages), now)
            for n, start in enumerate(range(1, total_pages + 1, BATCH_PAGES))
        ]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE jobs SET kind = ?, total_pages = ?, status = ?, updated_at = ? "
                "WHERE id = ?",
                (kind, total_pages, STARTED, now, job_id),
            )
            self._db.executemany(
                "INSERT INTO batches (job_id, id, status, start_page, end_page, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                batches,
            )

    def fail(self, job_id: str, message: str) -> None:
        """The whole job failed (its document cannot be read at all)."""
        now = time.time()
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, failure_message = ?, updated_at = ?, "
                "completed_at = ? WHERE id = ?",
                (FAILED, message, now, now, job_id),
            )

    # --- batches -----------------------------------------------------------------------------

    def claim_batch(self) -> tuple[Job, Batch] | None:
        """Mark the oldest waiting batch started and return it with its job."""
        now = time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT b.job_id, b.id FROM batches b JOIN jobs j ON j.id = b.job_id "
                "WHERE b.status = ? AND j.status IN (?, ?) ORDER BY j.requested_at, b.id LIMIT 1",
                (SUBMITTED, SUBMITTED, STARTED),
            ).fetchone()
            if row is None:
                return None
            job_id, batch_id = row["job_id"], row["id"]
            self._db.execute(
                "UPDATE batches SET status = ?, completed_pages = 0, updated_at = ? "
                "WHERE job_id = ? AND id = ?",
                (STARTED, now, job_id, batch_id),
            )
            self._db.execute(
                "UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?", (STARTED, now, job_id)
            )
        job = self.get(job_id)
        assert job is not None
        return job, job.batches[batch_id]

    def progress(self, job_id: str, batch_id: int, completed_pages: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE batches SET completed_pages = ?, updated_at = ? WHERE job_id = ? AND id = ?",
                (completed_pages, time.time(), job_id, batch_id),
            )

    def finish_batch(
        self, job_id: str, batch_id: int, result: bytes | None, failure: str = ""
    ) -> None:
        """Store a batch's result (or its failure); the job ends when its last batch does."""
        if result is not None:
            write_durably(self.result_path(job_id, batch_id), result)
        now = time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "UPDATE batches SET status = ?, failure_message = ?, updated_at = ?, "
                "completed_pages = CASE WHEN ? THEN end_page - start_page + 1 "
                "ELSE completed_pages END WHERE job_id = ? AND id = ?",
                (
                    COMPLETED if result is not None else FAILED,
                    failure,
                    now,
                    result is not None,
                    job_id,
                    batch_id,
                ),
            )
            rows = self._db.execute(
                "SELECT id, status, failure_message FROM batches WHERE job_id = ? ORDER BY id",
                (job_id,),
            ).fetchall()
            if all(r["status"] in FINAL for r in rows):
                failed = [r for r in rows if r["status"] == FAILED]
                message = (
                    f"batch {failed[0]['id']}: {failed[0]['failure_message']}" if failed else ""
                )
                self._db.execute(
                    "UPDATE jobs SET status = ?, failure_message = ?, updated_at = ?, "
                    "completed_at = ? WHERE id = ?",
                    (FAILED if failed else COMPLETED, message, now, now, job_id),
                )

    def recover(self) -> int:
        """After a restart: batches that were running are waiting again. Returns how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE batches SET status = ?, completed_pages = 0, updated_at = ? "
                "WHERE status = ?",
                (SUBMITTED, time.time(), STARTED),
            )
        return cursor.rowcount

    def count_by_status(self) -> dict[str, int]:
        """Jobs kept (not purged yet) by status."""
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def unfinished(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", (SUBMITTED, STARTED)
            ).fetchone()
        return int(row[0])

    # --- retention ---------------------------------------------------------------------------

    def purge(self, before: float, keep: frozenset[str] | set[str] = frozenset()) -> int:
        """Delete jobs requested before `before` (except `keep`), and folders left without a job
        by a crash during an upload (only old ones: a folder is made just before its row)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            old = [
                r["id"]
                for r in self._db.execute(
                    "SELECT id FROM jobs WHERE requested_at < ?", (before,)
                ).fetchall()
                if r["id"] not in keep
            ]
            self._db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in old])
            known = {r["id"] for r in self._db.execute("SELECT id FROM jobs").fetchall()}
        for job_id in old:
            shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        stale = time.time() - ORPHAN_AGE_S
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name not in known and folder.stat().st_mtime < stale:
                shutil.rmtree(folder, ignore_errors=True)
        return len(old)


def _job(row: sqlite3.Row, batches: list[sqlite3.Row]) -> Job:
    return Job(
        id=row["id"],
        owner=row["owner"],
        status=row["status"],
        model=row["model"],
        schema=row["schema"],
        filename=row["filename"],
        kind=row["kind"],
        total_pages=row["total_pages"],
        failure_message=row["failure_message"],
        requested_at=row["requested_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
        batches=[
            Batch(
                id=b["id"],
                status=b["status"],
                start_page=b["start_page"],
                end_page=b["end_page"],
                completed_pages=b["completed_pages"],
                failure_message=b["failure_message"],
                updated_at=b["updated_at"],
            )
            for b in batches
        ],
    )
