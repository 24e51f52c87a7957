"""Paper, ink and text colours, and the backgrounds pages are typeset on: paper (with the line
renderer's gradients and grain) and blurry photographic scenes."""

from __future__ import annotations

import random

import cv2
import numpy as np

from model.inference.charset import Charset
from model.synth.pages.core import Sheet
from model.synth.render import Colour, background, hsv


def grey(value: int) -> Colour:
    return (value, value, value)


def _paper_and_ink(rng: random.Random) -> tuple[Colour, Colour]:
    """Mostly dark ink on white or off-white paper; sometimes tinted paper, blue or brown ink."""
    roll = rng.random()
    if roll < 0.6:
        paper = grey(rng.randint(225, 255))
    elif roll < 0.85:  # cream, recycled, yellowed
        base = rng.randint(215, 250)
        paper = (base, base - rng.randint(0, 12), base - rng.randint(5, 35))
    else:
        paper = tuple(rng.randint(195, 250) for _ in range(3))
    roll = rng.random()
    if roll < 0.75:
        ink = grey(rng.randint(0, 70))
    elif roll < 0.9:
        ink = (rng.randint(0, 40), rng.randint(0, 60), rng.randint(60, 140))  # RGB: blue-black
    else:
        ink = tuple(rng.randint(20, 90) for _ in range(3))
    return paper, ink


def paper_sheet(rng: random.Random, height: int, width: int, charset: Charset) -> Sheet:
    paper, ink = _paper_and_ink(rng)
    return Sheet(background(height, width, paper, rng), ink, charset)


def luminance(colour: Colour) -> float:
    r, g, b = colour
    return 0.299 * r + 0.587 * g + 0.114 * b


def readable_on(colour: Colour, rng: random.Random) -> Colour:
    """A text colour that reads on ``colour``: near-white on dark, near-black on light."""
    return grey(rng.randint(235, 255)) if luminance(colour) < 150 else grey(rng.randint(0, 40))


def scene(rng: random.Random, height: int, width: int) -> np.ndarray:
    """A blurry photographic background (street, wall, desk): smooth fields around one muted colour
    plus a few out-of-focus shapes."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    base = np.float32(hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.25, 0.85)))
    cells = (rng.randint(2, 6), rng.randint(2, 6))
    light = 1.0 + nrng.normal(0, rng.uniform(0.05, 0.3), (*cells, 1))
    grid = (base * light + nrng.normal(0, rng.uniform(3, 25), (*cells, 3))).astype(np.float32)
    image = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.randint(0, 6)):
        colour = tuple(float(c) for c in hsv(rng.random(), rng.uniform(0.0, 0.6), rng.uniform(0.15, 0.9)))
        x, y = rng.randint(0, width), rng.randint(0, height)
        if rng.random() < 0.5:
            corner = (x + rng.randint(20, width // 2), y + rng.randint(20, height // 2))
            cv2.rectangle(image, (x, y), corner, colour, -1)
        else:
            axes = (rng.randint(10, width // 4), rng.randint(10, height // 4))
            cv2.ellipse(image, (x, y), axes, rng.uniform(0, 180), 0, 360, colour, -1)
    k = 2 * rng.randint(3, 15) + 1
    return np.clip(cv2.GaussianBlur(image, (k, k), 0), 0, 255)
