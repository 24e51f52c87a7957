"""From the detector's kernel-probability map to line boxes in input-image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from model.config import DetectorConfig


@dataclass(frozen=True)
class Detection:
    """A line's box (4x2 float32, clockwise from the top-left corner of its upright rectangle: the
    side nearest to the image's x axis is the top) and the mean kernel probability inside it."""

    box: np.ndarray
    score: float


def unclip_distance(width: float, height: float, ratio: float) -> float:
    """How far to grow a kernel of ``width`` x ``height`` back to its line: the positive root of
    D = (w + 2D)(h + 2D)(1 - r^2) / (2 (w + h + 4D)), the shrink rule solved for a rectangle."""
    c = 1 - ratio**2
    a, b = 8 - 4 * c, (2 - 2 * c) * (width + height)
    return float((-b + np.sqrt(b * b + 4 * a * c * width * height)) / (2 * a))


def upright_corners(rect: tuple) -> np.ndarray:
    """Corners of an OpenCV rotated rect, clockwise from the top-left, where 'top' is the side whose
    direction is nearest to the image's x axis (within 45 degrees)."""
    (cx, cy), (w, h), angle = rect
    theta = np.deg2rad(angle)
    axis_w = np.array([np.cos(theta), np.sin(theta)])  # direction of the rect's width side
    axis_h = np.array([-np.sin(theta), np.cos(theta)])
    right, across = (axis_w, h) if abs(axis_w[0]) >= abs(axis_h[0]) else (axis_h, w)
    along = w if across == h else h
    if right[0] < 0 or (right[0] == 0 and right[1] < 0):
        right = -right
    down = np.array([-right[1], right[0]])
    centre = np.array([cx, cy])
    half_r, half_d = right * along / 2, down * across / 2
    return np.float32(
        [centre - half_r - half_d, centre + half_r - half_d, centre + half_r + half_d, centre - half_r + half_d]
    )


def boxes_from_map(probability: np.ndarray, config: DetectorConfig, scale: float) -> list[Detection]:
    """``probability``: (H, W) kernel map at output resolution. ``scale``: the factor the input image
    was resized by before detection; boxes come back in the original image's pixels."""
    binary = (probability > config.binarise).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=4)
    to_image = config.output_stride / scale
    detections = []
    for index in range(1, count):
        x, y, w, h, area = stats[index]
        if area < 2:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == index)
        score = float(probability[ys + y, xs + x].mean())
        if score < config.min_score:
            continue
        points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
        rw, rh = rw + 1, rh + 1  # pixel centres to pixel extents
        grow = unclip_distance(rw, rh, config.shrink_ratio)
        rw, rh = rw + 2 * grow, rh + 2 * grow
        if min(rw, rh) < config.min_size:
            continue
        # A map pixel covers ``output_stride`` input pixels: its centre is at (i + 0.5) * stride - 0.5.
        corners = upright_corners(((cx + 0.5, cy + 0.5), (rw, rh), angle))
        detections.append(Detection((corners * to_image - 0.5).astype(np.float32), score))
    return suppress_fragments(detections)


def suppress_fragments(detections: list[Detection], share: float = 0.5) -> list[Detection]:
    """Drops boxes lying mostly (``share`` of their area) inside a larger box: a line whose kernel
    broke into pieces grows each piece back to a box, and the small ones would be read twice."""
    areas = [abs(cv2.contourArea(d.box)) for d in detections]
    lows = [d.box.min(axis=0) for d in detections]
    highs = [d.box.max(axis=0) for d in detections]
    kept = []
    for i, detection in enumerate(detections):
        inside = False
        for j, other in enumerate(detections):
            if j == i or areas[j] <= areas[i] or (lows[i] > highs[j]).any() or (lows[j] > highs[i]).any():
                continue
            overlap, _ = cv2.intersectConvexConvex(detection.box, other.box)
            if overlap >= share * areas[i]:
                inside = True
                break
        if not inside:
            kept.append(detection)
    return kept
