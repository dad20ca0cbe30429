"""Service settings: one typed configuration, read from `DOCUOCR_*` environment variables once at
the edge (`docuocr serve`, `ocr`, `batch`) and passed down as arguments.

The values passed down are frozen dataclasses (`Settings`, `ModelLimits`, `Limits`,
`JobSettings`, and the engine's overrides as a dict), so a test or a caller builds them without
reading anything. The environment is read by pydantic-settings models, one per group of variables
(`ServerEnv`, `LimitsEnv`, `JobsEnv`, `engine_env()`): they know each variable's name and type,
and a value that does not fit stops the start with a `SettingsError` naming the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import ValidationError, create_model, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from docuocr.errors import DocuocrError, ModelNotFound

# The model names a request may ask for, and the version each one's responses report.
MODELS = {"ocr-2.2.1": "ocr-2.2.1", "ocr": "ocr-2.2.1"}
# A request without a model: Upstage's seed documentation serves it with `ocr-2.2.1` (the field
# is optional there); its current documentation always sends `model=ocr` and says nothing of a
# request without one, so such a request keeps the seed's model and limits.
DEFAULT_MODEL = "ocr-2.2.1"

# The engine's defaults, each with its reason; DOCUOCR_ENGINE_<SECTION>_<KEY> overrides a key.
ENGINE_DEFAULTS = Path(__file__).with_name("engine") / "defaults.yaml"
ENGINE_PREFIX = "DOCUOCR_ENGINE_"


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


# --- reading the environment ---------------------------------------------------------------


class SettingsError(ValueError):
    """A DOCUOCR_* variable holds a value docuocr cannot use; the message names it and what it
    expects, and the command stops before it starts."""


# What a variable of each type expects, by pydantic's error type.
EXPECTS = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "1 or 0 (true/false, yes/no, on/off)",
}


class EnvGroup(BaseSettings):
    """A group of DOCUOCR_* variables. An unset or blank variable keeps its default, and values
    are stripped, as the server has always read them."""

    model_config = SettingsConfigDict(env_prefix="DOCUOCR_", extra="ignore", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise PydanticUseDefault()
        return value


Env = TypeVar("Env", bound=BaseSettings)


def read_env(group: type[Env], prefix: str | None = None) -> Env:
    """`group` read from the environment (under `prefix` instead of its own), or a SettingsError
    that names every variable with a bad value and what it expects."""
    prefix = group.model_config.get("env_prefix", "") if prefix is None else prefix
    try:
        return group(_env_prefix=prefix)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = f"{prefix}{error['loc'][0]}".upper()
            why = f"expected {EXPECTS[error['type']]}" if error["type"] in EXPECTS else error["msg"]
            problems.append(f"{name}={error['input']!r}: {why}")
        raise SettingsError("; ".join(problems)) from None


def given(**values: Any) -> dict[str, Any]:
    """The values that were set: an unset variable (None) keeps the dataclass's default."""
    return {name: value for name, value in values.items() if value is not None}


# Each group's fields are the variables without the prefix; None (unset) means the default of
# the setting it feeds, which lives in the dataclass below (Settings, Limits, JobSettings).


class ServerEnv(EnvGroup):
    """The server's variables (README: Configuration)."""

    api_keys: Annotated[tuple[str, ...], NoDecode] = ()  # comma-separated
    api_keys_file: Path | None = None
    data_dir: Path | None = None
    workers: int | None = None
    request_timeout: float | None = None
    queue_size: int | None = None
    worker_memory_mb: int | None = None
    worker_max_tasks: int | None = None
    rate_limit: float | None = None
    rate_burst: int | None = None
    metrics_auth: bool | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value


class LimitsEnv(EnvGroup):
    """One model's limit variables, under the model's prefix (DOCUOCR_, DOCUOCR_OCR_); unset is
    the model's own limit."""

    max_file_mb: int | None = None
    max_pages: int | None = None
    max_page_pixels: int | None = None


class ReadingEnv(EnvGroup):
    """Variables that apply to every model's documents alike."""

    office_timeout: float | None = None
    pdf_dpi: float | None = None
    read_pixels: int | None = None


class CalibrationEnv(EnvGroup):
    """DOCUOCR_CALIBRATION, the documented name of DOCUOCR_ENGINE_CALIBRATION_FILE."""

    calibration: str | None = None


class JobsEnv(EnvGroup):
    """The async API's variables."""

    result_retention_days: float | None = None
    async_max_pages: float | None = None  # read as a number, kept whole (as before)
    purge_interval: float | None = None


def engine_defaults() -> dict[str, dict[str, Any]]:
    """The engine's defaults from engine/defaults.yaml, a fresh copy each call."""
    return yaml.safe_load(ENGINE_DEFAULTS.read_text())


