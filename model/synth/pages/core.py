"""The flat page while it is typeset, and the page that comes out: what every layout builds on.

A layout writes lines onto a ``Sheet``. Main-ink text goes into one ink mask per page, so that the
print defects of ``render.py`` act on all strokes alike, and is composited onto the background at the
end (``Sheet.flatten``); coloured text (headings, UI, signs) is composited at once.

Coordinates follow OpenCV: pixel centres at integers, x right, y down. Each line's box is a 4x2
float32 quadrilateral, clockwise from the top-left corner *of the text itself*: after a page is
turned by 90 degrees, corner 0 is still where the text starts, which tells a recogniser how to crop.
For vertical lines (upright characters stacked top to bottom) the corners follow the upright
column, so edge 0-1 is the column's short top edge and reading runs from it towards edge 3-2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw

from model.inference.charset import Charset, is_hanzi
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace
from model.synth.pages.typefaces import Fonts, Type
from model.synth.render import Colour, print_defects, sign_effect

LONG_SIDE_MAX = 1600
# Marks kept in vertical lines; they sit in the top-right corner of their cell there.
VERTICAL_MARKS = "，。、"


@dataclass(frozen=True)
class PageLine:
    """One text line: its text, where it is (4x2 float32 quadrilateral, see the module docstring),
    whether it is a vertical line, its index in reading order, and the layout block it belongs to."""

    text: str
    box: np.ndarray
    vertical: bool
    order: int
    kind: str

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "box": [[round(float(x), 2), round(float(y), 2)] for x, y in self.box],
            "vertical": self.vertical,
            "order": self.order,
            "kind": self.kind,
        }


@dataclass
class Page:
    """A page image (BGR uint8, H x W x 3) and its lines in reading order. ``rotation`` is how far
    the finished page was turned clockwise (0, 90, 180 or 270 degrees); turning the image back by
    that much makes the text upright."""

    image: np.ndarray
    lines: list[PageLine]
    layout: str
    rotation: int
    # Quadrilaterals (N, 4, 2) a detector should neither learn from nor be punished for: on a real
    # page, text whose pixels disagree with its label. Rendered pages have none.
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2), np.float32))

    def to_json(self) -> dict:
        height, width = self.image.shape[:2]
        return {
            "width": width,
            "height": height,
            "layout": self.layout,
            "rotation": self.rotation,
            "lines": [line.to_json() for line in self.lines],
        }


def _line_mask(text: str, kind: Type, spacing: int = 0) -> tuple[np.ndarray, int]:
    """Ink coverage (float32, 0-1) of one horizontal line whose line box (ascent to descent) has its
    top-left corner at (margin, margin); the margin catches overhangs and italics. ``spacing`` adds
    pixels between letters (spaced-out titles)."""
    font = kind.font
    ascent, descent = font.getmetrics()
    margin = kind.size // 2 + 2
    advance = [font.getlength(c) + spacing for c in text] if spacing else []
    text_width = sum(advance) - spacing if spacing else font.getlength(text)
    canvas = Image.new("L", (int(text_width) + 2 * margin + 1, ascent + descent + 2 * margin), 0)
    draw = ImageDraw.Draw(canvas)
    if not spacing:
        draw.text((margin, margin), text, font=font, fill=255)
    else:
        x = float(margin)
        for char, step in zip(text, advance):
            draw.text((x, margin), char, font=font, fill=255)
            x += step
    return np.asarray(canvas, np.float32) / 255.0, margin


def _column_mask(text: str, kind: Type, advance: float) -> tuple[np.ndarray, int]:
    """Ink coverage of a vertical line: upright characters stacked top to bottom, each centred in a
    square cell (side ``kind.size``, pitch ``advance``); the column's top-left cell corner is at
    (margin, margin). Every glyph is centred by the em box of a full-width character, so marks keep
    their place inside the cell and are then moved to its top-right corner, as vertical type sets them."""
    font, size = kind.font, kind.size
    _, top, _, bottom = font.getbbox("国")
    margin = size // 2 + 2
    canvas = Image.new("L", (size + 2 * margin, int(advance * len(text)) + 2 * margin), 0)
    draw = ImageDraw.Draw(canvas)
    for i, char in enumerate(text):
        x = margin + size / 2 - font.getlength(char) / 2
        y = margin + advance * i + advance / 2 - (top + bottom) / 2
        if char in VERTICAL_MARKS:
            x, y = x + 0.5 * size, y - 0.55 * size
        draw.text((x, y), char, font=font, fill=255)
    return np.asarray(canvas, np.float32) / 255.0, margin


def quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


@dataclass
class Line:
    """A line as typeset on the flat sheet; ``PageLine`` is what it becomes on the finished page."""

    text: str
    box: np.ndarray
    vertical: bool
    kind: str


@dataclass
class Sheet:
    """The flat, upright page while it is typeset: an RGB float32 image, the main-ink mask (drawn in
    the ink colour at the end, after the page's print defects), and the lines in reading order."""

    image: np.ndarray
    ink: Colour
    charset: Charset
    defects: bool = True  # printed matter: fading thermal paper, dot matrix, thin or heavy strokes
    lines: list[Line] = field(default_factory=list)
    mask: np.ndarray = field(init=False)
    body_size: int = 20

    def __post_init__(self) -> None:
        self.image = self.image.astype(np.float32)
        self.mask = np.zeros(self.image.shape[:2], np.float32)

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]

    def fill(self, x0: float, y0: float, x1: float, y1: float, colour: Colour, radius: int = 0) -> None:
        """A filled (optionally rounded) rectangle: panels, bars, buttons, shaded table rows."""
        x0, y0, x1, y1 = (round(v) for v in (x0, y0, x1, y1))
        radius = max(0, min(radius, (x1 - x0) // 2, (y1 - y0) // 2))
        colour = tuple(float(c) for c in colour)
        cv2.rectangle(self.image, (x0 + radius, y0), (x1 - radius, y1), colour, -1)
        cv2.rectangle(self.image, (x0, y0 + radius), (x1, y1 - radius), colour, -1)
        if radius:
            for cx, cy in (
                (x0 + radius, y0 + radius),
                (x1 - radius, y0 + radius),
                (x0 + radius, y1 - radius),
                (x1 - radius, y1 - radius),
            ):
                cv2.circle(self.image, (cx, cy), radius, colour, -1, cv2.LINE_AA)

    def rule(
        self, x0: float, y0: float, x1: float, y1: float, colour: Colour | None = None, thickness: int = 1
    ) -> None:
        colour = tuple(float(c) for c in (colour or self.ink))
        cv2.line(self.image, (round(x0), round(y0)), (round(x1), round(y1)), colour, thickness)

    def clean(self, text: str, face: FontFace) -> str:
        """Only characters that the charset has and the face draws; no doubled or edge spaces."""
        kept = "".join(c for c in self.charset.filter(text) if c == " " or c in face.coverage)
        return " ".join(kept.split())

    def write(
        self,
        text: str,
        kind: Type,
        x: float,
        y: float,
        block: str,
        colour: Colour | None = None,
        spacing: int = 0,
        effect: tuple[Colour, random.Random] | None = None,
    ) -> bool:
        """Sets a horizontal line with its line box's top-left corner at (x, y). ``colour`` None draws
        in the page's ink; ``spacing`` spreads the letters; ``effect`` (colour, rng) adds a sign outline or
        drop shadow in that colour. Returns False (and draws nothing) when the line's ink would not lie
        inside the sheet."""
        text = self.clean(text, kind.face)
        if not text:
            return False
        mask, margin = _line_mask(text, kind, spacing)
        return self._place(text, mask, x - margin, y - margin, kind.size, block, False, colour, effect)

    def write_vertical(
        self, text: str, kind: Type, x: float, y: float, advance: float, block: str, colour: Colour | None = None
    ) -> bool:
        """Sets a vertical line whose first cell's top-left corner is at (x, y)."""
        text = "".join(c for c in self.clean(text, kind.face) if is_hanzi(c) or c in VERTICAL_MARKS)
        if len(text) < 2:
            return False
        mask, margin = _column_mask(text, kind, advance)
        return self._place(text, mask, x - margin, y - margin, kind.size, block, True, colour, None)

    def _place(
        self,
        text: str,
        mask: np.ndarray,
        left: float,
        top: float,
        size: int,
        block: str,
        vertical: bool,
        colour: Colour | None,
        effect: tuple[Colour, random.Random] | None,
    ) -> bool:
        left, top = round(left), round(top)
        rows = np.flatnonzero(mask.max(axis=1) > 0.2)
        cols = np.flatnonzero(mask.max(axis=0) > 0.2)
        if not rows.size:
            return False
        y0, y1, x0, x1 = top + rows[0], top + rows[-1], left + cols[0], left + cols[-1]
        if x0 < 0 or y0 < 0 or x1 >= self.width or y1 >= self.height or (vertical and y1 - y0 <= x1 - x0):
            return False
        pad = max(1, round(size * 0.06))
        box = quad(max(0, x0 - pad), max(0, y0 - pad), min(self.width - 1, x1 + pad), min(self.height - 1, y1 + pad))
        if effect is not None:
            effect_colour, rng = effect
            self._composite(sign_effect(mask, size, rng), left, top, effect_colour)
        if colour is None:
            self._stamp(mask, left, top)
        else:
            self._composite(mask, left, top, colour)
        self.lines.append(Line(text, box, vertical, block))
        return True

    def _window(self, mask: np.ndarray, left: int, top: int) -> tuple[tuple[slice, slice], np.ndarray]:
        """The part of the sheet under ``mask`` placed at (left, top), and the matching part of mask."""
        h, w = mask.shape
        y0, x0 = max(0, top), max(0, left)
        y1, x1 = min(self.height, top + h), min(self.width, left + w)
        return (slice(y0, y1), slice(x0, x1)), mask[y0 - top : y1 - top, x0 - left : x1 - left]

    def _stamp(self, mask: np.ndarray, left: int, top: int) -> None:
        window, part = self._window(mask, left, top)
        np.maximum(self.mask[window], part, out=self.mask[window])

    def _composite(self, mask: np.ndarray, left: int, top: int, colour: Colour) -> None:
        window, part = self._window(mask, left, top)
        alpha = part[:, :, None]
        self.image[window] = self.image[window] * (1.0 - alpha) + np.float32(colour) * alpha

    def flatten(self, rng: random.Random) -> np.ndarray:
        """RGB uint8: the main-ink text, after the page's print defects, composited onto the sheet."""
        mask = self.mask
        if self.defects and self.body_size >= 18 and self.lines:
            mask = print_defects(mask, self.body_size, rng)
        alpha = mask[:, :, None]
        return np.clip(self.image * (1.0 - alpha) + np.float32(self.ink) * alpha, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Kit:
    """What every layout is given: the corpus to write from and the fonts to set it in."""

    corpus: Corpus
    fonts: Fonts

    @property
    def charset(self) -> Charset:
        return self.corpus.charset


def clamp(value: float, low: int, high: int) -> int:
    """``value`` rounded and kept within low..high: sizes derived from a page's width."""
    return int(min(high, max(low, round(value))))


def portrait(rng: random.Random, low: int = 600, high: int = 1130) -> tuple[int, int]:
    """(height, width) of an A4-like or letter-like page."""
    width = rng.randint(low, high)
    return min(LONG_SIDE_MAX, round(width * rng.uniform(1.29, 1.42))), width
