"""Till rolls: shop name, items with their amounts flush right, totals, a thank-you line."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from model.synth.corpus import Corpus
from model.synth.pages.colours import grey
from model.synth.pages.core import LONG_SIDE_MAX, Kit, Sheet, clamp
from model.synth.pages.text import amount, fit, short
from model.synth.pages.typefaces import Type
from model.synth.render import background


@dataclass
class _Roll:
    """A receipt being printed row by row: every row moves the cursor ``y`` down."""

    sheet: Sheet
    body: Type
    x0: float
    x1: float
    y: float
    pitch: float

    def centred(self, text: str, kind: Type | None = None) -> None:
        kind = kind or self.body
        text = fit(text, kind, self.x1 - self.x0)
        self.sheet.write(text, kind, (self.x0 + self.x1 - kind.width(text)) / 2, self.y, "receipt")
        self.y += max(self.pitch, kind.size * 1.4)

    def left(self, text: str, indent: float = 0.0) -> None:
        self.sheet.write(
            fit(text, self.body, self.x1 - self.x0 - indent), self.body, self.x0 + indent, self.y, "receipt"
        )
        self.y += self.pitch

    def pair(self, left: str, right: str) -> None:
        """An item or total on the left and its amount flush right: two lines for the detector."""
        right_width = self.body.width(right)
        room = self.x1 - self.x0 - right_width - self.body.size
        self.sheet.write(fit(left, self.body, room), self.body, self.x0, self.y, "receipt")
        self.sheet.write(right, self.body, self.x1 - right_width, self.y, "receipt")
        self.y += self.pitch

    def separator(self, rng: random.Random) -> None:
        """A dashed or solid rule across the roll."""
        mid = self.y + self.body.size * 0.6
        if rng.random() < 0.5:
            dash = self.body.size * 0.5
            for x in np.arange(self.x0, self.x1 - dash, dash * 1.6):
                self.sheet.rule(x, mid, x + dash, mid)
        else:
            self.sheet.rule(self.x0, mid, self.x1, mid)
        self.y += self.pitch


RECEIPT_WORDS = {  # (total labels, closing lines, currencies, quantity units) by language
    "zh": (
        ["合计", "应收", "实收", "找零", "优惠", "现金", "微信支付"],
        ["谢谢惠顾", "欢迎再次光临", "请妥善保管小票"],
        ["", "￥", "¥"],
    ),
    "en": (
        ["SUBTOTAL", "TOTAL", "GST 6%", "CASH", "CHANGE", "ROUNDING"],
        ["THANK YOU", "THANK YOU PLEASE COME AGAIN", "GOODS SOLD ARE NOT REFUNDABLE"],
        ["", "RM", "$"],
    ),
}


def receipt_page(kit: Kit, rng: random.Random) -> Sheet:
    """A till roll: shop name, address, items with amounts flush right, totals, a thank-you line;
    upper-case Latin (as on Malaysian and Singaporean receipts) or Chinese."""
    width = rng.randint(300, 520)
    height = rng.randint(max(600, width + 100), LONG_SIDE_MAX)
    ink = grey(rng.randint(10, 110))  # thermal print is often grey
    sheet = Sheet(background(height, width, grey(rng.randint(228, 255)), rng), ink, kit.charset)
    lang = "en" if rng.random() < 0.5 else "zh"
    margin = width * rng.uniform(0.04, 0.09)
    size = clamp((width - 2 * margin) / rng.uniform(17, 26), 12, 26)
    sheet.body_size = size
    body = kit.fonts.pick(rng, lang, size, style="mono" if rng.random() < 0.6 else "sans")
    roll = _Roll(sheet, body, margin, width - margin, margin, size * rng.uniform(1.25, 1.6))
    corpus, zh = kit.corpus, lang == "zh"
    labels, closings, currencies = RECEIPT_WORDS[lang]

    roll.centred(
        _receipt_item(corpus, rng, zh, shop=True),
        kit.fonts.pick(rng, lang, size * rng.uniform(1.2, 1.7), weight="bold"),
    )
    for _ in range(rng.randint(1, 3)):
        roll.centred(corpus.address(rng) if zh else corpus.receipt_line(rng).upper())
    roll.separator(rng)
    for _ in range(rng.randint(1, 3)):  # date, till, receipt number, cashier
        roll.left(corpus.business(rng) if zh else corpus.receipt_line(rng))
    roll.separator(rng)
    totals = rng.randint(2, 5)
    while roll.y + (totals + 4) * roll.pitch < height - margin:
        roll.pair(_receipt_item(corpus, rng, zh), amount(rng))
        if rng.random() < 0.3:  # quantity x unit price under the item
            unit = "X" if not zh else rng.choice(["件 x", "个 x", "kg x", "份 x"])
            roll.left(f"{rng.randint(1, 12)} {unit} {amount(rng)}", indent=size * 2)
        if rng.random() < 0.04:
            break
    roll.separator(rng)
    for label in rng.sample(labels, min(totals, len(labels))):
        roll.pair(label + rng.choice(["", "：", ":"] if zh else ["", ":", " :"]), amount(rng, rng.choice(currencies)))
    if roll.y + 2 * roll.pitch < height - margin:
        roll.y += roll.pitch * 0.5
        roll.centred(rng.choice(closings))
    return _crop(sheet, int(min(height, roll.y + margin)))


def _receipt_item(corpus: Corpus, rng: random.Random, zh: bool, shop: bool = False) -> str:
    """An item name (or, with ``shop``, the shop's name): Chinese words or upper-case English."""
    if zh:
        return corpus.shop_sign(rng) if shop else short(corpus, rng, "zh", 3)
    return " ".join(w.upper() for w in corpus.english_words(rng, rng.randint(1, 3 if shop else 4)))


def _crop(sheet: Sheet, height: int) -> Sheet:
    """The sheet cut at ``height`` (a receipt ends where its text does); lines there are kept whole."""
    height = max(height, 600, max((int(line.box[:, 1].max()) + 2 for line in sheet.lines), default=0))
    height = min(height, sheet.height)
    sheet.image, sheet.mask = sheet.image[:height], sheet.mask[:height]
    return sheet