class EngineEnvGroup(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENGINE_PREFIX, extra="ignore", frozen=True)


@cache
def engine_env() -> type[EngineEnvGroup]:
    """A settings model with a field `<section>_<key>` for each key of engine/defaults.yaml,
    typed as its default: the variable DOCUOCR_ENGINE_<SECTION>_<KEY>. A blank value is a value
    (`DOCUOCR_ENGINE_HANGUL_RECOGNIZER=` turns the Korean model off)."""
    fields: dict[str, Any] = {
        f"{section}_{key}": (type(default) | None, None)
        for section, values in engine_defaults().items()
        for key, default in values.items()
    }
    return create_model("EngineEnv", __base__=EngineEnvGroup, **fields)


def engine_from_env() -> dict[str, dict[str, Any]]:
    """The DOCUOCR_ENGINE_* variables that are set, by section and key, typed as their defaults:
    the overrides an Engine is built with (`runtime.build_engine`)."""
    read = read_env(engine_env())
    overrides: dict[str, dict[str, Any]] = {}
    for section, values in engine_defaults().items():
        for key in values:
            if f"{section}_{key}" in read.model_fields_set:
                overrides.setdefault(section, {})[key] = getattr(read, f"{section}_{key}")
    calibration = read_env(CalibrationEnv).calibration
    if calibration is not None and "file" not in overrides.get("calibration", {}):
        overrides.setdefault("calibration", {})["file"] = calibration
    return overrides


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
    def from_env(cls, model: str = DEFAULT_MODEL, reading: ReadingEnv | None = None) -> Limits:
        """`model`'s limits (see MODEL_LIMITS), with its DOCUOCR_* overrides."""
        base, prefix = MODEL_LIMITS.get(model, MODEL_LIMITS[DEFAULT_MODEL])
        own, reading = read_env(LimitsEnv, prefix), reading or read_env(ReadingEnv)
        return replace(
            base,
            **given(
                max_file_bytes=None if own.max_file_mb is None else own.max_file_mb * 2**20,
                max_pages=own.max_pages,
                max_page_pixels=own.max_page_pixels,
                office_timeout_s=reading.office_timeout,
                pdf_dpi=reading.pdf_dpi,
                read_pixels=reading.read_pixels,
            ),
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
        reading = read_env(ReadingEnv)
        return cls({name: Limits.from_env(name, reading) for name in MODEL_LIMITS})


@dataclass(frozen=True)
class JobSettings:
    """Settings of the async API."""

    retention_days: float = 30.0  # results expire this long after the request, as hosted
    max_pages: int = 1000  # the hosted async API's page limit; longer documents fail
    purge_interval_s: float = 3600.0
    url_ttl_s: float = 900.0  # a download_url is valid this long (15 minutes, as hosted)

    @classmethod
    def from_env(cls) -> JobSettings:
        env = read_env(JobsEnv)
        return cls(
            **given(
                retention_days=env.result_retention_days,
                max_pages=None if env.async_max_pages is None else int(env.async_max_pages),
                purge_interval_s=env.purge_interval,
            )
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

    # The DOCUOCR_ENGINE_* overrides of engine/defaults.yaml, by section and key (engine_from_env).
    engine: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, keys: bool = True) -> Settings:
        """Every setting, from the environment: the one read, at the edge. `keys=False` for the
        commands that serve no API (`ocr`, `batch`): the API keys and their file are not read."""
        env = read_env(ServerEnv)
        api_keys = env.api_keys if keys else ()
        if keys and env.api_keys_file is not None:
            api_keys += tuple(k for k in read_keys_file(env.api_keys_file) if k not in api_keys)
        return cls(
            api_keys=api_keys,
            limits=ModelLimits.from_env(),
            jobs=JobSettings.from_env(),
            engine=engine_from_env(),
            **given(
                data_dir=env.data_dir,
                workers=env.workers,
                request_timeout_s=env.request_timeout,
                queue_size=env.queue_size,
                worker_memory_mb=env.worker_memory_mb,
                worker_max_tasks=env.worker_max_tasks,
                rate_limit=env.rate_limit,
                rate_burst=env.rate_burst,
                metrics_auth=env.metrics_auth,
            ),
        )


def read_keys_file(path: Path) -> list[str]:
    """API keys, one per line; blank lines and `#` comments are skipped. A file that is set but
    unreadable or empty stops the server, rather than leaving it open or on a surprise key."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError(f"DOCUOCR_API_KEYS_FILE: cannot read {path} ({exc.strerror})") from None
    keys = [k for k in (line.strip() for line in lines) if k and not k.startswith("#")]
    if not keys:
        raise SettingsError(f"DOCUOCR_API_KEYS_FILE: {path} holds no keys")
    return keys
