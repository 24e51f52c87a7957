"""Batched recognition of line images with the served CRNN: the one path from crops to text that
the handler, the page reader and the benchmarks share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from model.inference.charset import Charset
from model.inference.config import PreprocessConfig, ReaderConfig
from model.inference.crnn import frames_for_width
from model.inference.decoding import Decoded, Decoder
from model.inference.preprocessing import pad_batch, preprocess

Network = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LineRecogniser:
    """Reads line images (gray or BGR arrays, text horizontal and upright) in batches of similar
    width, so little compute goes into padding. ``decode`` turns a line's frame probabilities into
    text: the beam search with the language model where the archive has one, else greedy."""

    def __init__(
        self, model: Network, charset: Charset, config: PreprocessConfig, decode: Decoder, settings: ReaderConfig
    ) -> None:
        self.model, self.charset, self.config, self.decode = model, charset, config, decode
        self.batch_size, self.width_spread = settings.batch_size, settings.width_spread

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The network input of one decoded line image."""
        return preprocess(image, self.config)

    def read_prepared(self, inputs: Sequence[np.ndarray], check: Callable[[], None] | None = None) -> list[Decoded]:
        """The lines' readings; ``check`` is called before each batch (a deadline that may raise)."""
        results: dict[int, Decoded] = {}
        widths = [image.shape[-1] for image in inputs]
        for chunk in width_batches(widths, self.batch_size, self.width_spread):
            if check:
                check()
            batch, widths = pad_batch([inputs[i] for i in chunk])
            with torch.inference_mode():
                logits = self.model(batch, torch.tensor(widths))
                # Only a line's own frames: the padding's would cost a 6,930-way softmax each.
                for i, line, width in zip(chunk, logits, widths):
                    probs = line[: frames_for_width(width)].softmax(-1).numpy()
                    results[i] = self.decode(probs)
        return [results[i] for i in range(len(inputs))]

    def read(self, images: Sequence[np.ndarray], check: Callable[[], None] | None = None) -> list[Decoded]:
        return self.read_prepared([self.prepare(image) for image in images], check)


def width_batches(widths: Sequence[int], batch_size: int, max_padding: float) -> list[list[int]]:
    """Indices of ``widths`` in batches of at most ``batch_size``, widest first, each batch's widest
    line at most ``max_padding`` times its narrowest, so little compute goes into padding."""
    batches: list[list[int]] = []
    for i in sorted(range(len(widths)), key=lambda i: -widths[i]):
        if batches and len(batches[-1]) < batch_size and widths[batches[-1][0]] <= max_padding * widths[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
