"""Screenshots of phone and desktop apps: flat UI colours, an app bar, sidebars, list rows, cards,
buttons and form fields."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from model.synth.pages.colours import grey, readable_on
from model.synth.pages.core import LONG_SIDE_MAX, Kit, Sheet, clamp
from model.synth.pages.text import amount, fit, language, prose, short, title, wrap
from model.synth.pages.typefaces import Type
from model.synth.render import Colour, hsv


@dataclass(frozen=True)
class _Look:
    """A screen's theme: faces and the colours of text, secondary text, panels and accents."""

    body: Type
    bold: Type
    background: Colour
    muted: Colour
    panel: Colour
    accent: Colour


def screenshot_page(kit: Kit, rng: random.Random) -> Sheet:
    """A phone or desktop screen: flat UI colours, an app bar, maybe a sidebar, list rows, cards,
    buttons and text fields, all in sans faces; coloured text is drawn straight onto its panel."""
    if rng.random() < 0.45:
        height = rng.randint(1000, LONG_SIDE_MAX)
        width = round(height * rng.uniform(0.45, 0.56))
        size = clamp(width / rng.uniform(17, 28), 13, 30)
    else:
        width = rng.randint(1000, LONG_SIDE_MAX)
        height = round(width * rng.uniform(0.56, 0.75))
        size = clamp(width / rng.uniform(55, 90), 12, 24)
    dark = rng.random() < 0.25
    background = grey(rng.randint(16, 40)) if dark else grey(rng.randint(238, 255))
    text = grey(rng.randint(215, 245)) if dark else grey(rng.randint(15, 60))
    image = np.empty((height, width, 3), np.float32)
    image[:] = background
    sheet = Sheet(image, text, kit.charset, defects=False)
    lang = language(rng)
    look = _Look(
        body=kit.fonts.pick(rng, lang, size, style="sans", weight="regular"),
        bold=kit.fonts.pick(rng, lang, size, style="sans", weight="bold"),
        background=background,
        muted=grey(rng.randint(130, 165)) if dark else grey(rng.randint(100, 140)),
        panel=grey(background[0] + (rng.randint(10, 25) if dark else -rng.randint(6, 18))),
        accent=hsv(rng.random(), rng.uniform(0.45, 0.9), rng.uniform(0.5, 0.85)),
    )
    margin = size * rng.uniform(0.8, 1.5)
    bar = _ui_bar(sheet, kit, rng, lang, look, margin)
    x0 = margin
    if height < width and rng.random() < 0.5:  # desktop sidebar: its own column in reading order
        side = width * rng.uniform(0.15, 0.22)
        sheet.fill(0, bar, side, height, look.panel)
        y = bar + size
        while y + size * 2.5 < height:
            sheet.write(fit(short(kit.corpus, rng, lang, 2), look.body, side - 2 * margin), look.body, margin, y, "ui")
            y += size * rng.uniform(2.0, 2.8)
        x0 = side + margin * 1.5
    x1 = width - margin
    y = bar + size * rng.uniform(0.8, 1.5)
    while y + size * 5 < height:
        block = rng.choice([_ui_row, _ui_row, _ui_card, _ui_buttons, _ui_field])
        y = block(sheet, kit, rng, lang, look, x0, x1, y)
        if rng.random() < 0.04:
            break
    return sheet


def _ui_bar(sheet: Sheet, kit: Kit, rng: random.Random, lang: str, look: _Look, margin: float) -> float:
    """The app bar across the top with the screen's title; returns its height."""
    bar = look.body.size * rng.uniform(2.6, 3.6)
    colour = look.accent if rng.random() < 0.6 else look.panel
    sheet.fill(0, 0, sheet.width, bar, colour)
    kind = look.bold.sized(look.body.size * rng.uniform(1.1, 1.4))
    ascent, descent = kind.font.getmetrics()
    text = fit(title(kit.corpus, rng, lang), kind, sheet.width * 0.6)
    x = margin if rng.random() < 0.6 else (sheet.width - kind.width(text)) / 2
    sheet.write(text, kind, x, (bar - ascent - descent) / 2, "ui", readable_on(colour, rng))
    return bar


