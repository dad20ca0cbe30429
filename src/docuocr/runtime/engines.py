"""Building an Engine, with its settings as arguments rather than environment variables."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docuocr.engine import Engine

THREADS_ENV = "DOCUOCR_ENGINE_RUNTIME_THREADS"


def threads_per_worker(workers: int) -> int:
    """Cores shared out between workers: with one inference thread pool per worker, more threads
    than cores only makes them fight (2 workers × 1 thread beat 2 × 2 by about 1.5× here, measured
    with onnxruntime)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def build_engine(threads: int = 0) -> Engine:
    """An Engine whose models each use `threads` inference threads (0: the engine's setting).
    An explicit DOCUOCR_ENGINE_RUNTIME_THREADS still wins, as it always has."""
    from docuocr.engine import Engine, default_stages

    if threads > 0 and THREADS_ENV not in os.environ:
        return Engine(default_stages({"runtime": {"threads": threads}}))
    return Engine(default_stages())
