"""The training loop that the recogniser (``model.training.recogniser``) and the detector
(``model.training.detector``) share, and the command-line arguments they have in common.

A model's module describes itself as a ``Task``: how its network is built or loaded and saved, its
data, its loss and its validation. ``train`` does the rest, the same way for both: device and
precision, resuming from ``<run>/last.pt`` (or starting from ``--init``), AdamW with its state
resumed, the warm-up + cosine learning rate, logging, validation with ``<run>/best.pt``, the periodic
``<run>/last.pt``, the time limit, and the log file ``<run>/train.log``.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader, IterableDataset

from model.inference.crnn import count_parameters

# Both trainers log here; ``run`` attaches the run's log file to this logger.
log = logging.getLogger("train")
LOG_FORMAT = "%(asctime)s %(message)s"


class Task(Protocol):
    """One model's part of training; ``train`` calls these in this order."""

    # Checkpoint key of the best validation score so far ("best_char_accuracy", "best_f1").
    best_key: str
    # The cosine schedule ends at this share of the peak learning rate.
    lr_floor: float
    # What one batch item is, for the throughput in the log ("lines", "crops").
    unit: str

    def load(self, source: Path | None) -> tuple[torch.nn.Module, dict[str, Any]]:
        """The model from the checkpoint ``source`` and that checkpoint, or a new model and ``{}``."""
        ...

    def prepare(self, model: torch.nn.Module) -> None:
        """Get ready to train ``model`` (already on its device): fonts, the fixed validation set."""
        ...

    def batches(self, seed: int) -> IterableDataset:
        """The endless stream of training batches drawn from ``seed``."""
        ...

    def forward(self, model: torch.nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """The model's output for ``batch`` (run under autocast)."""
        ...

    def loss(
        self, outputs: torch.Tensor, batch: dict[str, Any], device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of the (float32) ``outputs`` and its named parts to log beside it."""
        ...

    def validate(self, model: torch.nn.Module, device: torch.device) -> tuple[float, str]:
        """The score that picks ``best.pt`` (higher is better) and a line for the log. ``model`` is in
        eval mode, under ``torch.no_grad``."""
        ...

    def save(self, path: Path, model: torch.nn.Module, extra: dict[str, Any]) -> None:
        """Write a checkpoint of ``model`` holding ``extra`` (step, best score, optimiser state)."""
        ...


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    run: Path,
    steps: int,
    batch_size: int,
    lr: float,
    warmup: int,
    val_every: int,
    checkpoint_every: int,
    log_every: int,
) -> None:
    """Add the arguments of ``train`` to ``parser``, with a model's own defaults."""
    parser.add_argument("--run", type=Path, default=run, help="run folder (checkpoints, log)")
    parser.add_argument("--init", type=Path, help="start from these weights when the run has no checkpoint")
    parser.add_argument("--steps", type=int, default=steps, help="total optimiser steps of the schedule")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=warmup, help="steps of linear warm-up")
    parser.add_argument("--workers", type=int, default=1, help="rendering processes (0: render in this one)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: library default)")
    parser.add_argument("--val-every", type=int, default=val_every)
    parser.add_argument("--checkpoint-every", type=int, default=checkpoint_every)
    parser.add_argument("--log-every", type=int, default=log_every)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="auto: bfloat16 autocast where the hardware computes it natively (recent CUDA GPUs, CPUs with "
        "AVX-512 BF16 or AMX), else float32",
    )
    parser.add_argument("--max-minutes", type=float, default=0, help="stop (after a checkpoint) after this long")


def add_documents_arguments(parser: argparse.ArgumentParser, unit: str) -> None:
    """``--documents`` and ``--real-share``: real ``unit`` (lines, pages) from a `make documents`
    folder beside the synthetic ones; ``parse_documents_arguments`` checks them."""
    parser.add_argument(
        "--documents",
        type=Path,
        help=f"a folder written by `make documents`: real {unit} to validate on (and train on)",
    )
    parser.add_argument(
        "--real-share",
        type=float,
        default=0.0,
        help=f"share of training {unit} drawn from --documents' train split, captured like rendered ones (0: none)",
    )


