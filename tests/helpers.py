"""Small helpers shared by tests: fixture images made on the fly, never files from elsewhere."""

from __future__ import annotations

import random

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.synth.fonts import FontFace

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def render_clean_line(text: str, font_path: str = LATIN_FONT, size: int = 40, index: int = 0) -> np.ndarray:
    """Black text on white with a small margin, like a crop from a clean document. Shape: (H, W)."""
    font = ImageFont.truetype(font_path, size, index=index)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 4
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=0)
    return np.asarray(image)


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
