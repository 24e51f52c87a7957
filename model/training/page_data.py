"""Training crops of synthetic pages (and, mixed in, real-document pages) with their DB targets, and
the fixed validation pages."""

from __future__ import annotations

import random
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from model.inference.config import DetectorConfig
from model.inference.preprocessing import page_tensor
from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace
from model.synth.pages import Page, PageRenderer
from model.training.real_pages import RealPages
from model.training.targets import make_targets

# The fixed synthetic validation pages of the detector (seeded independently of training).
VALIDATION_SEED = 20261124


# A crop: the image, its line boxes and the boxes to ignore, in the crop's pixels.
Crop = tuple[np.ndarray, np.ndarray, np.ndarray]


def random_crop(page: Page, size: int, rng: random.Random) -> Crop:
    """A ``size`` x ``size`` crop of the page at a random scale, usually around some line, padded
    with white like inference pads; returns the crop, every box and every ignored box in its
    coordinates."""
    h, w = page.image.shape[:2]
    scale = min(rng.uniform(560, 1600) / max(h, w), 1.3)
    image = cv2.resize(page.image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    boxes = np.stack([line.box for line in page.lines]) * scale if page.lines else np.zeros((0, 4, 2), np.float32)
    ignore = page.ignore * scale
    h, w = image.shape[:2]
    if len(boxes) and rng.random() < 0.85:
        cx, cy = boxes[rng.randrange(len(boxes))].mean(axis=0)
        x0 = int(cx - rng.uniform(0.1, 0.9) * size)
        y0 = int(cy - rng.uniform(0.1, 0.9) * size)
    else:
        x0, y0 = rng.randint(min(0, w - size), max(0, w - size)), rng.randint(min(0, h - size), max(0, h - size))
    x0, y0 = min(max(x0, min(0, w - size)), max(0, w - size)), min(max(y0, min(0, h - size)), max(0, h - size))
    crop = np.full((size, size, 3), 255, np.uint8)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + size, w), min(y0 + size, h)
    crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return crop, (boxes - [x0, y0]).astype(np.float32), (ignore - [x0, y0]).astype(np.float32)


class PageCrops(IterableDataset):
    """Endless batches: images (N, 3, S, S) and the four target maps (N, S/2, S/2). With ``real``,
    a ``real_share`` of the pages are real-document pages, captured like rendered ones."""

    def __init__(
        self,
        fonts: list[FontFace],
        config: DetectorConfig,
        seed: int,
        batch_size: int,
        size: int = 640,
        crops_per_page: int = 2,
        real: RealPages | None = None,
        real_share: float = 0.0,
    ) -> None:
        super().__init__()
        self.fonts, self.config, self.seed = fonts, config, seed
        self.batch_size, self.size, self.crops_per_page = batch_size, size, crops_per_page
        self.real, self.real_share = real, real_share

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        if info is not None:
            cv2.setNumThreads(1)
        rng = random.Random(self.seed * 1000 + (info.id if info else 0))
        renderer = PageRenderer(self.fonts, Corpus(alphabet.current()))
        stride = self.config.output_stride
        pending: list[Crop] = []
        while True:
            if self.real is not None and rng.random() < self.real_share:
                page = self.real.captured(rng.randrange(len(self.real)), renderer, rng)
            else:
                page = renderer.render(rng)
            pending += [random_crop(page, self.size, rng) for _ in range(self.crops_per_page)]
            rng.shuffle(pending)
            while len(pending) >= self.batch_size:
                chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
                yield collate(chunk, self.config, self.size // stride)


def collate(chunk: list[Crop], config: DetectorConfig, out: int) -> dict[str, torch.Tensor]:
    stride = config.output_stride

    def to_map(points: np.ndarray) -> np.ndarray:  # corners are pixel centres; map pixel i covers [i*s, (i+1)*s)
        return (points + 0.5) / stride - 0.5

    targets = [make_targets(to_map(boxes), (out, out), config, to_map(ignore)) for _, boxes, ignore in chunk]
    return {
        "images": page_tensor([image for image, _, _ in chunk]),
        **{
            name: torch.from_numpy(np.stack([getattr(t, name) for t in targets]))
            for name in ("kernel", "kernel_mask", "threshold", "threshold_mask")
        },
    }


def validation_pages(fonts: list[FontFace], count: int) -> list[Page]:
    rng = random.Random(VALIDATION_SEED)
    renderer = PageRenderer(fonts, Corpus(alphabet.current()))
    return [renderer.render(rng) for _ in range(count)]
