"""Train the Korean CRNN on this machine's CPU; resumable, SIGTERM-safe, pause-tolerant.

    nohup taskset -c 1 .venv/bin/python -m training.korean.train > /work/korean-train/train.log 2>&1 &

State lives in $DOCUOCR_TRAIN_DIR (default /work/korean-train): `last.pt` (model, optimiser,
counters and every RNG state, written every few minutes and on SIGTERM/SIGINT), `best.pt` (best
mean CER so far), `learning_curve.csv` (one row per evaluation on the fixed set) and `evalset/`.
A new run resumes from `last.pt`. The learning rate is a function of samples seen, so it is the
same schedule however the run is split into sessions. Minutes are CPU minutes of this process
(SIGSTOP pauses do not count); wall-clock time only paces logging, evaluation and saving.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import torch

from training.korean import charset, data, evalset, model
from training.korean.evaluate import score, torch_reader
from training.korean.paths import train_dir

CURVE_FIELDS = [
    "step", "samples", "minutes", "cer_clean", "cer_degraded", "cer_clean_spaces",
    "cer_degraded_spaces", "loss", "lr", "time",
]  # fmt: skip


@dataclass
class State:
    step: int = 0
    samples: int = 0
    cpu_seconds: float = 0.0
    best: float = math.inf


@dataclass
class Config:
    size: str = "xs"
    batch: int = 32
    lr: float = 1e-3
    warmup_samples: int = 20_000
    total_samples: int = 5_000_000  # cosine decay length; the rate then stays at its floor
    floor: float = 0.05
    weight_decay: float = 0.01
    eval_minutes: float = 10.0
    save_minutes: float = 5.0
    log_seconds: float = 60.0
    max_minutes: float = 0.0  # stop after this many CPU minutes in this session (0 = never)
    stop_samples: int = 0  # evaluate, save and stop once this many samples are seen (0 = never)
    seed: int = 0


def learning_rate(cfg: Config, samples: int) -> float:
    """Linear warm-up, then cosine to `floor`×lr over `total_samples`; a function of samples only."""
    warm = min(1.0, (samples + 1) / cfg.warmup_samples)
    progress = min(1.0, samples / cfg.total_samples)
    return cfg.lr * warm * (cfg.floor + (1 - cfg.floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def new_model(size: str) -> model.CRNN:
    return model.build(len(charset.load()), size).to(memory_format=torch.channels_last)


def load_model(path: Path) -> model.CRNN:
    """The network of a checkpoint, in eval mode."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if tuple(ckpt["charset"]) != charset.load():
        raise ValueError(f"{path}: trained with a different charset.txt")
    net = new_model(ckpt["config"]["size"])
    net.load_state_dict(ckpt["model"])
    return net.eval()


