"""Renders text lines that look like crops from scans, photos, receipts and screenshots.

A line is drawn as an ink mask first, so that print defects (thermal fading, dot-matrix heads,
thin or heavy strokes) and sign effects (outlines, drop shadows) act on the strokes alone; the mask
is then composited onto a background and the capture artefacts of ``degrade`` follow.
Everything random comes from the ``random.Random`` passed in, so a seed reproduces a line exactly.
"""

from __future__ import annotations

import colorsys
import random
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.synth.alphabet import FORM_MARKS
from model.synth.fonts import FontFace

Colour = tuple[int, int, int]
# Marks a line's face may lack, drawn from another face (``LineRenderer.borrowed_glyphs``).
BORROWED = frozenset(FORM_MARKS)


@lru_cache(maxsize=4096)  # every face at every size drawn: 150 x 27
def cached_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    """A face at a size, loaded once: lines and synthetic pages (``model/synth/pages``) draw the same faces."""
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
        """A face that draws ``text``, the form marks (``BORROWED``) apart if no face draws it all."""
        ascii_only = text.isascii()
        # Latin text is drawn by a Latin font most of the time, as in real English documents.
        pool = self.fonts if ascii_only and rng.random() < 0.7 else self.cjk_fonts or self.fonts
        for needed in (text, "".join(c for c in text if c not in BORROWED)):
            candidates = [f for f in pool if f.covers(needed)] or [f for f in self.fonts if f.covers(needed)]
            if candidates:
                return rng.choice(candidates)
        raise ValueError(f"no font draws every character of {text!r}")

    def borrowed_glyphs(
        self, text: str, face: FontFace, size: int, rng: random.Random
    ) -> dict[str, ImageFont.FreeTypeFont]:
        """The characters of ``text`` that ``face`` lacks, each with the font of a face that draws
        them all, as a word processor substitutes a symbol face; empty when ``face`` draws them."""
        missing = {c for c in text if c != " " and c not in face.coverage}
        if not missing:
            return {}
        lenders = [f for f in self.fonts if f.coverage.issuperset(missing)]
        if not lenders:
            raise ValueError(f"no font draws {''.join(sorted(missing))!r}")
        lender = rng.choice(lenders)
        # A symbol face's boxes are smaller than a hanzi at the same size; documents often enlarge them.
        return dict.fromkeys(missing, cached_font(lender.path, lender.index, int(size * rng.uniform(1.0, 1.3))))

    def render(self, text: str, rng: random.Random) -> np.ndarray:
        face = self.pick_font(text, rng)
        size = rng.randint(22, 48)
        font = cached_font(face.path, face.index, size)
        mask, baseline = _text_mask(text, font, size, rng, self.borrowed_glyphs(text, face, size, rng))
        mask = print_defects(mask, size, rng)
        if rng.random() < 0.3:  # crops cut tight to the ink, as detectors and annotators often do
            mask = _crop_to_ink(mask, rng)
        ink, paper = _colours(rng)
        image = background(*mask.shape, paper, rng)
        if rng.random() < 0.1:  # sign lettering: an outline or a drop shadow in a third colour
            image = _composite(image, sign_effect(mask, size, rng), _contrasting(ink, rng))
        image = _composite(image, mask, ink)
        _decorate(image, baseline, ink, rng)
        image = _reshape(image, paper, rng)
        return degrade(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), rng, self.degradation)


