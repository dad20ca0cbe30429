"""The one typed configuration: DOCUOCR_* variables read once at the edge, their defaults as
documented, and a bad value stopping the start with a message that names the variable."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from PIL import Image

from docuocr.config import (
    JobSettings,
    ModelLimits,
    Settings,
    SettingsError,
    engine_defaults,
    engine_from_env,
)
from docuocr.engine.config import load_config
from docuocr.pool import Pool


@pytest.fixture
def clean_env(monkeypatch):
    """No DOCUOCR_* variable from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("DOCUOCR_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_unset_variables_give_the_documented_defaults(clean_env):
    settings = Settings.from_env()
    assert settings == Settings(workers=os.cpu_count() or 1)
    assert (settings.request_timeout_s, settings.queue_size, settings.rate_limit) == (180, 16, 3)
    assert (settings.worker_memory_mb, settings.worker_max_tasks) == (6144, 200)
    assert settings.limits == ModelLimits() and settings.jobs == JobSettings()
    assert settings.api_keys == () and settings.engine == {}


def test_values_are_typed_stripped_and_blank_is_unset(clean_env):
    clean_env.setenv("DOCUOCR_WORKERS", " 3 ")
    clean_env.setenv("DOCUOCR_QUEUE_SIZE", "  ")
    clean_env.setenv("DOCUOCR_API_KEYS", "a, b,,")
    clean_env.setenv("DOCUOCR_RATE_LIMIT", "0.5")
    clean_env.setenv("DOCUOCR_METRICS_AUTH", "on")
    clean_env.setenv("DOCUOCR_ASYNC_MAX_PAGES", "2e3")  # a number, kept whole
    clean_env.setenv("DOCUOCR_DATA_DIR", "/srv/docuocr")
    settings = Settings.from_env()
    assert (settings.workers, settings.queue_size, settings.api_keys) == (3, 16, ("a", "b"))
    assert (settings.rate_limit, settings.metrics_auth, settings.jobs.max_pages) == (
        0.5,
        True,
        2000,
    )
    assert str(settings.data_dir) == "/srv/docuocr"
    # Commands that serve no API do not read the keys (nor their file).
    clean_env.setenv("DOCUOCR_API_KEYS_FILE", "/nonexistent/keys")
    assert Settings.from_env(keys=False).api_keys == ()
    with pytest.raises(SettingsError, match="DOCUOCR_API_KEYS_FILE: cannot read"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value", "expects"),
    [
        ("DOCUOCR_WORKERS", "two", "a whole number"),
        ("DOCUOCR_REQUEST_TIMEOUT", "3 min", "a number"),
        ("DOCUOCR_METRICS_AUTH", "maybe", "1 or 0"),
        ("DOCUOCR_OCR_MAX_FILE_MB", "1.5", "a whole number"),
        ("DOCUOCR_PDF_DPI", "high", "a number"),
        ("DOCUOCR_RESULT_RETENTION_DAYS", "forever", "a number"),
        ("DOCUOCR_ENGINE_DETECTION_MAX_SIDE", "big", "a whole number"),
        ("DOCUOCR_ENGINE_SMALL_PRINT_MAX_SHARE", "", "a number"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_expects(clean_env, name, value, expects):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{name}={value!r}: expected {expects}"):
        Settings.from_env()


def test_engine_overrides_are_typed_as_their_defaults(clean_env):
    clean_env.setenv("DOCUOCR_ENGINE_DETECTION_MAX_SIDE", "2400")
    clean_env.setenv("DOCUOCR_ENGINE_SMALL_PRINT_MAX_HEIGHT", "30")  # a section with a '_'
    clean_env.setenv("DOCUOCR_ENGINE_LEXICON_FLOOR", "1e-8")
    clean_env.setenv("DOCUOCR_ENGINE_HANGUL_RECOGNIZER", "")  # blank is a value here: off
    clean_env.setenv("DOCUOCR_ENGINE_NO_SUCH_KEY", "1")  # not a key: ignored, as before
    overrides = engine_from_env()
    assert overrides == {
        "detection": {"max_side": 2400},
        "small_print": {"max_height": 30},
        "lexicon": {"floor": 1e-8},
        "hangul": {"recognizer": ""},
    }
    assert Settings.from_env().engine == overrides
    # The engine reads no variable itself: they reach it as overrides, from the edge.
    assert load_config()["detection"]["max_side"] == engine_defaults()["detection"]["max_side"]
    cfg = load_config(overrides)
    assert (cfg["detection"]["max_side"], cfg["detection"]["min_side"]) == (2400, 800)


@pytest.mark.parametrize(
    "command", [["serve"], ["ocr", "none.png", "--out", "out"], ["batch", ".", "out"]]
)
def test_commands_stop_at_start_up_on_a_bad_value(command, tmp_path):
    env = {**os.environ, "DOCUOCR_WORKERS": "lots"}
    done = subprocess.run(
        [sys.executable, "-m", "docuocr", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"docuocr {command[0]}: DOCUOCR_WORKERS='lots': expected a whole number" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


# --- the engine's overrides reach every engine, as arguments ---------------------------------

BOGUS = {"DOCUOCR_ENGINE_RUNTIME_BACKEND": "bogus"}  # the engine refuses it as it loads


def test_docuocr_ocr_builds_its_engines_with_the_overrides(tmp_path):
    page = tmp_path / "page.png"
    Image.new("RGB", (64, 32), "white").save(page)
    done = subprocess.run(
        [sys.executable, "-m", "docuocr", "ocr", str(page)],
        env={**os.environ, **BOGUS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "runtime.backend is 'bogus'" in done.stderr


def test_the_server_pool_hands_the_overrides_to_its_workers(clean_env):
    clean_env.setenv("DOCUOCR_ENGINE_RUNTIME_BACKEND", "bogus")
    settings = replace(Settings.from_env(), workers=1)

    async def main() -> None:
        pool = Pool(settings)
        try:
            with pytest.raises(RuntimeError, match="died while loading the models"):
                await pool.warm_up()
        finally:
            pool.close()

    asyncio.run(main())
