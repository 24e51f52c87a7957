"""Train or resume the CRNN on synthetic lines, optionally mixed with real document and plate lines.

This module holds what is the recogniser's own: its defaults, its data (rendered lines, and with
``--documents DIR --real-share F`` that share of each batch pool from the train split of a folder
written by ``make documents``, with ``--plates DIR --plate-share F`` that share from ``make
plates``' train split), its loss (CTC) and its validation (character accuracy on fixed synthetic
lines, which picks ``best.pt``, and with ``--documents`` on up to ``--real-val-size`` lines of the
folder's validation split beside it, with ``--plates`` on the plates' validation split); the loop is
``model.training.loop``'s.
Writes ``<run>/last.pt`` every ``--checkpoint-every`` steps and ``<run>/best.pt`` whenever
validation character accuracy improves; running the same command again resumes from ``last.pt``.
Weights of an older alphabet (``--init``) grow into the current one. Uses CUDA when present, else
the CPU.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from model.inference.charset import Charset
from model.inference.checkpoint import build_model, load_checkpoint
from model.inference.config import ModelConfig
from model.inference.crnn import CRNN
from model.inference.decoding import greedy_decode
from model.synth import alphabet
from model.synth.fonts import FontFace, discover_fonts
from model.training import loop
from model.training.checkpoint import grow_charset, save_checkpoint
from model.training.documents import TRAIN, VALIDATION
from model.training.line_data import VALIDATION_SEED, Sample, SyntheticBatches, collate, fixed_samples
from model.training.metrics import AccuracyMeter
from model.training.real_lines import PLATE_KIND, MixedBatches, RealLines, fixed_real_samples, read_manifest

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    loop.add_common_arguments(
        parser,
        run=Path("runs/crnn"),
        steps=200_000,
        batch_size=64,
        lr=1e-3,
        warmup=500,
        val_every=500,
        checkpoint_every=200,
        log_every=50,
    )
    parser.add_argument("--val-size", type=int, default=500, help="synthetic validation lines")
    parser.add_argument(
        "--degradation", type=float, default=1.0, help="how often capture artefacts are applied to training lines (0-1)"
    )
    loop.add_documents_arguments(parser, "lines")
    parser.add_argument(
        "--real-val-size", type=int, default=2000, help="most lines of --documents' validation split to validate on"
    )
    parser.add_argument(
        "--plates", type=Path, help="a folder written by `make plates`: plate lines to validate on (and train on)"
    )
    parser.add_argument(
        "--plate-share",
        type=float,
        default=0.0,
        help="share of training lines drawn from --plates' train split (0: none)",
    )
    args = loop.parse_documents_arguments(parser, argv)
    if not 0.0 <= args.plate_share <= 1.0 or args.real_share + args.plate_share > 1.0:
        parser.error("--plate-share must be within [0, 1] and, with --real-share, add up to at most 1")
    if args.plate_share and args.plates is None:
        parser.error("--plate-share needs --plates")
    return args


def evaluate(
    model: CRNN, samples: list[Sample], charset: Charset, device: torch.device, batch_size: int = 64
) -> AccuracyMeter:
    """Greedy readings of ``samples`` scored against their texts; ``model`` in eval mode."""
    meter = AccuracyMeter()
    for start in range(0, len(samples), batch_size):
        batch = collate(samples[start : start + batch_size])
        probs = model(batch["images"].to(device), batch["widths"]).softmax(-1).cpu().numpy()
        for p, frames, text in zip(probs, batch["frame_lengths"].tolist(), batch["texts"]):
            meter.add(greedy_decode(p[:frames], charset).text, text)
    return meter


class RecogniserTask:
    """The recogniser as a ``loop.Task``."""

    best_key = "best_char_accuracy"
    lr_floor = 0.05
    unit = "lines"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.charset = alphabet.current()
        self.fonts: list[FontFace] = []
        self.validation: list[Sample] = []
        self.real_validation: list[Sample] = []
        self.plate_validation: list[Sample] = []
        # Real line folders mixed into the synthetic stream, each with its share.
        self.real_train: list[tuple[RealLines, float]] = []
        # What the checkpoint records of the documents and plates folders (empty without them).
        self.documents: dict[str, Any] = {}
        self.plates: dict[str, Any] = {}

    def load(self, source: Path | None) -> tuple[CRNN, dict[str, Any]]:
        current = alphabet.current()
        if source is None:
            self.charset = current
            return build_model(ModelConfig(), current), {}
        model, self.charset, payload = load_checkpoint(source)
        if self.charset.chars != current.chars:  # weights of an older alphabet start this run
            model, old, self.charset = grow_charset(model, self.charset, current), self.charset, current
            log.info(
                "grew the classifier of %s from charset %s to %s (%d classes)",
                source,
                old.version,
                current.version,
                current.num_classes,
            )
        return model, payload

    def prepare(self, model: CRNN) -> None:
        self.preprocess_config = model.config.preprocess
        self.fonts = discover_fonts(self.charset)
        log.info(
            "%d classes, %d fonts (%d CJK)",
            self.charset.num_classes,
            len(self.fonts),
            sum(f.cjk for f in self.fonts),
        )
        self.validation = fixed_samples(
            self.charset, self.fonts, self.preprocess_config, VALIDATION_SEED, self.args.val_size
        )
        if self.args.documents is not None:
            self.prepare_documents(self.args.documents)
        if self.args.plates is not None:
            self.prepare_plates(self.args.plates)

    def prepare_documents(self, folder: Path) -> None:
        """Read the documents folder: its train split for the mixed stream (when --real-share), a fixed
        subset of its validation split, and the manifest the checkpoint will record."""
        validation = RealLines(folder, VALIDATION, self.charset)
        self.real_validation = fixed_real_samples(
            validation, self.preprocess_config, VALIDATION_SEED, self.args.real_val_size
        )
        skipped = {VALIDATION: validation.skipped}
        train = None
        if self.args.real_share:
            train = RealLines(folder, TRAIN, self.charset)
            skipped[TRAIN] = train.skipped
            self.real_train.append((train, self.args.real_share))
        log.info(
            "documents %s: %d train lines (share %.2f), validating on %d of %d; skipped outside charset %s",
            folder,
            len(train or ()),
            self.args.real_share,
            len(self.real_validation),
            len(validation),
            skipped,
        )
        if not self.real_validation:
            log.warning("documents %s: no validation line the charset can encode", folder)
        self.documents = {
            "folder": str(folder),
            "real_share": self.args.real_share,
            "manifest": read_manifest(folder),
            "skipped_outside_charset": skipped,
        }

    def prepare_plates(self, folder: Path) -> None:
        """Read the plates folder: its train split for the mixed stream (when --plate-share) and its
        whole validation split (a few dozen plates)."""
        validation = RealLines(folder, VALIDATION, self.charset, PLATE_KIND)
        self.plate_validation = fixed_real_samples(validation, self.preprocess_config, VALIDATION_SEED, len(validation))
        train = None
        if self.args.plate_share:
            train = RealLines(folder, TRAIN, self.charset, PLATE_KIND)
            self.real_train.append((train, self.args.plate_share))
        log.info(
            "plates %s: %d train lines (share %g), validating on %d",
            folder,
            len(train or ()),
            self.args.plate_share,
            len(self.plate_validation),
        )
        self.plates = {"folder": str(folder), "plate_share": self.args.plate_share, "manifest": read_manifest(folder)}

    def batches(self, seed: int) -> SyntheticBatches:
        if self.real_train:
            return MixedBatches(
                self.charset,
                self.fonts,
                self.preprocess_config,
                seed=seed,
                batch_size=self.args.batch_size,
                real=self.real_train,
                degradation=self.args.degradation,
            )
        return SyntheticBatches(
            self.charset,
            self.fonts,
            self.preprocess_config,
            seed=seed,
            batch_size=self.args.batch_size,
            degradation=self.args.degradation,
        )

    def forward(self, model: CRNN, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        # Widths stay on the CPU: they pack the sequence for the LSTM.
        return model(batch["images"].to(device), batch["widths"])

    def loss(
        self, outputs: torch.Tensor, batch: dict[str, Any], device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        log_probs = outputs.log_softmax(-1).permute(1, 0, 2)  # T, N, C for CTC
        loss = F.ctc_loss(
            log_probs,
            batch["targets"].to(device),
            batch["frame_lengths"],
            batch["target_lengths"],
            blank=0,
            zero_infinity=True,
        )
        return loss, {}

    def validate(self, model: CRNN, device: torch.device) -> tuple[float, str]:
        meter = evaluate(model, self.validation, self.charset, device)
        message = f"char_acc {meter.char_accuracy:.4f} line_acc {meter.line_accuracy:.4f}"
        if self.real_validation:
            # Reported beside the synthetic score, which alone still picks best.pt: runs stay comparable.
            real = evaluate(model, self.real_validation, self.charset, device)
            message += (
                f" documents char_acc {real.char_accuracy:.4f} line_acc {real.line_accuracy:.4f}"
                f" ({len(self.real_validation)} lines)"
            )
        if self.plate_validation:
            plates = evaluate(model, self.plate_validation, self.charset, device)
            message += f" plates char_acc {plates.char_accuracy:.4f} ({len(self.plate_validation)} lines)"
        return meter.char_accuracy, message

    def save(self, path: Path, model: CRNN, extra: dict[str, Any]) -> None:
        # The real data a run saw travels with its weights.
        if self.documents:
            extra = {**extra, "documents": self.documents}
        if self.plates:
            extra = {**extra, "plates": self.plates}
        save_checkpoint(path, model, self.charset, extra)


def main(args: argparse.Namespace) -> None:
    loop.run(RecogniserTask(args), args)


if __name__ == "__main__":
    main(parse_args())
