"""Batched recognition of line images with the served CRNN: the one path from crops to text that
the handler, the page reader and the benchmarks share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from model.charset import Charset
from model.config import PreprocessConfig
from model.decoding import Decoded, greedy_decode
from model.network import frames_for_width
from model.preprocessing import pad_batch, preprocess

Network = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LineRecogniser:
    """Reads line images (gray or BGR arrays, text horizontal and upright) in batches of similar
    width, so little compute goes into padding."""

    def __init__(self, model: Network, charset: Charset, config: PreprocessConfig, batch_size: int = 16) -> None:
        self.model, self.charset, self.config, self.batch_size = model, charset, config, batch_size

    def prepare(self, image: np.ndarray | bytes) -> np.ndarray:
        """The network input of one line (raises ``ImageError`` for unreadable bytes)."""
        return preprocess(image, self.config)

    def read_prepared(self, inputs: Sequence[np.ndarray]) -> list[Decoded]:
        order = sorted(range(len(inputs)), key=lambda i: inputs[i].shape[-1])
        results: list[Decoded | None] = [None] * len(inputs)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch, widths = pad_batch([inputs[i] for i in chunk])
            with torch.inference_mode():
                probs = self.model(batch, torch.tensor(widths)).softmax(-1).numpy()
            for i, p, width in zip(chunk, probs, widths):
                results[i] = greedy_decode(p[: frames_for_width(width)], self.charset)
        return [r for r in results if r is not None]

    def read(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        return self.read_prepared([self.prepare(image) for image in images])
