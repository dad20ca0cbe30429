"""The engine's ONNX models (shipped in the rapidocr wheel or in docuocr itself; no downloads, ever),
run by OpenVINO or onnxruntime behind one small interface."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# docuocr/models: the models we train ourselves, each with its card.
OWN_MODELS = Path(__file__).resolve().parent.parent / "models"


def model_path(name: str) -> Path:
    """Any ONNX file by its path; else a model of docuocr's own or of the rapidocr wheel, by name."""
    if Path(name).is_file():
        return Path(name)
    if (OWN_MODELS / name).is_file():
        return OWN_MODELS / name
    return _shipped(name)


def _shipped(name: str) -> Path:
    # Located, not imported: importing rapidocr costs 0.7 s of every worker's start.
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("rapidocr is not installed: pip install rapidocr==3.10.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall rapidocr==3.10.0, which ships it")
    return path


class Model:
    """One model with one input and its first output, as every model of the engine has.

    OpenVINO is the default backend because it is much faster on this kind of CPU: the detector
    runs 3x faster than under onnxruntime at the same precision, and on a CPU with AMX or
    AVX-512 BF16 the models run in bfloat16, 2.4x faster again for the recognisers and 3x for the
    detector, reading nearly the same words (docs/accuracy.md). onnxruntime stays as the
    reference (`runtime.backend`)."""

    def __init__(self, name: str, runtime: dict[str, Any], precision: str = "") -> None:
        self.path = model_path(name)
        runtime = {**runtime, "precision": precision or runtime.get("precision", "f32")}
        self.backend = str(runtime.get("backend", "openvino"))
        self.release: Any = lambda: None  # let go of the buffers sized for the largest input yet
        if self.backend == "openvino":
            self._run, self.metadata, self.release = _openvino(self.path, runtime)
        elif self.backend == "onnxruntime":
            self._run, self.metadata = _onnxruntime(self.path, int(runtime.get("threads", 0)))
        else:
            raise ValueError(
                f"runtime.backend is {self.backend!r}: use openvino or onnxruntime "
                "(DOCUOCR_ENGINE_RUNTIME_BACKEND)"
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._run(np.ascontiguousarray(x, dtype=np.float32))


def _onnxruntime(path: Path, threads: int) -> tuple[Any, dict[str, str]]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    meta = dict(sess.get_modelmeta().custom_metadata_map)
    return (lambda x: sess.run(None, {name: x})[0]), meta


def _openvino(path: Path, runtime: dict[str, Any]) -> tuple[Any, dict[str, str], Any]:
    ov = _import_openvino()
    core = _core(str(runtime.get("cache_dir", "")))
    threads = int(runtime.get("threads", 0))
    model = core.read_model(str(path))
    info = model.get_rt_info()
    # ONNX metadata_props (the recogniser's charset, our Korean model's height) land here.
    framework = info["framework"] if "framework" in info else {}  # noqa: SIM401 (RTMap has no .get)
    meta = {str(k): v.astype(str) for k, v in framework.items()}
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        # Workers share the cores: pinning would put every worker's thread on the same core.
        "ENABLE_CPU_PINNING": False,
        "INFERENCE_PRECISION_HINT": _precision(core, str(runtime["precision"])),
    }
    if threads > 0:
        config["INFERENCE_NUM_THREADS"] = threads

    def compiled() -> Any:
        return core.compile_model(model, "CPU", config).create_infer_request()

    state = [compiled()]
    last: list[tuple[tuple[int, ...], tuple[int, ...]]] = []  # the last call's input, output shapes

    def release() -> None:
        """Drop the request and all it holds: the next call compiles it afresh (0.1 s, cached)."""
        state[0] = None
        last.clear()

    def run(x: np.ndarray) -> np.ndarray:
        try:
            if state[0] is None:
                state[0] = compiled()
            # The input is read in place; the output comes back as a copy of its own.
            out = state[0].infer({0: ov.Tensor(x, shared_memory=True)}, share_outputs=False)[0]
        except RuntimeError as exc:
            # A failed allocation (under the worker's memory cap) leaves the compiled model
            # broken, and every later job in the worker failed ("Broken promise"): let go of it.
            release()
            if "can't alloc" in str(exc) or "temporarily unavailable" in str(exc):
                raise MemoryError(f"{path.name}: no memory for an input of {x.shape}") from exc
            raise
        # Other failed allocations are silent: the output is empty, or is the last call's again
        # (every model here has an output shape that follows its input's).
        stale = bool(last) and x.shape != last[0][0] and out.shape == last[0][1]
        if (out.size == 0 and x.size) or stale:
            release()
            raise MemoryError(f"{path.name}: no memory for an input of {x.shape}")
        last[:] = [(x.shape, out.shape)]
        return out

    return run, meta, release


def bucket(n: int, per_octave: int, least: int = 32) -> int:
    """`n` rounded up to one of `per_octave` sizes an octave (4: ..., 256, 320, 384, 448, 512,
    640, ...; 0: to a multiple of `least`).

    OpenVINO prepares its kernels for each new input shape: a recogniser batch of 8 of a new
    shape cost about 65 ms more than a known one on an Intel Xeon, one crop about 12 ms on an AMD
    EPYC; a page-sized detector input 250 ms more. Sizes in buckets let a page reuse the shapes
    that it and the pages before it had, for at most 1/per_octave more pixels."""
    step = least
    if per_octave > 0:
        step = max(least, (1 << max(0, n.bit_length() - 1)) // per_octave)
    return max(least, -(-n // step) * step)


_IMPORTING = threading.Lock()


def _import_openvino() -> Any:
    """`import openvino`, without the model converter it imports for `openvino.convert_model`.

    The converter (and the telemetry it sets up) is a tenth of a second of every start, before
    the first page, and docuocr never converts a model. It stays importable: only openvino's own
    `from openvino.tools.ovc import convert_model`, which is optional (it catches ImportError),
    is skipped."""
    converter = "openvino.tools.ovc"
    with _IMPORTING:  # the CLI's threads build their engines together
        blocked = "openvino" not in sys.modules and converter not in sys.modules
        if blocked:
            sys.modules[converter] = None  # type: ignore[assignment]  # makes the import fail
        try:
            import openvino
        finally:
            if blocked:
                del sys.modules[converter]
    return openvino


@cache
def _core(cache_dir: str) -> Any:
    """One OpenVINO core per process. Its compiled models are cached on disk: a worker then
    starts in 0.25 s instead of 1 s (the cache is keyed by model, precision and CPU)."""
    ov = _import_openvino()
    core = ov.Core()
    path = Path(cache_dir).expanduser() if cache_dir else _default_cache()
    try:
        path.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(path)})
    except OSError as exc:
        log.warning("no model cache (%s): every start compiles the models", exc)
    return core


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "docuocr" / "openvino"


@cache
def _precision(core: Any, wanted: str) -> str:
    """bf16 only where the CPU computes it natively (AMX, AVX-512 BF16); elsewhere OpenVINO
    would emulate it, slower than f32."""
    if wanted == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        log.info("this CPU has no native bfloat16: the models run in f32")
        return "f32"
    if wanted not in ("bf16", "f32"):
        raise ValueError(
            f"runtime.precision is {wanted!r}: use bf16 or f32 (DOCUOCR_ENGINE_RUNTIME_PRECISION)"
        )
    return wanted
