"""Checkpoint → ONNX, in PP-OCR's interface, checked against torch.

The file takes (batch, 3, 32, width) RGB scaled to [-1, 1] and returns softmax probabilities
(batch, width/4, classes), batch and width dynamic. Its metadata carries the charset under
`character` (one a line, blank and space left out) as PP-OCRv6's does, so the engine's
`Recognizer` reads it with `height: 32`.

    python -m training.korean.export data/korean-train/best.pt data/korean-train/korean_rec.onnx
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from training.korean import charset, model
from training.korean.train import load_model


def export(net: model.CRNN, out: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the ONNX file with the charset in its metadata."""
    wrapped = model.Exported(net.eval().to(memory_format=torch.contiguous_format)).eval()
    x = torch.zeros(1, 3, 32, 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (x,),
            str(out),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["probs"],
            dynamic_axes={"x": {0: "batch", 3: "width"}, "probs": {0: "batch", 1: "steps"}},
        )
    proto = onnx.load(str(out))
    chars = charset.load()
    meta = {"character": "\n".join(chars[1:-1]), "height": "32", **(extra or {})}
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(out))
    return out


def check(net: model.CRNN, path: Path, widths: tuple[int, ...] = (40, 257, 600)) -> float:
    """Largest difference between onnxruntime's and torch's probabilities over a few shapes."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wrapped = model.Exported(net.eval()).eval()
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for batch, width in zip((1, 3, 2), widths, strict=False):
        x = torch.rand(batch, 3, 32, width, generator=gen) * 2 - 1
        with torch.inference_mode():
            want = wrapped(x).numpy()
        got = sess.run(None, {"x": x.numpy()})[0]
        worst = max(worst, float(np.abs(got - want).max()))
    return worst


def speed(path: Path, width: int = 320, runs: int = 30) -> float:
    """Milliseconds per line at batch size 1, one thread."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, 32, width), dtype=np.float32)
    sess.run(None, {"x": x})
    t = time.perf_counter()
    for _ in range(runs):
        sess.run(None, {"x": x})
    return (time.perf_counter() - t) * 1000 / runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    net = load_model(args.checkpoint)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    info = {
        "samples": str(ckpt["state"]["samples"]),
        "model": json.dumps(model.describe(ckpt["config"]["size"])),
    }
    export(net, args.out, info)
    diff = check(net, args.out)
    size_mb = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size_mb:.1f} MB, max |onnxruntime - torch| = {diff:.2e}, "
          f"{speed(args.out):.1f} ms/line (width 320, batch 1, 1 thread)")  # fmt: skip
    if diff > 1e-4:
        raise SystemExit("onnxruntime disagrees with torch")


if __name__ == "__main__":
    main()
