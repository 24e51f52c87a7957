"""Small helpers shared by tests: fixture images made on the fly, never files from elsewhere."""

from __future__ import annotations

import random

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.synth.fonts import FontFace

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def render_clean_line(text: str, font_path: str = LATIN_FONT, size: int = 40, index: int = 0) -> np.ndarray:
    """Black text on white with a small margin, like a crop from a clean document. Shape: (H, W)."""
    font = ImageFont.truetype(font_path, size, index=index)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 4
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=0)
    return np.asarray(image)


def render_plate(registration: str, state: str) -> np.ndarray:
    """A licence plate as a tight crop shows it (BGR, 320 x 156): the state's name small above a large
    registration."""
    image = Image.new("RGB", (320, 156), (235, 235, 225))
    draw = ImageDraw.Draw(image)
    draw.text((110, 10), state, font=ImageFont.truetype(BOLD_FONT, 22), fill=(20, 40, 120))
    draw.text((25, 50), registration, font=ImageFont.truetype(BOLD_FONT, 64), fill=(20, 40, 120))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def png_bytes(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def pick_cjk_font(fonts: list[FontFace], name_part: str = "Noto Sans CJK SC") -> FontFace:
    matches = [f for f in fonts if f.cjk and name_part in f.name]
    return matches[0] if matches else random.Random(0).choice([f for f in fonts if f.cjk])


CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def render_page(lines: list[str], vertical: bool = False, size: int = 36, font_path: str = CJK_FONT) -> np.ndarray:
    """A clean white page (gray, H x W) with ``lines`` typeset one below the other, or, with
    ``vertical``, as columns of upright characters read top to bottom, right to left."""
    font = ImageFont.truetype(font_path, size)
    margin, pitch = 2 * size, int(size * 1.8)
    longest = max(len(line) for line in lines)
    if vertical:
        width, height = 2 * margin + pitch * len(lines), 2 * margin + int(size * 1.15) * longest
    else:
        width = 2 * margin + max(int(font.getlength(line)) for line in lines)
        height = 2 * margin + pitch * len(lines)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        if vertical:
            x = width - margin - (i + 1) * pitch + (pitch - size) // 2
            for j, char in enumerate(line):
                draw.text((x, margin + j * int(size * 1.15)), char, font=font, fill=0)
        else:
            draw.text((margin, margin + i * pitch), line, font=font, fill=0)
    return np.asarray(image)