def _ui_row(
    sheet: Sheet, kit: Kit, rng: random.Random, lang: str, look: _Look, x0: float, x1: float, y: float
) -> float:
    """A list row: bold title with a time or amount flush right, a muted second line, a divider."""
    body, bold = look.body, look.bold
    meta = rng.choice(
        [
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            amount(rng, "¥"),
            f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
            "",
        ]
    )
    meta_width = body.width(meta)
    sheet.write(fit(short(kit.corpus, rng, lang, 4), bold, x1 - x0 - meta_width - body.size * 2), bold, x0, y, "ui")
    if meta:
        sheet.write(meta, body, x1 - meta_width, y, "ui", look.muted)
    y += body.size * 1.6
    if rng.random() < 0.7:
        sheet.write(fit(prose(kit.corpus, rng, lang, 30), body, x1 - x0), body, x0, y, "ui", look.muted)
        y += body.size * 1.6
    sheet.rule(x0, y + body.size * 0.3, x1, y + body.size * 0.3, look.panel)
    return y + body.size * 1.0


def _ui_card(
    sheet: Sheet, kit: Kit, rng: random.Random, lang: str, look: _Look, x0: float, x1: float, y: float
) -> float:
    """A rounded panel holding a heading and a short wrapped paragraph."""
    body = look.body
    pad = body.size
    lines = wrap(prose(kit.corpus, rng, lang, rng.randint(20, 120)), body, x1 - x0 - 2 * pad)[:4]
    pitch = body.size * 1.5
    bottom = y + pad * 2 + pitch * (len(lines) + 1)
    if bottom > sheet.height - body.size:
        return sheet.height
    sheet.fill(x0, y, x1, bottom, look.panel, radius=rng.randint(0, body.size))
    y += pad
    sheet.write(fit(short(kit.corpus, rng, lang, 4), look.bold, x1 - x0 - 2 * pad), look.bold, x0 + pad, y, "ui")
    for line in lines:
        y += pitch
        sheet.write(line, body, x0 + pad, y, "ui")
    return bottom + body.size


def _ui_buttons(
    sheet: Sheet, kit: Kit, rng: random.Random, lang: str, look: _Look, x0: float, x1: float, y: float
) -> float:
    """One to three buttons, filled with the accent colour or outlined in it, label centred."""
    body = look.body
    ascent, descent = body.font.getmetrics()
    height = body.size * rng.uniform(2.0, 2.6)
    x = x0
    for _ in range(rng.randint(1, 3)):
        label = fit(short(kit.corpus, rng, lang, 2), body, (x1 - x0) / 3)
        width = body.width(label) + body.size * rng.uniform(1.5, 3)
        if x + width > x1:
            break
        filled = rng.random() < 0.6
        radius = rng.choice([0, body.size // 3, int(height // 2)])
        sheet.fill(x, y, x + width, y + height, look.accent, radius)
        if not filled:
            sheet.fill(x + 2, y + 2, x + width - 2, y + height - 2, look.background, max(0, radius - 2))
        colour = readable_on(look.accent, rng) if filled else look.accent
        sheet.write(label, body, x + (width - body.width(label)) / 2, y + (height - ascent - descent) / 2, "ui", colour)
        x += width + body.size
    return y + height + body.size


def _ui_field(
    sheet: Sheet, kit: Kit, rng: random.Random, lang: str, look: _Look, x0: float, x1: float, y: float
) -> float:
    """A form field: a label above a shaded box that holds a muted placeholder."""
    body = look.body
    ascent, descent = body.font.getmetrics()
    sheet.write(fit(short(kit.corpus, rng, lang, 2), body, x1 - x0), body, x0, y, "ui")
    y += body.size * 1.5
    height = body.size * 2.2
    right = x0 + (x1 - x0) * rng.uniform(0.5, 1.0)
    sheet.fill(x0, y, right, y + height, look.panel, rng.choice([0, 4, 8]))
    placeholder = kit.corpus.business(rng) if rng.random() < 0.5 else short(kit.corpus, rng, lang, 3)
    text = fit(placeholder, body, right - x0 - body.size)
    sheet.write(text, body, x0 + body.size * 0.5, y + (height - ascent - descent) / 2, "ui", look.muted)
    return y + height + body.size
