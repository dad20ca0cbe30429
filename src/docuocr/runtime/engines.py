"""Building an Engine, with its settings as arguments rather than environment variables."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docuocr.engine import Engine


def threads_per_worker(workers: int) -> int:
    """Cores shared out between workers: with one inference thread pool per worker, more threads
    than cores only makes them fight (2 workers × 1 thread beat 2 × 2 by about 1.5× here, measured
    with onnxruntime)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def build_engine(threads: int = 0, overrides: dict[str, dict[str, Any]] | None = None) -> Engine:
    """An Engine with `overrides` of its defaults (`config.engine_from_env()`, read at the edge),
    whose models each use `threads` inference threads (0: the engine's setting). An explicit
    DOCUOCR_ENGINE_RUNTIME_THREADS (runtime.threads in `overrides`) still wins, as it always has."""
    from docuocr.engine import Engine, default_stages

    overrides = overrides or {}
    if threads > 0 and "threads" not in overrides.get("runtime", {}):
        overrides = {**overrides, "runtime": {**overrides.get("runtime", {}), "threads": threads}}
    return Engine(default_stages(overrides or None))
