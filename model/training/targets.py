"""DB training targets for one image: shrunk line kernels, where they count, and threshold maps."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from model.inference.config import DetectorConfig


@dataclass
class Targets:
    """All (H, W) float32 at the network's output resolution."""

    kernel: np.ndarray  # 1 inside a shrunk line
    kernel_mask: np.ndarray  # 0 where the loss ignores the kernel map (lines too small to learn)
    threshold: np.ndarray
    threshold_mask: np.ndarray  # 1 within the shrink distance of a line border


def shrink_distance(box: np.ndarray, ratio: float) -> float:
    """DB's offset D = area * (1 - r^2) / perimeter."""
    area = abs(cv2.contourArea(box.astype(np.float32)))
    perimeter = cv2.arcLength(box.astype(np.float32), True)
    return area * (1 - ratio**2) / max(perimeter, 1e-6)


def make_targets(
    boxes: np.ndarray, shape: tuple[int, int], config: DetectorConfig, ignore: np.ndarray | None = None
) -> Targets:
    """``boxes`` (N, 4, 2) already in output-map coordinates; lines may reach past the edges. Inside
    the ``ignore`` quadrilaterals (same coordinates) no map counts."""
    h, w = shape
    kernel = np.zeros((h, w), np.float32)
    kernel_mask = np.ones((h, w), np.float32)
    threshold = np.zeros((h, w), np.float32)
    threshold_mask = np.zeros((h, w), np.float32)
    span = config.threshold_high - config.threshold_low
    for box in boxes:
        distance = shrink_distance(box, config.shrink_ratio)
        reach = int(np.ceil(distance)) + 2
        x0, y0 = np.floor(box.min(axis=0)).astype(int) - reach
        x1, y1 = np.ceil(box.max(axis=0)).astype(int) + reach + 1
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx0 >= cx1 or cy0 >= cy1:
            continue
        # Rasterise in a window around the box (the whole box, even where it leaves the image), so
        # distances near the image edge are those of the real line.
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round(box - [x0, y0]).astype(np.int32)], 1)
        # The transforms measure to the nearest pixel centre across the edge; the edge itself lies
        # half a pixel nearer.
        depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) - 0.5
        outside = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3) - 0.5
        crop = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        region = (slice(cy0, cy1), slice(cx0, cx1))
        thin = min(cv2.minAreaRect(box.astype(np.float32))[1]) < config.min_size
        if thin or not (depth > distance).any():
            kernel_mask[region][inside[crop] > 0] = 0
            continue
        kernel[region] = np.maximum(kernel[region], (depth[crop] > distance).astype(np.float32))
        border = np.where(inside[crop] > 0, depth[crop], outside[crop])
        near = border <= distance
        value = config.threshold_low + span * (1 - np.clip(border / max(distance, 1e-6), 0, 1))
        threshold[region] = np.where(near, np.maximum(threshold[region], value), threshold[region])
        threshold_mask[region] = np.maximum(threshold_mask[region], near.astype(np.float32))
    threshold[threshold_mask == 0] = config.threshold_low
    if ignore is not None and len(ignore):
        unknown = np.zeros((h, w), np.uint8)
        cv2.fillPoly(unknown, list(np.round(ignore).astype(np.int32)), 1)
        kernel_mask[unknown > 0] = 0
        threshold_mask[unknown > 0] = 0
    return Targets(kernel, kernel_mask, threshold, threshold_mask)
