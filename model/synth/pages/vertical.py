"""Traditional vertical Chinese: columns of upright characters, read top to bottom, right to left."""

from __future__ import annotations

import random
import re

from model.inference.charset import is_hanzi
from model.synth.pages.colours import paper_sheet
from model.synth.pages.core import LONG_SIDE_MAX, VERTICAL_MARKS, Kit, Sheet, clamp, portrait
from model.synth.pages.text import prose, short


def vertical_page(kit: Kit, rng: random.Random) -> Sheet:
    """Traditional vertical Chinese: columns of upright characters read top to bottom, columns right
    to left, paragraphs indented two cells, sometimes ruled between columns, a title column first."""
    if rng.random() < 0.6:
        height, width = portrait(rng)
    else:
        width = rng.randint(900, LONG_SIDE_MAX)
        height = round(width * rng.uniform(0.62, 0.8))
    sheet = paper_sheet(rng, height, width, kit.charset)
    margin_x, margin_y = width * rng.uniform(0.05, 0.1), height * rng.uniform(0.05, 0.1)
    size = clamp((height - 2 * margin_y) / rng.uniform(16, 36), 14, 40)
    sheet.body_size = size
    body = kit.fonts.pick(rng, "zh", size, style="serif" if rng.random() < 0.7 else "any", weight="regular")
    advance = size * rng.uniform(1.0, 1.15)
    pitch = size * rng.uniform(1.45, 2.1)
    cells = int((height - 2 * margin_y) / advance)
    ruled = rng.random() < 0.3
    x = width - margin_x - size
    if rng.random() < 0.5:  # title column, larger and set apart
        title = kit.fonts.pick(rng, "zh", size * rng.uniform(1.2, 1.6), weight="bold")
        count = int((height - 2 * margin_y) / (title.size * 1.05))
        sheet.write_vertical(
            short(kit.corpus, rng, "zh", 4)[:count],
            title,
            x - (title.size - size),
            margin_y,
            title.size * 1.05,
            "heading",
        )
        x -= title.size + pitch
    while x > margin_x:
        text = prose(kit.corpus, rng, "zh", rng.randint(cells // 2, cells * 5))
        text = "".join(c for c in text if is_hanzi(c) or c in VERTICAL_MARKS)
        text = re.sub(f"[{VERTICAL_MARKS}]+", lambda run: run.group()[-1], text).lstrip(VERTICAL_MARKS)
        first = 2  # paragraph indent, in cells
        while text and x > margin_x:
            take = cells - first
            if len(text) > take and text[take] in VERTICAL_MARKS:
                take += 1  # a mark hangs below the last cell rather than opening the next column
            sheet.write_vertical(text[:take], body, x, margin_y + first * advance, advance, "vertical")
            if ruled:
                sheet.rule(x - (pitch - size) / 2, margin_y, x - (pitch - size) / 2, height - margin_y)
            text, first = text[take:], 0
            x -= pitch
        if rng.random() < 0.1:
            break
    return sheet