def save(path: Path, net, opt, state: State, cfg: Config, lines: data.Lines) -> None:
    """Atomic write: a SIGKILL mid-save leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "state": asdict(state),
            "config": asdict(cfg),
            "charset": list(charset.load()),
            "rng": {
                "data": lines.rng.getstate(),
                "torch": torch.get_rng_state(),
                "python": random.getstate(),
            },
        },
        tmp,
    )
    os.replace(tmp, path)


def append_curve(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CURVE_FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def parse() -> Config:
    cfg = Config()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in asdict(cfg).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    return Config(**vars(ap.parse_args()))


def main() -> None:
    cfg = parse()
    torch.set_num_threads(1)
    root = train_dir()
    (root / "train.pid").write_text(f"{os.getpid()}\n")  # for SIGSTOP/SIGCONT/SIGTERM by others
    items = evalset.load(evalset.ensure(root / "evalset"))
    last, best_path, curve = root / "last.pt", root / "best.pt", root / "learning_curve.csv"

    state = State()
    net = new_model(cfg.size)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    lines = data.Lines(cfg.seed)
    if last.exists():
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        if tuple(ckpt["charset"]) != charset.load():
            raise SystemExit(f"{last} was trained with another charset; move it away to start over")
        saved = ckpt["config"]
        if saved["size"] != cfg.size:
            print(f"resuming a '{saved['size']}' model (not '{cfg.size}')", flush=True)
            cfg.size = saved["size"]
            net = new_model(cfg.size)
            opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state = State(**ckpt["state"])
        lines.rng.setstate(ckpt["rng"]["data"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        random.setstate(ckpt["rng"]["python"])
        print(f"resumed {last}: step {state.step}, {state.samples} samples", flush=True)
    params = sum(p.numel() for p in net.parameters())
    print(f"model {model.describe(cfg.size)}: {params / 1e6:.2f} M parameters, "
          f"{len(charset.load())} classes; config {asdict(cfg)}", flush=True)  # fmt: skip

    stop = {"flag": False}

    def on_signal(signum, _frame) -> None:
        print(f"signal {signum}: saving and stopping", flush=True)
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    batches = lines.batches(cfg.batch)
    session_cpu0 = time.process_time()
    cpu_mark = time.process_time()
    wall_log = wall_eval = wall_save = time.monotonic()
    log_samples, log_cpu, loss_sum, loss_n = state.samples, cpu_mark, 0.0, 0
    recent = 0.0  # mean loss of the last logging interval
    while True:
        lines.samples = state.samples
        batch = next(batches)
        lr = learning_rate(cfg, state.samples)
        for group in opt.param_groups:
            group["lr"] = lr
        net.train()
        logits = net(batch.images.contiguous(memory_format=torch.channels_last))
        log_probs = logits.log_softmax(-1).transpose(0, 1)  # (T, B, C)
        steps = torch.full((log_probs.shape[1],), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, batch.targets, steps, batch.target_lengths)
        if torch.isfinite(loss):
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            loss_sum += loss.item()
            loss_n += 1
        state.step += 1
        state.samples += len(batch.texts)
        now_cpu = time.process_time()
        state.cpu_seconds += now_cpu - cpu_mark
        cpu_mark = now_cpu

        now = time.monotonic()
        if now - wall_log >= cfg.log_seconds:
            rate = (state.samples - log_samples) / max(1e-9, now_cpu - log_cpu)
            print(f"{datetime.now():%H:%M:%S} step {state.step} samples {state.samples} "
                  f"cpu {state.cpu_seconds / 60:.1f} min  {rate:.1f} samples/s  "
                  f"loss {loss_sum / max(1, loss_n):.3f}  lr {lr:.2e}", flush=True)  # fmt: skip
            recent = loss_sum / max(1, loss_n)
            wall_log, log_samples, log_cpu, loss_sum, loss_n = now, state.samples, now_cpu, 0.0, 0
        reached = bool(cfg.stop_samples) and state.samples >= cfg.stop_samples
        if now - wall_eval >= cfg.eval_minutes * 60 or reached:
            s = score(torch_reader(net), items)
            append_curve(curve, {
                "step": state.step, "samples": state.samples,
                "minutes": round(state.cpu_seconds / 60, 2),
                **{k: round(v, 5) for k, v in s.items() if k.startswith("cer")},
                "loss": round(recent, 4), "lr": f"{lr:.3e}",
                "time": datetime.now().isoformat(timespec="seconds"),
            })  # fmt: skip
            print(f"eval: clean {s['cer_clean']:.2%} degraded {s['cer_degraded']:.2%} "
                  f"({s['ms_per_line']:.1f} ms/line)", flush=True)  # fmt: skip
            mean = (s["cer_clean"] + s["cer_degraded"]) / 2
            if mean < state.best:
                state.best = mean
                save(best_path, net, opt, state, cfg, lines)
            cpu_mark = time.process_time()  # evaluation time is not training time
            wall_eval = time.monotonic()
        session_minutes = (time.process_time() - session_cpu0) / 60
        done = stop["flag"] or reached or (cfg.max_minutes and session_minutes >= cfg.max_minutes)
        if done or now - wall_save >= cfg.save_minutes * 60:
            save(last, net, opt, state, cfg, lines)
            wall_save = time.monotonic()
        if done:
            print(f"saved {last} at step {state.step}; stopping", flush=True)
            return


if __name__ == "__main__":
    main()
