"""Synthetic line throughput on one process: corpus + rendering + capture artefacts + preprocessing,
i.e. what one training data worker produces per second, to compare with what training consumes."""

from __future__ import annotations

import argparse
import random
import time

import cv2

from model.inference.config import PreprocessConfig
from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.fonts import discover_fonts
from model.synth.render import LineRenderer
from model.training.line_data import make_sample


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1000)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # one data worker = one core
    charset = alphabet.current()
    corpus, renderer = Corpus(charset), LineRenderer(discover_fonts(charset))
    rng, config = random.Random(0), PreprocessConfig()
    for _ in range(50):  # font files opened and cached, as in a running worker
        make_sample(corpus, renderer, charset, config, rng)
    start = time.perf_counter()
    for _ in range(args.lines):
        make_sample(corpus, renderer, charset, config, rng)
    rate = args.lines / (time.perf_counter() - start)
    print(f"{rate:.0f} synthetic lines/s on one core (text, rendering, artefacts, preprocessing)")


if __name__ == "__main__":
    main()
