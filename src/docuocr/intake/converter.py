"""Run a document converter (LibreOffice, the HWP renderer) in a process group of its own, with no
network where the OS allows it, and within a time limit.

The converter's own session lets a timeout kill it and every helper it started; the network
namespace (`unshare --net`, or a user namespace of its own when the server is not root) leaves it
only a loopback interface that is down, so no uploaded document can make it call out.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from docuocr.errors import DocuocrError

log = logging.getLogger(__name__)


def run(
    cmd: Sequence[str],
    *,
    cwd: Path | str,
    log_path: Path,
    timeout_s: float,
    too_slow: DocuocrError,
    env: dict[str, str] | None = None,
) -> int:
    """Run `cmd` to its end, its output into `log_path`; raise `too_slow` past `timeout_s`.
    Returns the exit status."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [*no_network_prefix(), *cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise too_slow from None
        finally:
            kill_group(proc)
    return proc.returncode


@functools.cache
def no_network_prefix() -> tuple[str, ...]:
    """The command that runs a converter with no network: `unshare --net` as root, or in a user
    namespace of its own otherwise. Empty (with a warning, once) where the OS refuses both, as in
    a container without CAP_SYS_ADMIN that also forbids user namespaces."""
    unshare = shutil.which("unshare")
    if unshare:
        for prefix in ((unshare, "--net", "--"), (unshare, "--map-root-user", "--net", "--")):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run(
                    [*prefix, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10
                )
                if done.returncode == 0:
                    return prefix
    log.warning(
        "LibreOffice and the HWP renderer will run with this machine's network: the OS allows no "
        "network namespace here (unshare --net). Office documents' outside references are still "
        "removed first, and LibreOffice's link updates are off"
    )
    return ()


def kill_group(proc: subprocess.Popen) -> None:
    """Kill whatever is left of the conversion's process group and reap the leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
