"""Train or resume the text-line detector (DBNet) on crops of synthetic pages, optionally mixed with
real-document pages (``--documents DIR --real-share F``: that share of the pages from the train
split of a folder written by ``make documents``, captured like rendered pages).

This module holds what is the detector's own: its defaults, its data (crops of pages), DB's loss
with the differentiable binarisation it trains through, and its validation (F1 of detection on
fixed synthetic pages and, with ``--documents``, on up to ``--real-val-pages`` pages of its
validation split, as rendered from their PDFs); the loop is ``model.training.loop``'s. Writes
``<run>/last.pt`` every ``--checkpoint-every`` steps and ``<run>/best.pt`` whenever validation F1
(the mean of the two with ``--documents``) improves; the same command resumes from ``last.pt``.
Uses CUDA when present, else the CPU.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from model.inference.checkpoint import load_detector
from model.inference.config import DetectorConfig, ReaderConfig
from model.inference.dbnet import DBNet
from model.inference.detection import detect
from model.synth import alphabet
from model.synth.fonts import FontFace, discover_fonts
from model.synth.pages import Page
from model.training import loop
from model.training.checkpoint import save_detector
from model.training.detection_metrics import DetectionMeter, outside
from model.training.documents import TRAIN, VALIDATION
from model.training.page_data import VALIDATION_SEED, PageCrops, validation_pages
from model.training.real_lines import read_manifest
from model.training.real_pages import RealPages

log = logging.getLogger("train")

# Steepness of the differentiable binarisation (DB's value).
DB_STEEPNESS = 50.0
# DB's loss weights: binary map (dice) and threshold map (L1) beside the kernel map (BCE).
BINARY_WEIGHT = 1.0
THRESHOLD_WEIGHT = 10.0
# Hard negative mining keeps at most this many background pixels per text pixel.
NEGATIVE_RATIO = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    loop.add_common_arguments(
        parser,
        run=Path("runs/detector"),
        steps=20_000,
        batch_size=8,
        lr=2e-3,
        warmup=200,
        val_every=250,
        checkpoint_every=100,
        log_every=25,
    )
    parser.add_argument("--size", type=int, default=640, help="side of the square training crops")
    parser.add_argument("--crops-per-page", type=int, default=4, help="crops cut from each rendered page")
    parser.add_argument("--val-pages", type=int, default=40, help="synthetic validation pages")
    loop.add_documents_arguments(parser, "pages")
    parser.add_argument(
        "--real-val-pages", type=int, default=60, help="most --documents validation pages to validate on"
    )
    return loop.parse_documents_arguments(parser, argv)


def binarise(logits: torch.Tensor) -> torch.Tensor:
    """DB's approximate binary map from the two predicted maps: a steep sigmoid of kernel probability
    minus threshold, differentiable where a hard threshold is not (training only; serving thresholds
    the kernel probability)."""
    probability, threshold = logits[:, 0].sigmoid(), logits[:, 1].sigmoid()
    return torch.sigmoid(DB_STEEPNESS * (probability - threshold))


def db_loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """DB's loss of ``logits`` (N, 2, H, W) against the batch's target maps, and its three parts."""
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


def evaluate(model: DBNet, pages: list[Page], device: torch.device) -> DetectionMeter:
    """Detections on ``pages`` (with the served post-processing) against their lines, detections
    mostly inside a page's ignored boxes left out; ``model`` in eval mode."""
    meter = DetectionMeter()
    settings = ReaderConfig()

    def run(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(device)).cpu()

    for page in pages:
        detections, _ = detect(run, page.image, model.config, settings)
        meter.add(outside([d.box for d in detections], page.ignore), [line.box for line in page.lines])
    return meter


def fixed_real_pages(pages: RealPages, count: int, seed: int = VALIDATION_SEED) -> list[Page]:
    """A reproducible subset of at most ``count`` pages, as rendered (no capture)."""
    return [pages.page(i) for i in pages.fixed(count, seed)]


class DetectorTask:
    """The detector as a ``loop.Task``."""

    best_key = "best_f1"
    lr_floor = 0.02
    unit = "crops"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.fonts: list[FontFace] = []
        self.validation: list[Page] = []
        self.real_validation: list[Page] = []
        self.real_train: RealPages | None = None
        # What the checkpoint records of the documents folder (empty without --documents).
        self.documents: dict[str, Any] = {}

    def load(self, source: Path | None) -> tuple[DBNet, dict[str, Any]]:
        return load_detector(source) if source else (DBNet(DetectorConfig()), {})

    def prepare(self, model: DBNet) -> None:
        self.config = model.config
        self.fonts = discover_fonts(alphabet.current())
        log.info("%d fonts (%d CJK)", len(self.fonts), sum(f.cjk for f in self.fonts))
        self.validation = validation_pages(self.fonts, self.args.val_pages)
        if self.args.documents is not None:
            self.real_validation = fixed_real_pages(
                RealPages(self.args.documents, VALIDATION), self.args.real_val_pages
            )
            if self.args.real_share:
                self.real_train = RealPages(self.args.documents, TRAIN)
            log.info(
                "documents %s: %d train pages (share %.2f, %d left out), validating on %d pages",
                self.args.documents,
                len(self.real_train or ()),
                self.args.real_share,
                self.real_train.left_out if self.real_train else 0,
                len(self.real_validation),
            )
            self.documents = {
                "folder": str(self.args.documents),
                "real_share": self.args.real_share,
                "manifest": read_manifest(self.args.documents),
            }

    def batches(self, seed: int) -> PageCrops:
        return PageCrops(
            self.fonts,
            self.config,
            seed=seed,
            batch_size=self.args.batch_size,
            size=self.args.size,
            crops_per_page=self.args.crops_per_page,
            real=self.real_train,
            real_share=self.args.real_share,
        )

    def forward(self, model: DBNet, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        return model(batch["images"].to(device))

    def loss(
        self, outputs: torch.Tensor, batch: dict[str, Any], device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        targets = {name: value.to(device) for name, value in batch.items() if name != "images"}
        return db_loss(outputs, targets)

    def validate(self, model: DBNet, device: torch.device) -> tuple[float, str]:
        meter = evaluate(model, self.validation, device)
        message = f"precision {meter.precision:.4f} recall {meter.recall:.4f} f1 {meter.f1:.4f}"
        # Turned pages apart: they are few, and a detector that breaks their lines into characters
        # hardly moves the overall F1 (session 9's first real-page run did).
        turned = [page for page in self.validation if page.rotation]
        if turned:
            message += f" (turned pages f1 {evaluate(model, turned, device).f1:.4f})"
        if not self.real_validation:
            return meter.f1, message
        real = evaluate(model, self.real_validation, device)
        message += f"; documents precision {real.precision:.4f} recall {real.recall:.4f} f1 {real.f1:.4f}"
        return (meter.f1 + real.f1) / 2, message

    def save(self, path: Path, model: DBNet, extra: dict[str, Any]) -> None:
        if self.documents:  # the real data a run saw travels with its weights
            extra = {**extra, "documents": self.documents}
        save_detector(path, model, extra)


def main(args: argparse.Namespace) -> None:
    loop.run(DetectorTask(args), args)


if __name__ == "__main__":
    main(parse_args())
