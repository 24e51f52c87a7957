"""The one path from a page image to the detector's input, shared by training and serving."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from model.preprocessing import to_8bit

# Network input sides are multiples of the backbone's coarsest stride.
SIDE_MULTIPLE = 32


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (see ``model.preprocessing.to_8bit``) as 8-bit BGR."""
    image = to_8bit(image)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def resize_for_detection(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Scale so the long side is at most ``long_side`` (never enlarged), then pad right and bottom
    with white to multiples of 32. Returns the padded image and the scale applied."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    pad_h, pad_w = -h % SIDE_MULTIPLE, -w % SIDE_MULTIPLE
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    return image, scale


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """Equal-sized BGR uint8 images -> float tensor (N, 3, H, W) in [0, 1], channels-last in memory
    (as the images are, and as the served detector computes)."""
    batch = np.stack(images).astype(np.float32) / 255.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
