"""How a finished sheet is captured: uneven lighting, a scan's skew or a photo's perspective onto a
desk, and a quarter turn of the whole page; every geometric step moves the line boxes exactly."""

from __future__ import annotations

import random

import cv2
import numpy as np

from model.synth.pages.colours import scene
from model.synth.pages.core import LONG_SIDE_MAX


def lighting(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Uneven light on a photographed or scanned page: a gradient, a vignette or a soft shadow."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    roll = rng.random()
    depth = rng.uniform(0.1, 0.4)
    if roll < 0.4:
        angle = rng.uniform(0, 2 * np.pi)
        ramp = xs * np.cos(angle) + ys * np.sin(angle)
        ramp = (ramp - ramp.min()) / max(1.0, float(np.ptp(ramp)))
        light = 1.0 - depth * ramp
    elif roll < 0.7:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / float(w * w + h * h)
        light = 1.0 - depth * np.clip(r2 * 2, 0, 1)
    else:  # the shadow of a hand or phone over one side
        shadow = np.zeros((h, w), np.float32)
        corner = [(rng.uniform(0, w), 0), (rng.uniform(0, w), h)]
        side = 0 if rng.random() < 0.5 else w
        polygon = np.int32([corner[0], corner[1], (side, h), (side, 0)])
        cv2.fillPoly(shadow, [polygon], 1.0)
        k = 2 * (min(h, w) // 12) + 1
        light = 1.0 - depth * 1.5 * cv2.GaussianBlur(shadow, (k, k), 0)
    tint = np.float32([rng.uniform(0.92, 1.0), rng.uniform(0.95, 1.0), 1.0])  # warm or cool light, RGB
    if rng.random() < 0.5:
        tint = tint[::-1]
    return np.clip(image.astype(np.float32) * light[:, :, None] * tint, 0, 255).astype(np.uint8)


def warp(image: np.ndarray, boxes: np.ndarray, rng: random.Random, photo: bool) -> tuple[np.ndarray, np.ndarray]:
    """A scanned page's skew, or a photo's tilt and perspective onto a desk; boxes follow exactly.
    The output holds the whole page, so every box stays inside it; its long side is capped."""
    h, w = image.shape[:2]
    corners = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    angle = np.deg2rad(rng.uniform(-5, 5) if photo else rng.uniform(-2.5, 2.5))
    centre = np.float32([w / 2, h / 2])
    rotation = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = (corners - centre) @ rotation.T + centre
    if photo:
        reach = rng.uniform(0.02, 0.1) * min(w, h)
        target += np.float32([[rng.uniform(-reach, reach), rng.uniform(-reach, reach)] for _ in range(4)])
    border = rng.uniform(0.02, 0.12) * max(w, h) if photo else 0.0
    target -= target.min(axis=0) - border
    size = target.max(axis=0) + border
    scale = min(1.0, (LONG_SIDE_MAX - 2) / float(size.max()))
    target *= scale
    out_w, out_h = int(np.ceil(size[0] * scale)) + 1, int(np.ceil(size[1] * scale)) + 1
    matrix = cv2.getPerspectiveTransform(corners, target)
    warped = cv2.warpPerspective(image.astype(np.float32), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    if photo:
        surround = scene(rng, out_h, out_w) * rng.uniform(0.4, 1.0)
    else:  # the scanner lid: white, or the paper colour
        surround = np.empty((out_h, out_w, 3), np.float32)
        surround[:] = np.median(image[::7, ::7].reshape(-1, 3), axis=0) if rng.random() < 0.5 else 255.0
    out = warped + surround * (1.0 - cover[:, :, None])
    if len(boxes):
        boxes = cv2.perspectiveTransform(boxes.reshape(-1, 1, 2).astype(np.float64), matrix).reshape(-1, 4, 2)
    return np.clip(out, 0, 255).astype(np.uint8), boxes.astype(np.float32)


def turn(image: np.ndarray, boxes: np.ndarray, rotation: int) -> tuple[np.ndarray, np.ndarray]:
    """Turns the page clockwise by ``rotation`` degrees (a multiple of 90), boxes with it."""
    for _ in range(rotation // 90):
        h = image.shape[0]
        image = np.ascontiguousarray(np.rot90(image, -1))
        if len(boxes):
            boxes = np.stack([h - 1 - boxes[..., 1], boxes[..., 0]], axis=-1).astype(np.float32)
    return image, boxes
