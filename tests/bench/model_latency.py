"""Single-line recognition latency on one CPU thread: preprocessing, forward pass and decoding (beam
search with the language model, as served) of a 32-pixel-high line of about 20 characters (median of
repeated runs), and the decoding alone, greedy and beam, over the real lines."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from model.inference.checkpoint import load_checkpoint
from model.inference.crnn import count_parameters
from model.inference.preprocessing import preprocess
from model.synth.fonts import discover_fonts
from model.training.evaluate import load_serving
from model.training.paths import DEFAULT_WEIGHTS
from tests.helpers import pick_cjk_font, render_clean_line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    serving = load_serving(DEFAULT_WEIGHTS)
    font = pick_cjk_font(discover_fonts(serving.charset))
    text = "发票代码044031900111合计金额"  # 20 characters, the width of a typical invoice field
    image = render_clean_line(text, font.path, size=32, index=font.index)
    config = serving.config
    timings = []
    with torch.inference_mode():
        for run in range(args.runs + 10):
            start = time.perf_counter()
            tensor = torch.from_numpy(preprocess(image, config))[None]
            probs = serving.model(tensor).softmax(-1)[0].numpy()
            serving.decode(probs)
            if run >= 10:  # the first runs warm up allocators and TorchScript's profiling executor
                timings.append((time.perf_counter() - start) * 1000)
    width = preprocess(image, config).shape[-1]
    parameters = count_parameters(load_checkpoint(DEFAULT_WEIGHTS)[0])
    print(f"{parameters / 1e6:.2f} M parameters; {len(text)}-character line, {width} px wide at 32 px")
    print(
        f"median {statistics.median(timings):.1f} ms, p95 {statistics.quantiles(timings, n=20)[18]:.1f} ms "
        f"per line on one thread"
    )


if __name__ == "__main__":
    main()
