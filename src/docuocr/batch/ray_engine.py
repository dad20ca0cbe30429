"""`docuocr batch --engine ray`: the same OCR on Ray actors, one Engine per actor, loaded once.

Without an address, a local Ray is started with `workers` CPUs (no dashboard, no usage stats,
nothing reaching the network); with one (`ray://head:10001`, or `auto` on a cluster node) the
work goes to that cluster, whose nodes must have docuocr installed (see docs/scale.md). The
driver reads the files and sends their bytes, so the cluster needs no shared filesystem.

An actor that dies is restarted by Ray (it loads its Engine again); the file it was reading is
tried once more, then reported, as with the local engine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from docuocr.batch.plan import Failure, Item
from docuocr.config import ModelLimits, Settings
from docuocr.document import Document
from docuocr.errors import DocuocrError
from docuocr.runtime.dispatch import dispatch

PER_ACTOR = 2  # calls queued per actor: one running, one waiting, so no actor ever idles
ACTOR_RESTARTS = 4


class OcrActor:
    """Holds one runtime `Worker` (one Engine) for its whole life; `ocr` returns errors as
    values."""

    def __init__(self, limits: ModelLimits, engine: dict[str, dict[str, Any]]) -> None:
        from docuocr.runtime.engines import build_engine
        from docuocr.runtime.worker import Worker

        # One CPU per actor (num_cpus=1), so one inference thread, unless the user says otherwise.
        self.worker = Worker(build_engine(threads=1, overrides=engine), limits)

    def ocr(
        self, data: bytes, model: str, with_pdf: bool = False
    ) -> Document | tuple[Document, bytes] | Failure:
        try:
            return self.worker.read(data, model, with_pdf=with_pdf)
        except DocuocrError as exc:
            return Failure(exc.code, exc.message)


def _init_ray(address: str | None, workers: int | None) -> Any:
    # Before the import: Ray reads these when it starts, and must not phone home.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    # Limits and the engine's overrides reach the actors as arguments; the DOCUOCR_* variables
    # go too, for the calibration file the engine still finds itself (DOCUOCR_CALIBRATION).
    env = {k: v for k, v in os.environ.items() if k.startswith("DOCUOCR_")}
    options: dict[str, Any] = {
        "logging_level": logging.WARNING,
        "log_to_driver": False,
        "runtime_env": {"env_vars": env} if env else None,
    }
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **options)
    return ray


def read(
    inputs: Iterator[tuple[Item, bytes]],
    model: str,
    settings: Settings,
    workers: int | None,
    address: str | None = None,
    with_pdf: bool = False,
) -> Iterator[tuple[Item, Document | tuple[Document, bytes] | Failure]]:
    """OCR every input on `workers` Ray actors (default: the cluster's CPUs); yield as they finish."""
    ray = _init_ray(address, workers)
    try:
        if not workers:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor_class = ray.remote(num_cpus=1, max_restarts=ACTOR_RESTARTS)(OcrActor)
        actors = [actor_class.remote(settings.limits, settings.engine) for _ in range(workers)]
        load = {i: 0 for i in range(len(actors))}
        actor_of: dict[Any, int] = {}  # ref → the actor it runs on

        def submit(data: bytes) -> Any:
            index = min(load, key=load.__getitem__)
            load[index] += 1
            ref = actors[index].ocr.remote(data, model, with_pdf)
            actor_of[ref] = index
            return ref

        def wait_any(refs: list[Any]) -> list[Any]:
            return ray.wait(refs, num_returns=1)[0]

        def result(ref: Any) -> Any:
            load[actor_of.pop(ref)] -= 1
            return ray.get(ref)

        yield from dispatch(
            inputs,
            PER_ACTOR * len(actors),
            submit,
            wait_any,
            result,
            ray.exceptions.RayActorError,
            Failure,
            "the Ray actor stopped abruptly while reading this file "
            "(out of memory, or a crash in a decoder)",
        )
    finally:
        ray.shutdown()
