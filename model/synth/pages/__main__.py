"""Writes sample pages to look at: ``python -m model.synth.pages --out DIR --count N --seed S
[--layout L] [--degradation D] [--boxes]`` (PNG images, JSON ground truth, optionally the boxes drawn)."""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import cv2

from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.fonts import discover_fonts
from model.synth.pages.renderer import LAYOUTS, PageRenderer, draw_boxes

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write synthetic pages (PNG) and their ground truth (JSON).")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="page i uses random.Random(f'{seed}:{i}')")
    parser.add_argument("--layout", choices=list(LAYOUTS), help="only this layout")
    parser.add_argument("--degradation", type=float, default=1.0)
    parser.add_argument("--boxes", action="store_true", help="also write *_boxes.png with the ground truth drawn")
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    charset = alphabet.current()
    renderer = PageRenderer(discover_fonts(charset), Corpus(charset), args.degradation)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(args.count):
        page = renderer.render(random.Random(f"{args.seed}:{i}"), layout=args.layout)
        stem = args.out / f"page_{i:04d}"
        cv2.imwrite(str(stem.with_suffix(".png")), page.image)
        record = {"image": stem.with_suffix(".png").name, "seed": f"{args.seed}:{i}", **page.to_json()}
        stem.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.boxes:
            cv2.imwrite(f"{stem}_boxes.png", draw_boxes(page))
    elapsed = time.perf_counter() - start
    log.info(
        "%d pages in %.1f s (%.2f pages/s, PNG writing included) -> %s",
        args.count,
        elapsed,
        args.count / elapsed,
        args.out,
    )


if __name__ == "__main__":
    main(parse_args())
