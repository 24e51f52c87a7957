"""The page renderer: draws a layout, captures it as a scan or photo would, turns it, and numbers its
lines in reading order. The layout and capture tables below are the one place a layout is registered."""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np

from model.synth.corpus import Corpus
from model.synth.fonts import FontFace
from model.synth.pages.capture import lighting, turn, warp
from model.synth.pages.core import Kit, Page, PageLine, Sheet
from model.synth.pages.documents import columns_page, document_page
from model.synth.pages.empty import empty_page
from model.synth.pages.receipts import receipt_page
from model.synth.pages.screens import screenshot_page
from model.synth.pages.signs import sign_page
from model.synth.pages.tables import table_page
from model.synth.pages.typefaces import Fonts
from model.synth.pages.vertical import vertical_page
from model.synth.render import degrade

ROTATIONS = (0, 90, 180, 270)  # clockwise quarter turns of the finished page
ROTATION_WEIGHTS = (0.82, 0.06, 0.06, 0.06)

# Name: (share of pages, layout). A layout returns a typeset sheet whose lines are already in reading order.
LAYOUTS: dict[str, tuple[float, Callable[[Kit, random.Random], Sheet]]] = {
    "document": (0.2, document_page),
    "columns": (0.12, columns_page),
    "table": (0.14, table_page),
    "receipt": (0.14, receipt_page),
    "screenshot": (0.13, screenshot_page),
    "sign": (0.1, sign_page),
    "vertical": (0.1, vertical_page),
    "empty": (0.04, empty_page),
}
# How each layout usually reaches us: born digital (flat), scanned, photographed as a page lying on a
# desk, or photographed as a scene (the sign is already in perspective: light and artefacts only).
CAPTURE_MODES = ("flat", "scan", "photo", "scene")
CAPTURE = {
    "document": (0.3, 0.4, 0.3, 0.0),
    "columns": (0.3, 0.4, 0.3, 0.0),
    "table": (0.3, 0.4, 0.3, 0.0),
    "vertical": (0.2, 0.5, 0.3, 0.0),
    "receipt": (0.1, 0.2, 0.7, 0.0),
    "sign": (0.0, 0.0, 0.0, 1.0),
    "screenshot": (1.0, 0.0, 0.0, 0.0),
    "empty": (0.3, 0.3, 0.2, 0.2),
}


class PageRenderer:
    """Draws whole synthetic pages with ground truth for every line.

    ``degradation`` scales the capture artefacts (1.0: the full mix; 0.0: clean, flat pages),
    like ``LineRenderer``'s. Orientation is not a degradation: pages are turned regardless.
    """

    def __init__(self, fonts: list[FontFace], corpus: Corpus, degradation: float = 1.0) -> None:
        groups = Fonts.of(fonts)
        if not groups.cjk:
            raise ValueError("no CJK font found; install the fonts-* packages listed in the README")
        self.kit = Kit(corpus, groups)
        self.degradation = degradation

    def render(self, rng: random.Random, layout: str | None = None, rotation: int | None = None) -> Page:
        """One page. ``layout`` and ``rotation`` force a choice that is otherwise drawn at random;
        the draw is made either way, so a forced value changes nothing else on the page."""
        names = list(LAYOUTS)
        drawn_layout = rng.choices(names, [LAYOUTS[n][0] for n in names])[0]
        drawn_rotation = rng.choices(ROTATIONS, ROTATION_WEIGHTS)[0]
        layout = layout or drawn_layout
        rotation = drawn_rotation if rotation is None else rotation
        if layout not in LAYOUTS or rotation not in ROTATIONS:
            raise ValueError(f"unknown layout {layout!r} or rotation {rotation!r}")
        sheet = LAYOUTS[layout][1](self.kit, rng)
        image = sheet.flatten(rng)
        boxes = np.stack([line.box for line in sheet.lines]) if sheet.lines else np.zeros((0, 4, 2), np.float32)
        image, boxes = self.capture(image, boxes, layout, rng)
        image, boxes = turn(image, boxes, rotation)
        h, w = image.shape[:2]
        boxes = np.clip(boxes, 0, [w - 1, h - 1]).astype(np.float32)
        lines = [
            PageLine(line.text, box, line.vertical, i, line.kind)
            for i, (line, box) in enumerate(zip(sheet.lines, boxes))
        ]
        return Page(image, lines, layout, rotation)

    def capture(
        self, image: np.ndarray, boxes: np.ndarray, layout: str, rng: random.Random
    ) -> tuple[np.ndarray, np.ndarray]:
        """RGB sheet in, BGR page out: lighting and geometry of a scan or photo as ``layout``'s pages
        are captured, then ``degrade``; real pages are captured the same way."""
        mode = rng.choices(CAPTURE_MODES, CAPTURE[layout])[0]
        strength = self.degradation * (0.3 if mode == "flat" else rng.uniform(0.3, 1.0))
        if mode != "flat" and rng.random() < self.degradation:
            if rng.random() < (0.3 if mode == "scan" else 0.7):
                image = lighting(image, rng)
            if mode != "scene":
                image, boxes = warp(image, boxes, rng, photo=mode == "photo")
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if strength > 0:
            image = degrade(image, rng, strength, geometry=False)
        return image, boxes


def draw_boxes(page: Page) -> np.ndarray:
    """The page with every box outlined (vertical lines in red) and its reading-order index written at
    corner 0, where the text starts: to check the ground truth by eye."""
    image = page.image.copy()
    for line in page.lines:
        colour = (0, 0, 255) if line.vertical else (0, 160, 0)
        cv2.polylines(image, [np.int32(np.round(line.box))], True, colour, 2)
        x, y = (int(v) for v in line.box[0])
        cv2.circle(image, (x, y), 4, (255, 0, 0), -1)
        cv2.putText(image, str(line.order), (x + 3, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 0, 0), 1)
    return image