def _text_mask(
    text: str,
    font: ImageFont.FreeTypeFont,
    size: int,
    rng: random.Random,
    borrowed: dict[str, ImageFont.FreeTypeFont] | None = None,
) -> tuple[np.ndarray, int]:
    """Ink coverage (float32, 0-1) of the line with random margins, and the baseline row. The
    characters in ``borrowed`` are drawn in their own font."""
    borrowed = borrowed or {}
    fonts = [borrowed.get(c, font) for c in text]
    spacing = rng.choice([0, 0, 0, 0, rng.randint(-1, 2), rng.randint(2, 8)]) * size // 32
    stroke = 1 if rng.random() < 0.06 else 0  # fake bold
    advance = [f.getlength(c) + spacing for c, f in zip(text, fonts)] if spacing or borrowed else []
    text_width = max(1, int(sum(advance) - spacing if advance else font.getlength(text)))
    ascent, descent = font.getmetrics()
    line_height = ascent + descent
    pad_x = [rng.randint(0, size // 2) for _ in range(2)]
    pad_top, pad_bottom = rng.randint(0, size // 4), rng.randint(0, size // 4)
    slivers = _sliver_sides(rng) if len(text) > 1 else (0.0, 0.0)
    # A page's line crop reaches into the lines above and below by up to a third of a line.
    pad_top += int(slivers[0] * line_height)
    pad_bottom += int(slivers[1] * line_height)
    width = text_width + sum(pad_x) + 2 * stroke
    height = line_height + pad_top + pad_bottom

    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    if not advance:
        draw.text((pad_x[0], pad_top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    else:
        x = float(pad_x[0])
        for char, glyph_font, step in zip(text, fonts, advance):
            # On the baseline, so that a borrowed glyph stands on the same line as its neighbours.
            draw.text(
                (x, pad_top + ascent),
                char,
                font=glyph_font,
                anchor="ls",
                fill=255,
                stroke_width=stroke,
                stroke_fill=255,
            )
            x += step
    # The neighbouring lines are set in the same font and script at a page's leading (0.9-1.3 lines
    # apart, so their descenders and ascenders may touch this line's), shuffled so they never spell
    # the label.
    leading = int(line_height * rng.uniform(0.9, 1.3))
    for side, share in zip((-1, 1), slivers):
        if share:
            neighbour = "".join(rng.sample(text, len(text)))
            neighbour = "".join(c for c in neighbour if c not in borrowed)
            draw.text((pad_x[0] + rng.randint(-size, size), pad_top + side * leading), neighbour, font=font, fill=255)
    return np.asarray(canvas, np.float32) / 255.0, pad_top + ascent


def _sliver_sides(rng: random.Random) -> tuple[float, float]:
    """How far (in line heights) the crop reaches into the line above and the line below; mostly 0."""
    if rng.random() >= 0.15:
        return 0.0, 0.0
    above, below = rng.choice([(True, False), (False, True), (True, True)])
    return (rng.uniform(0.05, 0.35) if above else 0.0), (rng.uniform(0.05, 0.35) if below else 0.0)


def print_defects(mask: np.ndarray, size: int, rng: random.Random) -> np.ndarray:
    """Thermal-receipt fading, dot-matrix printing, thin and heavy strokes; pages reuse it on their ink."""
    roll = rng.random()
    if roll < 0.06:  # faded thermal print: strokes broken up by a fine random field
        nrng = np.random.default_rng(rng.getrandbits(32))
        h, w = mask.shape
        cell = max(1, size // rng.randint(6, 12))
        field = nrng.random((h // cell + 1, w // cell + 1)).astype(np.float32)
        field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        mask = mask * np.clip((field - rng.uniform(0.1, 0.35)) * 4.0, 0.0, 1.0)
    elif roll < 0.09:  # dot-matrix: the strokes become rows and columns of dots
        pitch = max(2, size // rng.randint(7, 11))
        mask = cv2.dilate(mask, np.ones((pitch, pitch), np.uint8))
        ys, xs = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
        dots = ((ys % pitch - pitch / 2) ** 2 + (xs % pitch - pitch / 2) ** 2) <= (pitch * 0.45) ** 2
        mask = cv2.GaussianBlur(mask * dots, (3, 3), 0.6)
    elif roll < 0.14:
        kernel = np.ones((2, 2), np.uint8)
        mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    return mask


def _crop_to_ink(mask: np.ndarray, rng: random.Random) -> np.ndarray:
    cols = np.flatnonzero(mask.max(axis=0) > 0.3)
    rows = np.flatnonzero(mask.max(axis=1) > 0.3)
    if not cols.size:
        return mask
    h, w = mask.shape
    left, right = max(0, cols[0] - rng.randint(0, 3)), min(w, cols[-1] + 1 + rng.randint(0, 3))
    top, bottom = 0, h
    if rng.random() < 0.5:
        top, bottom = max(0, rows[0] - rng.randint(0, 3)), min(h, rows[-1] + 1 + rng.randint(0, 3))
    return mask[top:bottom, left:right]


def sign_effect(mask: np.ndarray, size: int, rng: random.Random) -> np.ndarray:
    """A sign's outline or drop shadow of the strokes in ``mask``; shared with the signs of synthetic pages."""
    reach = max(1, size // rng.randint(10, 20))
    if rng.random() < 0.5:
        return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    shift = np.float32([[1, 0, reach * rng.choice([-1, 1])], [0, 1, reach]])
    return cv2.warpAffine(mask, shift, (mask.shape[1], mask.shape[0]))


def _composite(image: np.ndarray, mask: np.ndarray, colour: Colour) -> np.ndarray:
    alpha = mask[:, :, None]
    return (image * (1.0 - alpha) + np.float32(colour) * alpha).astype(np.uint8)


def _colours(rng: random.Random) -> tuple[Colour, Colour]:
    """Ink and paper colours with enough contrast to be legible: mostly greys, sometimes colour,
    sometimes the saturated plates and signboards of street scenes; sometimes light text on dark."""
    roll = rng.random()
    if roll < 0.65:  # near-neutral greys, as in most documents
        dark, light = (rng.randint(0, 80),) * 3, (rng.randint(170, 255),) * 3
    elif roll < 0.85:
        dark = tuple(rng.randint(0, 90) for _ in range(3))
        light = tuple(rng.randint(150, 255) for _ in range(3))
    else:
        saturated = hsv(rng.random(), rng.uniform(0.6, 1.0), rng.uniform(0.35, 0.85))
        plain = rng.choice([(255, 255, 255), (rng.randint(0, 40),) * 3, hsv(rng.uniform(0.1, 0.17), 0.9, 1.0)])
        return (plain, saturated) if rng.random() < 0.7 else (saturated, plain)
    return (light, dark) if rng.random() < 0.15 else (dark, light)


def hsv(hue: float, saturation: float, value: float) -> Colour:
    """RGB 0-255 from HSV 0-1: how lines and synthetic pages pick saturated colours."""
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)


def _contrasting(colour: Colour, rng: random.Random) -> Colour:
    if sum(colour) > 380:
        return tuple(rng.randint(0, 70) for _ in range(3))
    return tuple(rng.randint(185, 255) for _ in range(3))


def background(height: int, width: int, paper: Colour, rng: random.Random) -> np.ndarray:
    """Flat, gradient or grainy paper (RGB uint8); synthetic pages use it for their sheets too."""
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


def _decorate(image: np.ndarray, baseline: int, ink: Colour, rng: random.Random) -> None:
    """Underlines and table rules, as in forms and invoices (drawn in place)."""
    height, width = image.shape[:2]
    roll = rng.random()
    thickness = rng.randint(1, 2)
    if roll < 0.06:
        y = min(height - 1, baseline + rng.randint(1, 4))
        cv2.line(image, (0, y), (width, y), ink, thickness)
    elif roll < 0.12:
        for y in (rng.randint(0, 2), height - 1 - rng.randint(0, 2)):
            cv2.line(image, (0, y), (width, y), ink, thickness)
    elif roll < 0.16:
        for x in (rng.randint(0, 2), width - 1 - rng.randint(0, 2)):
            cv2.line(image, (x, 0), (x, height), ink, thickness)


def _reshape(image: np.ndarray, paper: Colour, rng: random.Random) -> np.ndarray:
    """Condensed and expanded typefaces, and italic or slanted lettering."""
    h, w = image.shape[:2]
    if rng.random() < 0.25:
        w = max(1, int(w * rng.uniform(0.6, 1.35)))
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.1:
        shear = rng.uniform(-0.3, 0.3)
        extra = int(abs(shear) * h) + 1
        matrix = np.float32([[1, shear, extra / 2 - shear * h / 2], [0, 1, 0]])
        image = cv2.warpAffine(image, matrix, (w + extra, h), borderMode=cv2.BORDER_CONSTANT, borderValue=paper)
    return image


def degrade(image: np.ndarray, rng: random.Random, strength: float = 1.0, *, geometry: bool = True) -> np.ndarray:
    """Capture artefacts: geometry, blur, resolution loss, exposure, noise, binarisation, JPEG.

    ``strength`` scales how often each artefact is applied (1.0: the full mix, 0.0: none); training
    starts with fewer so that CTC finds the alignment sooner. ``geometry=False`` skips the rotation and
    perspective steps, for callers (synthetic pages) that warp the image themselves and must keep
    their ground-truth boxes in step; the default draws exactly as before.
    """
    nrng = np.random.default_rng(rng.getrandbits(32))
    h, w = image.shape[:2]
    border = tuple(int(v) for v in np.median(image[::3, ::3].reshape(-1, 3), axis=0))  # ~ the paper
    if geometry and rng.random() < 0.3 * strength:
        # Mostly the slight skew of scans; now and then the tilt of a photographed sign.
        angle = rng.uniform(-2.0, 2.0) if rng.random() < 0.85 else rng.uniform(-6.0, 6.0)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if geometry and rng.random() < 0.2 * strength:
        d = (0.06 if rng.random() < 0.8 else 0.15) * h
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
    if rng.random() < 0.12 * strength:  # bi-level scan, sometimes rescaled afterwards (jagged edges)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        if rng.random() < 0.4:
            factor = rng.uniform(0.5, 0.9)
            small = cv2.resize(
                binary, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_NEAREST
            )
            binary = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        image = cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3 * strength:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 90)])
        if ok:
            image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return image
