"""Service settings, read from `DOCUOCR_*` environment variables with Upstage's limits as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from docuocr.errors import DocuocrError, ModelNotFound

MODELS = {"ocr-2.2.1": "ocr-2.2.1", "ocr": "ocr-2.2.1"}
DEFAULT_MODEL = "ocr-2.2.1"


def resolve_model(name: str | None) -> str:
    """The model version a request asks for; Upstage's aliases map to the version they name."""
    name = (name or "").strip()
    if not name:
        return DEFAULT_MODEL
    if name in MODELS:
        return MODELS[name]
    valid = ", ".join(sorted(MODELS))
    if name.startswith("document-parse"):
        raise DocuocrError(
            f"model {name!r} is Upstage Document Parse; docuocr serves Document OCR only "
            f"(models: {valid})",
            code="unsupported_model",
        )
    raise ModelNotFound(f"model {name!r} not found; valid models: {valid}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: use 1 or 0 (true/false, yes/no, on/off)")


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
    # A 100 MP page (the pixel limit) peaks near 4.5 GB of address space in a worker.
    worker_memory_mb: int = 6144
    worker_max_tasks: int = 200  # jobs before the pool is replaced, when idle; 0 = never
    rate_limit: float = 3.0  # requests per second per API key, as the hosted API; 0 = off
    rate_burst: int = 0  # requests a key may send at once; 0 = the rate, rounded up
    metrics_auth: bool = False  # GET /metrics needs an API key (it holds no user data)

    @classmethod
    def from_env(cls) -> Settings:
        keys = tuple(
            k.strip() for k in os.environ.get("DOCUOCR_API_KEYS", "").split(",") if k.strip()
        )
        if keys_file := os.environ.get("DOCUOCR_API_KEYS_FILE", "").strip():
            keys += tuple(k for k in read_keys_file(Path(keys_file)) if k not in keys)
        data_dir = os.environ.get("DOCUOCR_DATA_DIR", "").strip()
        return cls(
            api_keys=keys,
            data_dir=Path(data_dir) if data_dir else cls.data_dir,
            workers=_int("DOCUOCR_WORKERS", os.cpu_count() or 1),
            request_timeout_s=_float("DOCUOCR_REQUEST_TIMEOUT", 180.0),
            queue_size=_int("DOCUOCR_QUEUE_SIZE", 16),
            limits=Limits.from_env(),
            worker_memory_mb=_int("DOCUOCR_WORKER_MEMORY_MB", cls.worker_memory_mb),
            worker_max_tasks=_int("DOCUOCR_WORKER_MAX_TASKS", cls.worker_max_tasks),
            rate_limit=_float("DOCUOCR_RATE_LIMIT", cls.rate_limit),
            rate_burst=_int("DOCUOCR_RATE_BURST", cls.rate_burst),
            metrics_auth=_bool("DOCUOCR_METRICS_AUTH", cls.metrics_auth),
        )


def read_keys_file(path: Path) -> list[str]:
    """API keys, one per line; blank lines and `#` comments are skipped. A file that is set but
    unreadable or empty stops the server, rather than leaving it open or on a surprise key."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"DOCUOCR_API_KEYS_FILE: cannot read {path} ({exc.strerror})") from None
    keys = [k for k in (line.strip() for line in lines) if k and not k.startswith("#")]
    if not keys:
        raise ValueError(f"DOCUOCR_API_KEYS_FILE: {path} holds no keys")
    return keys
