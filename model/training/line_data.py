"""Synthetic line datasets for training and validation, built on the renderer and preprocessing."""

from __future__ import annotations

import random
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from model.inference.charset import Charset
from model.inference.config import PreprocessConfig
from model.inference.crnn import frames_for_width
from model.inference.preprocessing import pad_batch, preprocess
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace
from model.synth.render import LineRenderer

# image, label indices, text, kind of line (the corpus generator that wrote it)
Sample = tuple[np.ndarray, list[int], str, str]
# The fixed synthetic validation set: training curves and `make eval` read the same lines.
VALIDATION_SEED = 20261124


class SyntheticBatches(IterableDataset):
    """An endless stream of collated batches; each worker draws from its own seeded stream.

    Lines are drawn ``pool`` batches at a time and sorted by width before batching, so a batch is
    padded to a width close to its own lines' and little compute is spent on padding.
    """

    def __init__(
        self,
        charset: Charset,
        fonts: list[FontFace],
        preprocess_config: PreprocessConfig,
        seed: int,
        batch_size: int,
        pool: int = 8,
        max_width: int = 1024,
        degradation: float = 1.0,
    ) -> None:
        super().__init__()
        self.charset = charset
        self.fonts = fonts
        self.preprocess_config = preprocess_config
        self.seed = seed
        self.batch_size = batch_size
        self.pool = pool
        self.max_width = max_width
        self.degradation = degradation

    def __iter__(self) -> Iterator[dict]:
        worker = worker_id()
        rng = random.Random(self.seed * 1000 + worker)
        corpus = Corpus(self.charset)
        renderer = LineRenderer(self.fonts, self.degradation)
        while True:
            samples = self.synthetic_pool(corpus, renderer, rng, self.batch_size * self.pool)
            yield from sorted_batches(samples, self.batch_size, rng)

    def synthetic_pool(self, corpus: Corpus, renderer: LineRenderer, rng: random.Random, count: int) -> list[Sample]:
        """``count`` rendered lines no wider than ``max_width``, drawn from ``rng``."""
        samples: list[Sample] = []
        while len(samples) < count:
            sample = make_sample(corpus, renderer, self.charset, self.preprocess_config, rng)
            if sample[0].shape[-1] <= self.max_width:
                samples.append(sample)
        return samples


def worker_id() -> int:
    """This DataLoader worker's index (0 in the main process), which seeds its own stream; a worker is
    also limited to one OpenCV thread, since it is one core and OpenCV's own pool would fight the
    trainer's threads."""
    info = get_worker_info()
    if info is None:
        return 0
    cv2.setNumThreads(1)
    return info.id


def sorted_batches(samples: list[Sample], batch_size: int, rng: random.Random) -> Iterator[dict]:
    """A pool of samples sorted by width, cut into collated batches and yielded in an order shuffled
    by ``rng``: each batch is padded to a width close to its own lines'."""
    samples = sorted(samples, key=lambda s: s[0].shape[-1])
    batches = [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]
    rng.shuffle(batches)
    for batch in batches:
        yield collate(batch)


def make_sample(
    corpus: Corpus, renderer: LineRenderer, charset: Charset, config: PreprocessConfig, rng: random.Random
) -> Sample:
    kind, text = corpus.labelled_line(rng)
    image = preprocess(renderer.render(text, rng), config)
    return image, charset.encode(text), text, kind


def fixed_samples(
    charset: Charset, fonts: list[FontFace], config: PreprocessConfig, seed: int, count: int
) -> list[Sample]:
    """A reproducible set, e.g. the synthetic validation set."""
    rng = random.Random(seed)
    corpus = Corpus(charset)
    renderer = LineRenderer(fonts)
    return [make_sample(corpus, renderer, charset, config, rng) for _ in range(count)]


def collate(samples: list[Sample]) -> dict[str, torch.Tensor | list]:
    """Batch for CTC: images (N,1,H,W), flat targets, per-sample frame and target lengths."""
    images, widths = pad_batch([s[0] for s in samples])
    targets = [s[1] for s in samples]
    return {
        "images": images,
        "widths": torch.tensor(widths, dtype=torch.long),
        "targets": torch.tensor([t for target in targets for t in target], dtype=torch.long),
        "target_lengths": torch.tensor([len(t) for t in targets], dtype=torch.long),
        "frame_lengths": torch.tensor([frames_for_width(w) for w in widths], dtype=torch.long),
        "texts": [s[2] for s in samples],
    }
