"""Train or resume the text-line detector on crops of synthetic pages.

Writes ``<run>/last.pt`` every ``--checkpoint-every`` steps and ``<run>/best.pt`` whenever the F1 of
detection on the fixed synthetic validation pages improves; the same command resumes from
``last.pt``. Uses CUDA when present, else the CPU.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from model.charset import Charset
from model.config import DetectorConfig
from model.detector.checkpoint import load_detector, save_detector
from model.detector.data import PageCrops, validation_pages
from model.detector.inference import detect
from model.detector.metrics import DetectionMeter
from model.detector.network import DBNet, binarise
from model.network import count_parameters
from model.synth.fonts import discover_fonts
from model.train import data_loader, learning_rate, run_logged, use_bfloat16

log = logging.getLogger("train")

# DB's loss weights: binary map (dice) and threshold map (L1) beside the kernel map (BCE).
BINARY_WEIGHT = 1.0
THRESHOLD_WEIGHT = 10.0
# Hard negative mining keeps at most this many background pixels per text pixel.
NEGATIVE_RATIO = 3
# The cosine schedule ends at this share of the peak learning rate.
LR_FLOOR = 0.02


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/detector"))
    parser.add_argument("--init", type=Path, help="start from these weights when the run has no checkpoint")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=640, help="side of the square training crops")
    parser.add_argument("--crops-per-page", type=int, default=4, help="crops cut from each rendered page")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--val-pages", type=int, default=40)
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto")
    parser.add_argument("--max-minutes", type=float, default=0)
    return parser.parse_args(argv)


def db_loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    kernel, mask = batch["kernel"], batch["kernel_mask"]
    pixel = F.binary_cross_entropy_with_logits(logits[:, 0], kernel, reduction="none")
    positive = kernel * mask
    negative = (1 - kernel) * mask
    n_pos = int(positive.sum().item())
    n_neg = min(int(negative.sum().item()), max(n_pos, 1) * NEGATIVE_RATIO)
    hard = torch.topk((pixel * negative).flatten(), n_neg).values if n_neg else pixel.new_zeros(1)
    kernel_loss = ((pixel * positive).sum() + hard.sum()) / (n_pos + n_neg + 1e-6)
    binary = binarise(logits)
    dice = 1 - 2 * (binary * kernel * mask).sum() / ((binary * mask).sum() + (kernel * mask).sum() + 1e-6)
    tmask = batch["threshold_mask"]
    threshold_loss = ((logits[:, 1].sigmoid() - batch["threshold"]).abs() * tmask).sum() / (tmask.sum() + 1e-6)
    loss = kernel_loss + BINARY_WEIGHT * dice + THRESHOLD_WEIGHT * threshold_loss
    return loss, {"kernel": kernel_loss.item(), "dice": dice.item(), "threshold": threshold_loss.item()}


def evaluate(model: DBNet, pages: list, device: torch.device) -> DetectionMeter:
    model.eval()
    meter = DetectionMeter()
    cpu_model = model if device.type == "cpu" else None

    def run(x: torch.Tensor) -> torch.Tensor:
        return (cpu_model or model)(x.to(device)).cpu()

    for page in pages:
        detections, _ = detect(run, page.image, model.config)
        meter.add([d.box for d in detections], [line.box for line in page.lines])
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
        model, payload = load_detector(source)
        log.info("loaded %s (step %s)", source, payload.get("step", 0))
    else:
        model, payload = DBNet(DetectorConfig()), {}
    resumed = source == last
    step = payload.get("step", 0) if resumed else 0
    best = payload.get("best_f1", -1.0) if resumed else -1.0
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    if resumed and "optimiser" in payload:
        optimiser.load_state_dict(payload["optimiser"])
    log.info(
        "device %s (%s), %.2fM parameters, step %d",
        device,
        "bfloat16" if bf16 else "float32",
        count_parameters(model) / 1e6,
        step,
    )
    fonts = discover_fonts(Charset.default())
    validation = validation_pages(fonts, args.val_pages)
    stream = PageCrops(
        fonts,
        model.config,
        seed=args.seed * 1_000_003 + step,
        batch_size=args.batch_size,
        size=args.size,
        crops_per_page=args.crops_per_page,
    )
    loader = data_loader(stream, args.workers)

    def checkpoint(path: Path) -> None:
        save_detector(path, model, {"step": step, "best_f1": best, "optimiser": optimiser.state_dict()})

    started = time.monotonic()
    totals: dict[str, float] = {}
    window_start = time.monotonic()
    for batch in loader:
        if step >= args.steps:
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, args, LR_FLOOR)
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch["images"])
        loss, parts = db_loss(logits.float(), batch)
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
                "step %d %s lr %.2e %.2f s/step",
                step,
                " ".join(f"{k} {v / args.log_every:.4f}" for k, v in totals.items()),
                learning_rate(step, args, LR_FLOOR),
                elapsed / args.log_every,
            )
            totals, window_start = {}, time.monotonic()
        if step % args.val_every == 0:
            meter = evaluate(model, validation, device)
            log.info(
                "step %d validation precision %.4f recall %.4f f1 %.4f", step, meter.precision, meter.recall, meter.f1
            )
            if meter.f1 > best:
                best = meter.f1
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
