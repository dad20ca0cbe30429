"""Async OCR jobs: a durable store (store.py), a runner that feeds the server's OCR pool
(runner.py) and page splitting (pages.py); the HTTP endpoints are `docuocr.http.jobs`."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class JobSettings:
    """Settings of the async API, from `DOCUOCR_*` environment variables."""

    retention_days: float = 30.0  # results expire this long after the request, as hosted
    max_pages: int = 1000  # the hosted async API's page limit; longer documents fail
    purge_interval_s: float = 3600.0
    url_ttl_s: float = 900.0  # a download_url is valid this long (15 minutes, as hosted)

    @classmethod
    def from_env(cls) -> JobSettings:
        return cls(
            retention_days=_env_float("DOCUOCR_RESULT_RETENTION_DAYS", cls.retention_days),
            max_pages=int(_env_float("DOCUOCR_ASYNC_MAX_PAGES", cls.max_pages)),
            purge_interval_s=_env_float("DOCUOCR_PURGE_INTERVAL", cls.purge_interval_s),
        )

    @property
    def retention_s(self) -> float:
        return self.retention_days * 86400.0
