"""Service settings, read from `DOCUOCR_*` environment variables with Upstage's limits as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from docuocr.errors import DocuocrError, ModelNotFound

# The model names a request may ask for, and the version each one's responses report.
MODELS = {"ocr-2.2.1": "ocr-2.2.1", "ocr": "ocr-2.2.1"}
# A request without a model: Upstage's seed documentation serves it with `ocr-2.2.1` (the field
# is optional there); its current documentation always sends `model=ocr` and says nothing of a
# request without one, so such a request keeps the seed's model and limits.
DEFAULT_MODEL = "ocr-2.2.1"


def resolve_model(name: str | None) -> str:
    """The model a request asks for (a key of MODELS): it decides the limits, and
    `model_version` what the response reports."""
    name = (name or "").strip()
    if not name:
        return DEFAULT_MODEL
    if name in MODELS:
        return name
    valid = ", ".join(sorted(MODELS))
    if name.startswith("document-parse"):
        raise DocuocrError(
            f"model {name!r} is Upstage Document Parse; docuocr serves Document OCR only "
            f"(models: {valid})",
            code="unsupported_model",
        )
    raise ModelNotFound(f"model {name!r} not found; valid models: {valid}")


def model_version(name: str) -> str:
    """The version a response reports for model `name` (`ocr` → `ocr-2.2.1`, as today)."""
    return MODELS.get(name, name)


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
    """One model's input limits; the defaults are the seed's `ocr-2.2.1`."""

    model: str = DEFAULT_MODEL  # whose limits these are, for the messages
    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 30
    # Past max_pages: read the first max_pages (ocr-2.2.1), or refuse the file with a 413 (ocr).
    truncate_pages: bool = True
    max_page_pixels: int = 100_000_000
    pixel_dpi: float = 300.0  # a PDF or office page's pixels are counted as if rendered at this
    office_timeout_s: float = 120.0
    pdf_dpi: float = 150.0  # the hosted API renders an A4 page as 1242x1755, i.e. 150 DPI
    # A page with more pixels is read shrunk (by a whole factor) to at most this many, and its boxes
    # and size reported in the full page's pixels: the engine's memory grows with the pixels
    # (intake/shrink.py), and ocr-2.2.1's largest pages are read whole, as before.
    read_pixels: int = 100_000_000

    @classmethod
    def from_env(cls, model: str = DEFAULT_MODEL) -> Limits:
        """`model`'s limits (see MODEL_LIMITS), with its DOCUOCR_* overrides."""
        base, prefix = MODEL_LIMITS.get(model, MODEL_LIMITS[DEFAULT_MODEL])
        return replace(
            base,
            max_file_bytes=_int(f"{prefix}MAX_FILE_MB", base.max_file_bytes // 2**20) * 2**20,
            max_pages=_int(f"{prefix}MAX_PAGES", base.max_pages),
            max_page_pixels=_int(f"{prefix}MAX_PAGE_PIXELS", base.max_page_pixels),
            office_timeout_s=_float("DOCUOCR_OFFICE_TIMEOUT", base.office_timeout_s),
            pdf_dpi=_float("DOCUOCR_PDF_DPI", base.pdf_dpi),
            read_pixels=_int("DOCUOCR_READ_PIXELS", base.read_pixels),
        )


# Each model's limits, as Upstage documents them, and the prefix of its DOCUOCR_* overrides
# (DOCUOCR_MAX_FILE_MB, DOCUOCR_OCR_MAX_FILE_MB, ...).
MODEL_LIMITS: dict[str, tuple[Limits, str]] = {
    # The seed's documentation: 50 MB, the first 30 pages, 100 MP counted at 300 DPI.
    "ocr-2.2.1": (Limits(model="ocr-2.2.1"), "DOCUOCR_"),
    # Upstage's current documentation of `ocr`: 100 MB, up to 100 pages per synchronous call
    # (413 above), 200 MP counted at 150 DPI.
    "ocr": (
        Limits(
            model="ocr",
            max_file_bytes=100 * 2**20,
            max_pages=100,
            truncate_pages=False,
            max_page_pixels=200_000_000,
            pixel_dpi=150.0,
        ),
        "DOCUOCR_OCR_",
    ),
}


@dataclass(frozen=True)
class ModelLimits:
    """The limits of every model, by the name a request asks for."""

    by_model: dict[str, Limits] = field(
        default_factory=lambda: {name: limits for name, (limits, _) in MODEL_LIMITS.items()}
    )

    def __getitem__(self, model: str) -> Limits:
        return self.by_model.get(model) or self.by_model[DEFAULT_MODEL]

    @property
    def largest(self) -> Limits:
        """The model that takes the largest file: its size is the upload limit while streaming."""
        return max(self.by_model.values(), key=lambda limits: limits.max_file_bytes)

    @classmethod
    def from_env(cls) -> ModelLimits:
        return cls({name: Limits.from_env(name) for name in MODEL_LIMITS})


@dataclass(frozen=True)
class JobSettings:
    """Settings of the async API."""

    retention_days: float = 30.0  # results expire this long after the request, as hosted
    max_pages: int = 1000  # the hosted async API's page limit; longer documents fail
    purge_interval_s: float = 3600.0
    url_ttl_s: float = 900.0  # a download_url is valid this long (15 minutes, as hosted)

    @classmethod
    def from_env(cls) -> JobSettings:
        return cls(
            retention_days=_float("DOCUOCR_RESULT_RETENTION_DAYS", cls.retention_days),
            max_pages=int(_float("DOCUOCR_ASYNC_MAX_PAGES", cls.max_pages)),
            purge_interval_s=_float("DOCUOCR_PURGE_INTERVAL", cls.purge_interval_s),
        )

    @property
    def retention_s(self) -> float:
        return self.retention_days * 86400.0


@dataclass(frozen=True)
class Settings:
    """The server's settings, the limits of every model and the async API's, read once at the
    edge (`from_env`) and passed down."""

    api_keys: tuple[str, ...] = ()
    data_dir: Path = Path.home() / ".local" / "share" / "docuocr"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    request_timeout_s: float = 180.0
    queue_size: int = 16
    limits: ModelLimits = field(default_factory=ModelLimits)
    # A 100 MP page (the pixel limit) peaks near 4.5 GB of address space in a worker.
    worker_memory_mb: int = 6144
    worker_max_tasks: int = 200  # jobs before the pool is replaced, when idle; 0 = never
    rate_limit: float = 3.0  # requests per second per API key, as the hosted API; 0 = off
    rate_burst: int = 0  # requests a key may send at once; 0 = the rate, rounded up
    metrics_auth: bool = False  # GET /metrics needs an API key (it holds no user data)
    jobs: JobSettings = field(default_factory=JobSettings)

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
            limits=ModelLimits.from_env(),
            worker_memory_mb=_int("DOCUOCR_WORKER_MEMORY_MB", cls.worker_memory_mb),
            worker_max_tasks=_int("DOCUOCR_WORKER_MAX_TASKS", cls.worker_max_tasks),
            rate_limit=_float("DOCUOCR_RATE_LIMIT", cls.rate_limit),
            rate_burst=_int("DOCUOCR_RATE_BURST", cls.rate_burst),
            metrics_auth=_bool("DOCUOCR_METRICS_AUTH", cls.metrics_auth),
            jobs=JobSettings.from_env(),
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
