"""Service settings, read from `DOCUOCR_*` environment variables with Upstage's limits as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MODELS = {"ocr-2.2.1": "ocr-2.2.1", "ocr": "ocr-2.2.1"}
DEFAULT_MODEL = "ocr-2.2.1"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Limits:
    """Input limits; defaults equal the hosted API's."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 30
    max_page_pixels: int = 100_000_000
    office_timeout_s: float = 120.0
    pdf_dpi: float = 150.0  # the hosted API renders an A4 page as 1242x1755, i.e. 150 DPI

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_file_bytes=_int("DOCUOCR_MAX_FILE_MB", 50) * 1024 * 1024,
            max_pages=_int("DOCUOCR_MAX_PAGES", 30),
            max_page_pixels=_int("DOCUOCR_MAX_PAGE_PIXELS", 100_000_000),
            office_timeout_s=_float("DOCUOCR_OFFICE_TIMEOUT", 120.0),
            pdf_dpi=_float("DOCUOCR_PDF_DPI", 150.0),
        )


@dataclass(frozen=True)
class Settings:
    api_keys: tuple[str, ...] = ()
    data_dir: Path = Path.home() / ".local" / "share" / "docuocr"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    request_timeout_s: float = 180.0
    queue_size: int = 16
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls) -> Settings:
        keys = tuple(
            k.strip() for k in os.environ.get("DOCUOCR_API_KEYS", "").split(",") if k.strip()
        )
        data_dir = os.environ.get("DOCUOCR_DATA_DIR", "").strip()
        return cls(
            api_keys=keys,
            data_dir=Path(data_dir) if data_dir else cls.data_dir,
            workers=_int("DOCUOCR_WORKERS", os.cpu_count() or 1),
            request_timeout_s=_float("DOCUOCR_REQUEST_TIMEOUT", 180.0),
            queue_size=_int("DOCUOCR_QUEUE_SIZE", 16),
            limits=Limits.from_env(),
        )
