"""`docuocr serve` as a child process: start it on a free port, wait until it answers, stop it.

For whatever drives a real server from outside: the speed bench, the load test, and the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """The server runs in its own session, so stopping it stops its OCR workers too."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [sys.executable, "-m", "docuocr", "serve", "--port", str(self.port), *args]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @classmethod
    def start(
        cls, env: dict[str, str], log: Path, args: tuple[str, ...] = (), timeout: float = 180
    ) -> ServerProcess:
        server = cls(env, log, args)
        server.wait_ready(timeout)
        return server

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docuocr serve exited:\n{self.log.read_text()[-3000:]}")
            if self.healthy():
                return
            time.sleep(0.3)
        self.kill()
        raise TimeoutError(f"docuocr serve did not come up:\n{self.log.read_text()[-3000:]}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=10) as response:
                return response.status == 200 and json.load(response).get("status") == "ok"
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """The OCR worker processes (spawned children), not multiprocessing's resource tracker."""
        pids = []
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                try:
                    if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        pids.append(int(pid))
                except FileNotFoundError:
                    pass
        return pids

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> None:
        """A graceful stop (SIGINT, as Ctrl-C, to the server, which stops its workers), then
        SIGKILL for all of them if it takes longer than `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the server and its workers: nothing gets a chance to tidy up."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