def parse_documents_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser``'s arguments, with those of ``add_documents_arguments`` checked."""
    args = parser.parse_args(argv)
    if not 0.0 <= args.real_share <= 1.0:
        parser.error("--real-share must be within [0, 1]")
    if args.real_share and args.documents is None:
        parser.error("--real-share needs --documents")
    return args


def learning_rate(step: int, args: argparse.Namespace, floor: float) -> float:
    """Linear warm-up over --warmup steps, then cosine decay to ``floor`` times the peak at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def data_loader(stream: IterableDataset, workers: int) -> DataLoader:
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


def run(task: Task, args: argparse.Namespace) -> None:
    """``train(task, args)`` with its log also written to ``<args.run>/train.log``. The file is
    attached to this module's logger, not the root, so that it is written even when the caller (a
    test, a notebook) has configured logging already."""
    args.run.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    log_file = logging.FileHandler(args.run / "train.log")
    log_file.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(log_file)
    log.setLevel(logging.INFO)
    try:
        train(task, args)
    finally:
        log.removeHandler(log_file)
        log_file.close()


def train(task: Task, args: argparse.Namespace) -> None:
    """Train ``task``'s model up to --steps, resuming from ``<args.run>/last.pt`` when it exists."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = use_bfloat16(args.precision, device)
    last = args.run / "last.pt"
    source = last if last.exists() else args.init
    model, payload = task.load(source)
    if source:
        log.info("loaded %s (step %s)", source, payload.get("step", 0))
    # --init gives weights only: its step, best score and optimiser belong to another run.
    resumed = source == last
    step = payload.get("step", 0) if resumed else 0
    best = payload.get(task.best_key, -1.0) if resumed else -1.0
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    if resumed and "optimiser" in payload:
        optimiser.load_state_dict(payload["optimiser"])
    log.info(
        "device %s (%s), %.2fM parameters, step %d",
        device,
        "bfloat16 autocast" if bf16 else "float32",
        count_parameters(model) / 1e6,
        step,
    )
    task.prepare(model)
    # A fresh data seed per (re)start, so a resumed run does not replay the data it has seen.
    loader = data_loader(task.batches(args.seed * 1_000_003 + step), args.workers)

    def checkpoint(path: Path) -> None:
        task.save(path, model, {"step": step, task.best_key: best, "optimiser": optimiser.state_dict()})

    started = time.monotonic()
    totals: dict[str, float] = {}
    window_start = time.monotonic()
    for batch in loader:
        if step >= args.steps:
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, args, task.lr_floor)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = task.forward(model, batch, device)
        loss, parts = task.loss(outputs.float(), batch, device)  # the loss in float32 whatever the autocast
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        step += 1
        for name, value in {"loss": loss.item(), **parts}.items():
            totals[name] = totals.get(name, 0.0) + value
        if step % args.log_every == 0:
            elapsed = time.monotonic() - window_start
            log.info(
                "step %d %s lr %.2e %.2f s/step %.1f %s/s",
                step,
                " ".join(f"{name} {total / args.log_every:.4f}" for name, total in totals.items()),
                learning_rate(step, args, task.lr_floor),
                elapsed / args.log_every,
                args.log_every * args.batch_size / elapsed,
                task.unit,
            )
            totals, window_start = {}, time.monotonic()
        if step % args.val_every == 0:
            model.eval()
            with torch.no_grad():
                score, message = task.validate(model, device)
            model.train()
            log.info("step %d validation %s", step, message)
            if score > best:
                best = score
                checkpoint(args.run / "best.pt")
        out_of_time = args.max_minutes and time.monotonic() - started > args.max_minutes * 60
        if step % args.checkpoint_every == 0 or out_of_time:
            checkpoint(last)
        if out_of_time:
            log.info("time limit reached at step %d", step)
            break
    checkpoint(last)
