"""ONNX sessions for the models that ship inside the rapidocr wheel or docuocr itself (no
downloads, ever)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnxruntime as ort

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


def session(name: str, threads: int = 0) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_path(name)), opts, providers=["CPUExecutionProvider"])
