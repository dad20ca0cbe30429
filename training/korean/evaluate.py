"""CER and speed on the fixed evaluation set, for a checkpoint, an ONNX file, and Tesseract.

CER is reported on text with spaces REMOVED (edit distance / reference characters), after
folding look-alikes (charset.fold) in both prediction and reference: spacing in Korean is often
ambiguous, and the engine's word boxes come from the detector, not the recogniser. A CER that
counts spaces is reported beside it.

    python -m training.korean.evaluate --checkpoint data/korean-train/last.pt --tesseract
    python -m training.korean.evaluate --onnx data/korean-train/korean_rec.onnx
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from training.korean import charset, evalset
from training.korean.paths import train_dir

Reader = Callable[[list[np.ndarray]], list[str]]


def distance(a: str, b: str) -> int:
    """Levenshtein distance: the bench's, so training and `docuocr bench` count errors alike."""
    from docuocr.bench.metrics import levenshtein

    return levenshtein(a, b)


def cer(preds: Sequence[str], refs: Sequence[str], spaces: bool = False) -> float:
    """Character error rate over a set of lines (folded; spaces removed unless `spaces`)."""

    def norm(s: str) -> str:
        s = charset.fold(s)
        return s if spaces else s.replace(" ", "")

    errors = sum(distance(norm(p), norm(r)) for p, r in zip(preds, refs, strict=True))
    return errors / max(1, sum(len(norm(r)) for r in refs))


def decode(ids: np.ndarray) -> str:
    """Greedy CTC: collapse repeats, drop blanks."""
    chars = charset.load()
    out, prev = [], 0
    for i in ids.tolist():
        if i != prev and i != 0:
            out.append(chars[i])
        prev = i
    return "".join(out).strip()


def _by_width(images: list[np.ndarray], batch: int) -> list[list[int]]:
    order = sorted(range(len(images)), key=lambda i: images[i].shape[1])
    return [order[i : i + batch] for i in range(0, len(order), batch)]


def torch_reader(net, batch: int = 32) -> Reader:
    """Read 32-px grey crops with a torch CRNN (eval mode, no grad)."""
    import torch

    from training.korean.data import to_tensor

    def read(images: list[np.ndarray]) -> list[str]:
        out = [""] * len(images)
        net.eval()
        with torch.inference_mode():
            for idx in _by_width(images, batch):
                logits = net(to_tensor([images[i] for i in idx]))
                for j, ids in zip(idx, logits.argmax(-1).numpy(), strict=True):
                    out[j] = decode(ids)
        return out

    return read


def onnx_reader(path: Path, batch: int = 1) -> Reader:
    """Read with the exported model through onnxruntime, fed as the engine feeds PP-OCR."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def read(images: list[np.ndarray]) -> list[str]:
        out = [""] * len(images)
        for idx in _by_width(images, batch):
            width = max(images[i].shape[1] for i in idx)
            x = np.zeros((len(idx), 3, images[idx[0]].shape[0], width), dtype=np.float32)
            for j, i in enumerate(idx):
                x[j, :, :, : images[i].shape[1]] = images[i][None].astype(np.float32) / 127.5 - 1
            probs = sess.run(None, {name: x})[0]
            for j, i in enumerate(idx):
                out[i] = decode(probs[j].argmax(-1))
        return out

    return read


def tesseract_reader() -> Reader:
    """The engine's Hangul route: `TesseractLines` (kor+chi_tra, PSM 7) with the engine config."""
    import cv2

    from docuocr.engine.config import load_config
    from docuocr.engine.hangul import TesseractLines

    tess = TesseractLines(load_config()["hangul"])

    def read(images: list[np.ndarray]) -> list[str]:
        out = []
        for img in images:
            pieces = tess(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))
            out.append(
                "".join(
                    (" " if p.space_before and k else "") + p.text for k, p in enumerate(pieces)
                )
            )
        return out

    return read


def score(read: Reader, items: list[evalset.Item]) -> dict[str, float]:
    """CER clean/degraded (spaces removed and kept) and milliseconds per line."""
    refs = [it.text for it in items]
    t = time.perf_counter()
    clean = read([it.clean for it in items])
    degraded = read([it.degraded for it in items])
    ms = (time.perf_counter() - t) * 1000 / (2 * len(items))
    return {
        "cer_clean": cer(clean, refs),
        "cer_degraded": cer(degraded, refs),
        "cer_clean_spaces": cer(clean, refs, spaces=True),
        "cer_degraded_spaces": cer(degraded, refs, spaces=True),
        "ms_per_line": ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, help="a train.py checkpoint (.pt)")
    ap.add_argument("--onnx", type=Path, help="an exported model (.onnx)")
    ap.add_argument(
        "--tesseract", action="store_true", help="also score Tesseract on the same lines"
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N lines")
    ap.add_argument("--batch", type=int, default=1, help="lines per forward pass (ONNX)")
    args = ap.parse_args()
    items = evalset.load(evalset.ensure(train_dir() / "evalset"))
    if args.limit:
        items = items[: args.limit]
    readers: list[tuple[str, Reader]] = []
    if args.checkpoint:
        from training.korean.train import load_model

        readers.append((f"checkpoint {args.checkpoint}", torch_reader(load_model(args.checkpoint))))
    if args.onnx:
        readers.append(
            (f"onnx {args.onnx} (batch {args.batch})", onnx_reader(args.onnx, args.batch))
        )
    if args.tesseract:
        readers.append(("tesseract kor+chi_tra psm 7", tesseract_reader()))
    print(f"{len(items)} lines; CER with spaces removed (with spaces in brackets)")
    for name, read in readers:
        s = score(read, items)
        print(
            f"{name}: clean {s['cer_clean']:.2%} ({s['cer_clean_spaces']:.2%}), "
            f"degraded {s['cer_degraded']:.2%} ({s['cer_degraded_spaces']:.2%}), "
            f"{s['ms_per_line']:.1f} ms/line"
        )


if __name__ == "__main__":
    main()
