"""Character and exact-line accuracy per category on real labelled lines (``labels.tsv``: file, text,
category), e.g. ``../shared/eval/lines``. Used to decide whether new weights are worth committing."""

from __future__ import annotations

import argparse
import csv
import logging
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from model.decoding import greedy_decode
from model.metrics import AccuracyMeter
from model.preprocessing import ImageError, preprocess

log = logging.getLogger("evaluate")
DEFAULT_LINES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "lines"


def read_labels(folder: Path) -> list[tuple[Path, str, str]]:
    with (folder / "labels.tsv").open(encoding="utf-8", newline="") as f:
        return [
            (folder / row["file"], row["text"], row["category"])
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]


@torch.inference_mode()
def evaluate_lines(weights: Path, folder: Path) -> tuple[dict[str, AccuracyMeter], list[float]]:
    model, charset, _ = load_checkpoint(weights)
    meters: dict[str, AccuracyMeter] = defaultdict(AccuracyMeter)
    latencies = []
    for path, text, category in read_labels(folder):
        start = time.perf_counter()
        try:
            image = preprocess(path.read_bytes(), model.config.preprocess)
            probs = model(torch.from_numpy(image)[None]).softmax(-1)[0].numpy()
            prediction = greedy_decode(probs, charset).text  # one unpadded line: every frame is its own
        except ImageError as err:
            log.warning("%s: %s", path.name, err)
            prediction = ""
        latencies.append((time.perf_counter() - start) * 1000)
        meters[category].add(prediction, text)
        meters["all"].add(prediction, text)
    return dict(meters), latencies


def format_table(meters: dict[str, AccuracyMeter]) -> str:
    rows = ["| category | lines | char acc | line acc |", "|---|---:|---:|---:|"]
    for name in sorted(meters, key=lambda n: (n == "all", n)):
        m = meters[name]
        rows.append(f"| {name} | {m.lines} | {100 * m.char_accuracy:.1f} % | {100 * m.line_accuracy:.1f} % |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--lines", type=Path, default=DEFAULT_LINES)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    meters, latencies = evaluate_lines(args.weights, args.lines)
    print(format_table(meters))
    print(
        f"median {np.median(latencies):.1f} ms per line (preprocessing + inference + decoding, {args.threads} thread)"
    )


if __name__ == "__main__":
    main()
