"""Pages without text, so that the detector also learns to answer nothing."""

from __future__ import annotations

import random

import numpy as np

from model.synth.pages.colours import grey, paper_sheet, scene
from model.synth.pages.core import LONG_SIDE_MAX, Kit, Sheet, portrait
from model.synth.render import hsv


def empty_page(kit: Kit, rng: random.Random) -> Sheet:
    """No text at all (blank paper, an empty form grid, a bare screen or scene): the detector must
    learn to answer nothing."""
    height, width = portrait(rng) if rng.random() < 0.6 else (rng.randint(600, 1000), rng.randint(800, LONG_SIDE_MAX))
    roll = rng.random()
    if roll < 0.5:
        sheet = paper_sheet(rng, height, width, kit.charset)
    elif roll < 0.75:
        image = np.empty((height, width, 3), np.float32)
        image[:] = grey(rng.randint(20, 255))
        sheet = Sheet(image, grey(rng.randint(0, 255)), kit.charset)
    else:
        sheet = Sheet(scene(rng, height, width), (0, 0, 0), kit.charset)
    for _ in range(rng.choice([0, 0, rng.randint(1, 20)])):  # rules, boxes, panels: structure without text
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        if rng.random() < 0.6:
            horizontal = rng.random() < 0.7
            x1 = x0 + (rng.uniform(50, width) if horizontal else 0)
            y1 = y0 + (0 if horizontal else rng.uniform(50, height))
            sheet.rule(x0, y0, x1, y1, grey(rng.randint(0, 120)), rng.randint(1, 3))
        else:
            sheet.fill(
                x0,
                y0,
                x0 + rng.uniform(30, width / 2),
                y0 + rng.uniform(20, height / 3),
                hsv(rng.random(), rng.uniform(0.0, 0.7), rng.uniform(0.3, 0.95)),
            )
    return sheet
