"""Detection of one image with a DBNet (eager or TorchScript): the one call that evaluation, the
page reader and the handler share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from model.config import DetectorConfig
from model.detector.boxes import Detection, boxes_from_map
from model.detector.preprocessing import as_bgr, resize_for_detection, to_tensor


def detect(
    model: Callable[[torch.Tensor], torch.Tensor], image: np.ndarray, config: DetectorConfig
) -> tuple[list[Detection], np.ndarray]:
    """Line boxes in ``image``'s pixels, and the kernel-probability map they came from."""
    resized, scale = resize_for_detection(as_bgr(image), config.long_side)
    with torch.inference_mode():
        probability = model(to_tensor([resized]))[0, 0].float().sigmoid().numpy()
    return boxes_from_map(probability, config, scale), probability
