"""Character and exact-line accuracy per category of the model as it is served (TorchScript, int8
classifier, beam search with the character language model) on (a) the fixed, seeded synthetic
validation set, per kind of line, and (b) real labelled lines (``labels.tsv``: file, text,
category), e.g. ``../shared/eval/lines``. The real lines decide whether new weights are worth
committing."""

from __future__ import annotations

import argparse
import csv
import logging
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from model.inference.assemble import Checkpoints, load_reader
from model.inference.preprocessing import decode_any
from model.inference.reader.recognise import LineRecogniser
from model.synth.fonts import discover_fonts
from model.training.documents import VALIDATION, script_category
from model.training.line_data import VALIDATION_SEED, collate, fixed_samples
from model.training.metrics import AccuracyMeter
from model.training.paths import (
    DEFAULT_DETECTOR_WEIGHTS,
    DEFAULT_DOCUMENTS,
    DEFAULT_LM,
    DEFAULT_WEIGHTS,
    serving_limits,
)

log = logging.getLogger("evaluate")
DEFAULT_LINES = Path(__file__).resolve().parents[3] / "shared" / "eval" / "lines"


# A line to read: its image, its text and the category it is counted in.
Labels = list[tuple[Path, str, str]]
# The seeded choice of real-document validation lines that `make eval` and `make bench-accuracy` read.
DOCUMENT_LINES = 1000
DOCUMENT_SEED = 20261206


def read_labels(folder: Path) -> Labels:
    with (folder / "labels.tsv").open(encoding="utf-8", newline="") as f:
        return [
            (folder / row["file"], row["text"], row["category"])
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]


def document_labels(folder: Path, count: int = DOCUMENT_LINES, seed: int = DOCUMENT_SEED) -> Labels:
    """A seeded choice of ``count`` validation lines of a ``make documents`` folder (PDFs never trained
    on), as cut from their pages, in "document zh" or "document en" by script. Only lines whose text
    the charset holds are there: ``make documents`` drops the others."""
    with (folder / "lines.tsv").open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row["split"] == VALIDATION]
    chosen = sorted(random.Random(seed).sample(range(len(rows)), min(count, len(rows))))
    return [(folder / rows[i]["file"], rows[i]["text"], script_category(rows[i]["text"])) for i in chosen]


def load_serving(weights: Path, quantize: bool = True, lm: Path | None = DEFAULT_LM) -> LineRecogniser:
    """The line recogniser as served (``model.inference.assemble``) from the recogniser's checkpoint
    ``weights``, decoded by beam search with the language model ``lm`` (greedy without one)."""
    return load_reader(Checkpoints(weights, DEFAULT_DETECTOR_WEIGHTS, lm), quantize).recogniser


@torch.inference_mode()
def evaluate_lines(
    weights: Path, labels: Labels, quantize: bool = True, warmup: int = 0, lm: Path | None = DEFAULT_LM
) -> tuple[dict[str, AccuracyMeter], list[float]]:
    """Meters per category (and "all") and per-line latencies in ms, one line at a time. ``warmup``
    lines are read once, unscored and untimed, before the timed pass (allocators, kernel choice)."""
    serving = load_serving(weights, quantize, lm)
    max_pixels = serving_limits()["max_pixels"]

    def recognise(path: Path) -> str:
        try:
            # Decoded as the handler decodes a request: header checks, EXIF orientation.
            line = serving.prepare(decode_any(path.read_bytes(), max_pixels))
            probs = serving.model(torch.from_numpy(line)[None]).softmax(-1)[0].numpy()
            return serving.decode(probs).text  # one unpadded line: every frame is its own
        except ValueError as err:
            log.warning("%s: %s", path.name, err)
            return ""

    for path, _, _ in labels[:warmup]:
        recognise(path)
    meters: dict[str, AccuracyMeter] = defaultdict(AccuracyMeter)
    latencies = []
    for path, text, category in labels:
        start = time.perf_counter()
        prediction = recognise(path)
        latencies.append((time.perf_counter() - start) * 1000)
        meters[category].add(prediction, text)
        meters["all"].add(prediction, text)
    return dict(meters), latencies


@torch.inference_mode()
def evaluate_synthetic(
    weights: Path, count: int, quantize: bool = True, lm: Path | None = DEFAULT_LM
) -> dict[str, AccuracyMeter]:
    """Meters per kind of line (and "all") on the seeded synthetic validation set."""
    serving = load_serving(weights, quantize, lm)
    charset = serving.charset
    samples = fixed_samples(charset, discover_fonts(charset), serving.config, VALIDATION_SEED, count)
    meters: dict[str, AccuracyMeter] = defaultdict(AccuracyMeter)
    for start in range(0, len(samples), 32):
        chunk = samples[start : start + 32]
        batch = collate(chunk)
        probs = serving.model(batch["images"], batch["widths"]).softmax(-1).numpy()
        for p, frames, sample in zip(probs, batch["frame_lengths"].tolist(), chunk):
            prediction = serving.decode(p[:frames]).text
            meters[sample[3]].add(prediction, sample[2])
            meters["all"].add(prediction, sample[2])
    return dict(meters)


def format_table(meters: dict[str, AccuracyMeter], first_column: str = "category") -> str:
    rows = [f"| {first_column} | lines | char acc | line acc |", "|---|---:|---:|---:|"]
    for name in sorted(meters, key=lambda n: (n == "all", n)):
        m = meters[name]
        rows.append(f"| {name} | {m.lines} | {100 * m.char_accuracy:.1f} % | {100 * m.line_accuracy:.1f} % |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--lines", type=Path, default=DEFAULT_LINES)
    parser.add_argument("--documents", type=Path, default=DEFAULT_DOCUMENTS, help="a `make documents` folder")
    parser.add_argument("--document-lines", type=int, default=DOCUMENT_LINES, help="its validation lines (0: none)")
    parser.add_argument("--synthetic", type=int, default=1000, help="synthetic validation lines (0: skip)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--float32", action="store_true", help="evaluate without the int8 classifier")
    parser.add_argument("--lm", type=Path, default=DEFAULT_LM, help="character language model for the beam search")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding, without the language model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    quantize = not args.float32
    lm = None if args.greedy else args.lm
    print(f"Decoding: {'greedy' if lm is None else f'beam search with {lm.name}'}")
    if args.synthetic:
        print(f"Synthetic validation set ({args.synthetic} lines, seed {VALIDATION_SEED}), per kind of line:")
        print(format_table(evaluate_synthetic(args.weights, args.synthetic, quantize, lm), "kind"))
        print()
    meters, latencies = evaluate_lines(args.weights, read_labels(args.lines), quantize, lm=lm)
    print(f"Real lines ({args.lines}):")
    print(format_table(meters))
    print(
        f"median {np.median(latencies):.1f} ms per line (preprocessing + inference + decoding, {args.threads} thread)"
    )
    if args.document_lines > 0:
        print()
        if (args.documents / "lines.tsv").is_file():
            labels = document_labels(args.documents, args.document_lines)
            meters, _ = evaluate_lines(args.weights, labels, quantize, lm=lm)
            print(f"Real-document validation lines ({len(labels)} of {args.documents}, seed {DOCUMENT_SEED}):")
            print(format_table(meters))
        else:
            print(f"Real-document validation lines: {args.documents} not found (`make documents` writes it)")


if __name__ == "__main__":
    main()
