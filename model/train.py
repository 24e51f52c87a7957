"""Train or resume the CRNN on synthetic lines.

Writes ``<run>/last.pt`` every ``--checkpoint-every`` steps and ``<run>/best.pt`` whenever synthetic
validation character accuracy improves; running the same command again resumes from ``last.pt``.
Uses CUDA when present, else the CPU.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from model.charset import Charset
from model.checkpoint import build_model, grow_charset, load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.dataset import VALIDATION_SEED, SyntheticBatches, collate, fixed_samples
from model.decoding import greedy_decode
from model.metrics import AccuracyMeter
from model.network import count_parameters
from model.synth.fonts import discover_fonts

log = logging.getLogger("train")
LOG_FORMAT = "%(asctime)s %(message)s"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/crnn"), help="run folder (checkpoints, log)")
    parser.add_argument("--init", type=Path, help="start from these weights when the run has no checkpoint")
    parser.add_argument("--steps", type=int, default=200_000, help="total optimiser steps of the schedule")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="rendering processes")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: library default)")
    parser.add_argument("--val-size", type=int, default=500)
    parser.add_argument("--val-every", type=int, default=500)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--degradation", type=float, default=1.0, help="how often capture artefacts are applied to training lines (0-1)"
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="auto: bfloat16 autocast where the hardware computes it natively (recent CUDA GPUs, CPUs with "
        "AVX-512 BF16 or AMX), else float32",
    )
    parser.add_argument("--max-minutes", type=float, default=0, help="stop (after a checkpoint) after this long")
    return parser.parse_args(argv)


def learning_rate(step: int, args: argparse.Namespace, floor: float = 0.05) -> float:
    """Linear warm-up over --warmup steps, then cosine decay to ``floor`` times the peak at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def data_loader(stream: torch.utils.data.IterableDataset, workers: int) -> DataLoader:
    """Batches rendered by ``workers`` processes (0: in this one). Spawned, not forked: a fork
    inherits OpenCV's and OpenMP's thread pools mid-use from the validation rendering that precedes
    training, and the worker can hang on them (it did, in both trainers). Not persistent: the stream
    is endless and read once, and a persistent worker outlived the loop and was aborted at exit."""
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        multiprocessing_context="spawn" if workers else None,
    )


def run_logged(train: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> None:
    """``train(args)`` with its log also written to ``<args.run>/train.log``. The file is attached to
    this module's logger, not the root, so that it is written even when the caller (a test, a
    notebook) has configured logging already."""
    args.run.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    log_file = logging.FileHandler(args.run / "train.log")
    log_file.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(log_file)
    log.setLevel(logging.INFO)
    try:
        train(args)
    finally:
        log.removeHandler(log_file)
        log_file.close()


def use_bfloat16(precision: str, device: torch.device) -> bool:
    """Whether to train under bfloat16 autocast (weights and optimiser stay float32). On a CPU with
    native BF16 a training step takes ~0.6x the float32 time; where BF16 is emulated it is slower."""
    if precision != "auto":
        return precision == "bfloat16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # private probe: absent on some builds
        return False


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, samples: list, charset: Charset, device: torch.device, batch_size: int = 64
) -> AccuracyMeter:
    model.eval()
    meter = AccuracyMeter()
    for start in range(0, len(samples), batch_size):
        batch = collate(samples[start : start + batch_size])
        probs = model(batch["images"].to(device), batch["widths"]).softmax(-1).cpu().numpy()
        for p, frames, text in zip(probs, batch["frame_lengths"].tolist(), batch["texts"]):
            meter.add(greedy_decode(p[:frames], charset).text, text)
    model.train()
    return meter


def main(args: argparse.Namespace) -> None:
    run_logged(train, args)


def train(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = use_bfloat16(args.precision, device)
    last = args.run / "last.pt"
    source = last if last.exists() else args.init
    if source:
        model, charset, payload = load_checkpoint(source)
        log.info("loaded %s (step %s)", source, payload.get("step", 0))
        alphabet = Charset.default()
        if charset.chars != alphabet.chars:  # weights of an older alphabet start this run
            model, charset = grow_charset(model, charset, alphabet), alphabet
            log.info("grew the classifier to charset %s (%d classes)", charset.version, charset.num_classes)
    else:
        charset, payload = Charset.default(), {}
        model = build_model(ModelConfig(), charset)
    resumed = source == last
    step = payload.get("step", 0) if resumed else 0
    best = payload.get("best_char_accuracy", -1.0) if resumed else -1.0
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    if resumed and "optimiser" in payload:
        optimiser.load_state_dict(payload["optimiser"])
    log.info(
        "device %s (%s), %.2fM parameters, %d classes, step %d",
        device,
        "bfloat16 autocast" if bf16 else "float32",
        count_parameters(model) / 1e6,
        charset.num_classes,
        step,
    )

    fonts = discover_fonts(charset)
    log.info("%d fonts (%d CJK)", len(fonts), sum(f.cjk for f in fonts))
    preprocess_config = model.config.preprocess
    validation = fixed_samples(charset, fonts, preprocess_config, VALIDATION_SEED, args.val_size)
    # A fresh data seed per (re)start, so a resumed run does not replay the lines it has seen.
    stream = SyntheticBatches(
        charset,
        fonts,
        preprocess_config,
        seed=args.seed * 1_000_003 + step,
        batch_size=args.batch_size,
        degradation=args.degradation,
    )
    loader = data_loader(stream, args.workers)

    def checkpoint(path: Path) -> None:
        save_checkpoint(
            path, model, charset, {"step": step, "best_char_accuracy": best, "optimiser": optimiser.state_dict()}
        )

    started = time.monotonic()
    window_loss, window_start = 0.0, time.monotonic()
    for batch in loader:
        if step >= args.steps:
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, args)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch["images"].to(device), batch["widths"])
        log_probs = logits.float().log_softmax(-1).permute(1, 0, 2)  # T, N, C for CTC, in float32
        loss = F.ctc_loss(
            log_probs,
            batch["targets"].to(device),
            batch["frame_lengths"],
            batch["target_lengths"],
            blank=0,
            zero_infinity=True,
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        step += 1
        window_loss += loss.item()
        if step % args.log_every == 0:
            elapsed = time.monotonic() - window_start
            log.info(
                "step %d loss %.4f lr %.2e %.1f lines/s",
                step,
                window_loss / args.log_every,
                learning_rate(step, args),
                args.log_every * args.batch_size / elapsed,
            )
            window_loss, window_start = 0.0, time.monotonic()
        if step % args.val_every == 0:
            meter = evaluate(model, validation, charset, device)
            log.info("step %d validation char_acc %.4f line_acc %.4f", step, meter.char_accuracy, meter.line_accuracy)
            if meter.char_accuracy > best:
                best = meter.char_accuracy
                checkpoint(args.run / "best.pt")
        out_of_time = args.max_minutes and time.monotonic() - started > args.max_minutes * 60
        if step % args.checkpoint_every == 0 or out_of_time:
            checkpoint(last)
        if out_of_time:
            log.info("time limit reached at step %d", step)
            break
    checkpoint(last)


if __name__ == "__main__":
    main(parse_args())
