"""Batched recognition of line images with the served CRNN: the one path from crops to text that
the handler, the page reader and the benchmarks share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from model.charset import Charset
from model.config import PreprocessConfig
from model.decoding import Decoded, Decoder, greedy
from model.network import frames_for_width
from model.preprocessing import pad_batch, preprocess

Network = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# A batch's widest line is at most this many times its narrowest. Batching only by count padded a
# page's short lines to the long ones: 30 lines of an A4 page took 0.73 s, these batches 0.53 s.
WIDTH_SPREAD = 1.3


class LineRecogniser:
    """Reads line images (gray or BGR arrays, text horizontal and upright) in batches of similar
    width, so little compute goes into padding. ``decode`` turns a line's frame probabilities into
    text: the beam search with the language model where the archive has one, else greedy."""

    def __init__(
        self,
        model: Network,
        charset: Charset,
        config: PreprocessConfig,
        batch_size: int = 16,
        decode: Decoder | None = None,
    ) -> None:
        self.model, self.charset, self.config, self.batch_size = model, charset, config, batch_size
        self.decode = decode or greedy(charset)

    def prepare(self, image: np.ndarray | bytes) -> np.ndarray:
        """The network input of one line (raises ``ImageError`` for unreadable bytes)."""
        return preprocess(image, self.config)

    def read_prepared(self, inputs: Sequence[np.ndarray]) -> list[Decoded]:
        results: dict[int, Decoded] = {}
        for chunk in width_batches([image.shape[-1] for image in inputs], self.batch_size):
            batch, widths = pad_batch([inputs[i] for i in chunk])
            with torch.inference_mode():
                logits = self.model(batch, torch.tensor(widths))
                # Only a line's own frames: the padding's would cost a 6,930-way softmax each.
                for i, line, width in zip(chunk, logits, widths):
                    probs = line[: frames_for_width(width)].softmax(-1).numpy()
                    results[i] = self.decode(probs)
        return [results[i] for i in range(len(inputs))]

    def read(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        return self.read_prepared([self.prepare(image) for image in images])


def width_batches(widths: Sequence[int], batch_size: int, max_padding: float = WIDTH_SPREAD) -> list[list[int]]:
    """Indices of ``widths`` in batches of at most ``batch_size``, widest first, each batch's widest
    line at most ``max_padding`` times its narrowest, so little compute goes into padding."""
    batches: list[list[int]] = []
    for i in sorted(range(len(widths)), key=lambda i: -widths[i]):
        if batches and len(batches[-1]) < batch_size and widths[batches[-1][0]] <= max_padding * widths[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
