"""Renders text lines that look like crops from scans, photos, receipts and screenshots.

Everything random comes from the ``random.Random`` passed in, so a seed reproduces a line exactly.
"""

from __future__ import annotations

import random
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.synth.fonts import FontFace


@lru_cache(maxsize=512)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


class LineRenderer:
    """Draws one text line with a random font, style and capture degradations. Output: BGR uint8."""

    def __init__(self, fonts: list[FontFace], degradation: float = 1.0) -> None:
        if not fonts:
            raise ValueError("no usable fonts found; install the fonts-* packages listed in the README")
        self.fonts = fonts
        self.cjk_fonts = [f for f in fonts if f.cjk]
        self.degradation = degradation

    def pick_font(self, text: str, rng: random.Random) -> FontFace:
        ascii_only = text.isascii()
        # Latin text is drawn by a Latin font most of the time, as in real English documents.
        pool = self.fonts if ascii_only and rng.random() < 0.7 else self.cjk_fonts or self.fonts
        candidates = [f for f in pool if f.covers(text)] or [f for f in self.fonts if f.covers(text)]
        if not candidates:
            raise ValueError(f"no font draws every character of {text!r}")
        return rng.choice(candidates)

    def render(self, text: str, rng: random.Random) -> np.ndarray:
        face = self.pick_font(text, rng)
        size = rng.randint(22, 48)
        font = _font(face.path, face.index, size)
        ink, paper = _colours(rng)
        spacing = rng.choice([0, 0, 0, 0, rng.randint(-1, 2), rng.randint(2, 8)]) * size // 32
        stroke = 1 if rng.random() < 0.06 else 0  # fake bold

        advance = [font.getlength(c) + spacing for c in text]
        text_width = max(1, int(sum(advance) - spacing))
        ascent, descent = font.getmetrics()
        pad_x = [rng.randint(0, size // 2) for _ in range(2)]
        pad_top, pad_bottom = rng.randint(0, size // 4), rng.randint(0, size // 4)
        width = text_width + sum(pad_x) + 2 * stroke
        height = ascent + descent + pad_top + pad_bottom

        canvas = Image.fromarray(_background(height, width, paper, rng))
        draw = ImageDraw.Draw(canvas)
        if spacing == 0:
            draw.text((pad_x[0], pad_top), text, font=font, fill=ink, stroke_width=stroke, stroke_fill=ink)
        else:
            x = float(pad_x[0])
            for char, step in zip(text, advance):
                draw.text((x, pad_top), char, font=font, fill=ink, stroke_width=stroke, stroke_fill=ink)
                x += step
        _decorate(draw, width, height, pad_top + ascent, ink, rng)
        return degrade(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), rng, self.degradation)


def _colours(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Ink and paper colours with enough contrast to be legible; sometimes light text on dark."""
    dark = tuple(rng.randint(0, 90) for _ in range(3))
    light = tuple(rng.randint(150, 255) for _ in range(3))
    if rng.random() < 0.7:  # near-neutral greys, as in most documents
        grey_dark, grey_light = rng.randint(0, 80), rng.randint(170, 255)
        dark, light = (grey_dark,) * 3, (grey_light,) * 3
    return (light, dark) if rng.random() < 0.15 else (dark, light)


def _background(height: int, width: int, paper: tuple[int, int, int], rng: random.Random) -> np.ndarray:
    base = np.empty((height, width, 3), np.float32)
    base[:] = paper
    roll = rng.random()
    if roll < 0.25:  # smooth gradient (uneven lighting)
        ramp = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0), width, dtype=np.float32)
        base *= ramp[None, :, None]
    elif roll < 0.45:  # paper grain / texture
        nrng = np.random.default_rng(rng.getrandbits(32))
        noise = nrng.normal(0, rng.uniform(3, 15), (height // 4 + 1, width // 4 + 1)).astype(np.float32)
        base += cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None]
    return np.clip(base, 0, 255).astype(np.uint8)


def _decorate(draw: ImageDraw.ImageDraw, width: int, height: int, baseline: int, ink, rng: random.Random) -> None:
    """Underlines and table rules, as in forms and invoices."""
    roll = rng.random()
    line_width = rng.randint(1, 2)
    if roll < 0.06:
        y = min(height - 1, baseline + rng.randint(1, 4))
        draw.line([(0, y), (width, y)], fill=ink, width=line_width)
    elif roll < 0.12:
        for y in (rng.randint(0, 2), height - 1 - rng.randint(0, 2)):
            draw.line([(0, y), (width, y)], fill=ink, width=line_width)
    elif roll < 0.16:
        for x in (rng.randint(0, 2), width - 1 - rng.randint(0, 2)):
            draw.line([(x, 0), (x, height)], fill=ink, width=line_width)


def degrade(image: np.ndarray, rng: random.Random, strength: float = 1.0) -> np.ndarray:
    """Capture artefacts: geometry, blur, resolution loss, exposure, noise, binarisation, JPEG.

    ``strength`` scales how often each artefact is applied (1.0: the full mix, 0.0: none); training
    starts with fewer so that CTC finds the alignment sooner.
    """
    nrng = np.random.default_rng(rng.getrandbits(32))
    h, w = image.shape[:2]
    border = tuple(int(v) for v in np.median(image.reshape(-1, 3), axis=0))
    if rng.random() < 0.3 * strength:
        angle = rng.uniform(-2.0, 2.0)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if rng.random() < 0.2 * strength:
        d = 0.06 * h
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)])
        image = cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=border)
    if rng.random() < 0.25 * strength:  # low resolution: thumbnails, plates, far-away signs
        factor = rng.uniform(0.35, 0.8)
        small = cv2.resize(image, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3 * strength:
        k = rng.choice([3, 3, 5])
        image = cv2.GaussianBlur(image, (k, k), rng.uniform(0.3, 1.2))
    elif rng.random() < 0.05 * strength:  # motion blur
        k = rng.randint(3, 5)
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        image = cv2.filter2D(image, -1, kernel)
    image = image.astype(np.float32)
    if rng.random() < 0.4 * strength:  # exposure and contrast
        image = (image - 128.0) * rng.uniform(0.5, 1.3) + 128.0 + rng.uniform(-50, 50)
    if rng.random() < 0.15 * strength:  # shadow over part of the line
        x0 = rng.randint(0, w - 1)
        image[:, x0 : x0 + rng.randint(w // 8 + 1, w // 2 + 1)] *= rng.uniform(0.5, 0.85)
    if rng.random() < 0.35 * strength:
        image += nrng.normal(0, rng.uniform(2, 14), image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.08 * strength:  # bi-level scan
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        image = cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3 * strength:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 90)])
        if ok:
            image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return image
