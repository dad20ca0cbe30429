"""Fixtures shared by the test modules: real `docuocr serve` processes and a real engine.

Helpers that are not fixtures (documents made in the test, hostile files, the fuzzer) are the
modules of this package: `from tests import docgen`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from docuocr.serverproc import ServerProcess

# What a test server runs with unless the test says otherwise: one worker, its own data folder,
# no rate limit (most tests send bursts; test_reliability and test_metrics set one) and no key.
BASE_ENV = {"DOCUOCR_WORKERS": "1", "DOCUOCR_RATE_LIMIT": "0", "DOCUOCR_API_KEYS": ""}

Serve = Callable[..., ServerProcess]


@contextmanager
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    started: list[ServerProcess] = []

    def start(**env: str | None) -> ServerProcess:
        tmp = tmp_path_factory.mktemp("server")
        environ = {**BASE_ENV, "DOCUOCR_DATA_DIR": str(tmp / "data"), **env}
        server = ServerProcess(
            {k: v for k, v in environ.items() if v is not None}, tmp / "server.log"
        )
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """Start `docuocr serve` with extra env vars (None leaves one unset); every server is stopped
    at the module's end. The server's data folder is `server.log.parent / "data"`."""
    with servers(tmp_path_factory) as start:
        yield start


@pytest.fixture
def serve_for_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """As `serve`, but the servers are stopped at the test's end."""
    with servers(tmp_path_factory) as start:
        yield start


@pytest.fixture(scope="module")
def engine():
    """One engine per module, with the shipped defaults (it takes seconds to load)."""
    from docuocr.engine import Engine, default_stages

    return Engine(default_stages())
