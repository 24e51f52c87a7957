"""Printed documents: a single-column page (report, contract, article) and a page of two or three
columns (newspaper, magazine, paper). Their heading and running text also serve other layouts."""

from __future__ import annotations

import random

from model.synth.pages.colours import grey, paper_sheet
from model.synth.pages.core import LONG_SIDE_MAX, Kit, Sheet, clamp, portrait
from model.synth.pages.text import fit, language, prose, title, wrap
from model.synth.pages.typefaces import Type
from model.synth.render import hsv


def heading(sheet: Sheet, kit: Kit, rng: random.Random, lang: str, x0: float, x1: float, y: float, size: int) -> float:
    """A title in a larger (often bold) face, centred or flush left, sometimes with a grey subtitle."""
    kind = kit.fonts.pick(
        rng, lang, round(size * rng.uniform(1.3, 2.2)), weight="bold" if rng.random() < 0.7 else "any"
    )
    text = fit(title(kit.corpus, rng, lang), kind, x1 - x0)
    spacing = round(kind.size * rng.uniform(0.2, 1.0)) if rng.random() < 0.2 else 0  # 通  知
    width = kind.width(text) + spacing * (len(text) - 1)
    if width > x1 - x0:
        spacing, width = 0, kind.width(text)
    centred = rng.random() < 0.6
    x = (x0 + x1 - width) / 2 if centred else x0
    colour = None if rng.random() < 0.8 else hsv(rng.random(), rng.uniform(0.6, 1.0), rng.uniform(0.35, 0.6))
    sheet.write(text, kind, x, y, "heading", colour, spacing)
    y += kind.size * rng.uniform(1.5, 2.1)
    if rng.random() < 0.4:
        sub = kind.sized(size * rng.uniform(0.8, 1.0))
        text = fit(kit.corpus.business(rng) if rng.random() < 0.6 else title(kit.corpus, rng, lang), sub, x1 - x0)
        x = (x0 + x1 - sub.width(text)) / 2 if centred else x0
        sheet.write(text, sub, x, y, "heading", grey(rng.randint(60, 120)))
        y += sub.size * rng.uniform(1.8, 2.5)
    return y


def flow(
    sheet: Sheet,
    kit: Kit,
    rng: random.Random,
    lang: str,
    body: Type,
    pitch: float,
    x0: float,
    x1: float,
    y: float,
    y_end: float,
) -> float:
    """Fills the column x0..x1 from y down to y_end with paragraphs, sub-headings and list items."""
    width = x1 - x0
    per_line = width / (body.size * (0.5 if lang == "en" else 0.95))  # characters per line, roughly
    while y + body.size * 1.5 <= y_end:
        roll = rng.random()
        if roll < 0.1:  # sub-heading
            kind = kit.fonts.pick(rng, lang, body.size * rng.uniform(1.05, 1.3), weight="bold")
            if y + kind.size * 1.5 > y_end:
                break
            sheet.write(fit(title(kit.corpus, rng, lang), kind, width), kind, x0, y, "heading")
            y += kind.size * rng.uniform(1.5, 2.0)
        elif roll < 0.22:  # numbered clauses or list items, one line each
            indent = body.size * rng.choice([0, 1, 2])
            for _ in range(rng.randint(2, 5)):
                if y + body.size * 1.5 > y_end:
                    break
                item = (
                    kit.corpus.document_line(rng)
                    if lang != "en"
                    else f"{rng.choice(['-', '*', '1.', 'a)'])} {kit.corpus.english_sentence(rng)}"
                )
                sheet.write(fit(item, body, width - indent), body, x0 + indent, y, "list")
                y += pitch
        else:
            indent = body.size * (2 if lang != "en" else rng.choice([0, 0, 2]))
            chars = int(per_line * rng.randint(1, 8) + per_line * rng.uniform(0.1, 0.9))
            for i, line in enumerate(wrap(prose(kit.corpus, rng, lang, chars), body, width, indent)):
                if y + body.size * 1.5 > y_end:
                    break
                sheet.write(line, body, x0 + (indent if i == 0 else 0), y, "paragraph")
                y += pitch
        y += pitch * rng.uniform(0.0, 0.7)
        if rng.random() < 0.05:  # the text ends before the page does
            break
    return y


def document_page(kit: Kit, rng: random.Random) -> Sheet:
    """A page of a report, contract or article: heading, paragraphs, lists, sometimes a page number."""
    height, width = portrait(rng)
    sheet = paper_sheet(rng, height, width, kit.charset)
    lang = language(rng)
    margin_x, top = width * rng.uniform(0.06, 0.13), height * rng.uniform(0.04, 0.09)
    size = clamp((width - 2 * margin_x) / rng.uniform(20, 44), 12, 34)
    sheet.body_size = size
    body = kit.fonts.pick(rng, lang, size, weight="regular")
    y = heading(sheet, kit, rng, lang, margin_x, width - margin_x, top, size) if rng.random() < 0.8 else top
    y_end = height - top - (size * 2 if rng.random() < 0.4 else 0)
    flow(sheet, kit, rng, lang, body, size * rng.uniform(1.35, 1.9), margin_x, width - margin_x, y, y_end)
    if y_end < height - top:  # page number in the footer
        number = rng.randint(1, 300)
        text = rng.choice(
            [
                str(number),
                f"- {number} -",
                f"第 {number} 页",
                f"Page {number}",
                f"{number}/{number + rng.randint(0, 9)}",
            ]
        )
        foot = body.sized(size * 0.85)
        sheet.write(text, foot, (width - foot.width(text)) / 2, height - top - size, "footer")
    return sheet


def columns_page(kit: Kit, rng: random.Random) -> Sheet:
    """Two or three columns (newspaper, magazine, paper) under a heading that spans them; reading
    order finishes one column before starting the next."""
    if rng.random() < 0.6:
        height, width = portrait(rng, 900)
    else:
        width = rng.randint(1100, LONG_SIDE_MAX)
        height = round(width * rng.uniform(0.62, 0.78))
    sheet = paper_sheet(rng, height, width, kit.charset)
    lang = language(rng)
    margin = width * rng.uniform(0.04, 0.08)
    count = rng.choice([2, 2, 3])
    size = clamp((width - 2 * margin) / count / rng.uniform(13, 24), 12, 28)
    sheet.body_size = size
    gutter = size * rng.uniform(1.2, 3.0)
    column = (width - 2 * margin - gutter * (count - 1)) / count
    body = kit.fonts.pick(rng, lang, size, weight="regular")
    y = heading(sheet, kit, rng, lang, margin, width - margin, margin, size) if rng.random() < 0.75 else margin
    pitch = size * rng.uniform(1.3, 1.8)
    ruled = rng.random() < 0.35
    for i in range(count):
        x0 = margin + i * (column + gutter)
        flow(sheet, kit, rng, lang, body, pitch, x0, x0 + column, y, height - margin)
        if ruled and i:
            sheet.rule(x0 - gutter / 2, y, x0 - gutter / 2, height - margin, thickness=1)
    return sheet
