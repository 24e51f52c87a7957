"""What a page says and how it is broken into lines: running text, titles, labels and amounts from
the training corpus, fitted to a width or wrapped as Chinese and English typesetting do."""

from __future__ import annotations

import random
import re

from model.synth.corpus import Corpus
from model.synth.pages.typefaces import Type

# Marks that Chinese typesetting never starts a line with: they hang at the end of the previous one.
NO_LINE_START = "，。、；：！？）》”’】」』,.;:!?)"
# A token for line wrapping: a run of ASCII (a word or a number), a run of spaces, or one character.
TOKEN = re.compile(r"[!-~]+|\s+|.")


def language(rng: random.Random) -> str:
    """A page's language: 'zh' (Chinese), 'en' (English) or 'mix'."""
    return rng.choices(["zh", "en", "mix"], [0.55, 0.25, 0.2])[0]


def prose(corpus: Corpus, rng: random.Random, lang: str, chars: int) -> str:
    """Running text of about ``chars`` characters: sentences joined as in a paragraph."""
    parts: list[str] = []
    total = 0
    while total < chars:
        if lang == "en" or (lang == "mix" and rng.random() < 0.3):
            sentence = corpus.english_sentence(rng)
            sentence = sentence[:1].upper() + sentence[1:]
            sentence += "" if sentence[-1] in ".!?" else "."
            sentence += " "
        else:
            roll = rng.random()
            if roll < 0.78:
                sentence = corpus.chinese_sentence(rng, rng.randint(8, 30))
            elif roll < 0.9:
                sentence = corpus.mixed(rng)
            else:
                sentence = corpus.business(rng)
            sentence += "" if sentence[-1] in "。！？，；" else rng.choice("。。，；")
        parts.append(sentence)
        total += len(sentence)
    return " ".join("".join(parts).split())


def title(corpus: Corpus, rng: random.Random, lang: str) -> str:
    if lang == "en" or (lang == "mix" and rng.random() < 0.4):
        return " ".join(w.capitalize() for w in corpus.english_words(rng, rng.randint(2, 7)))
    if rng.random() < 0.3:
        return corpus.document_line(rng)
    return corpus.chinese_sentence(rng, rng.randint(4, 16)).rstrip("。！？，、；：")


def short(corpus: Corpus, rng: random.Random, lang: str, words: int = 3) -> str:
    """A label, a menu entry, an item name: a few words without closing punctuation."""
    if lang == "en" or (lang == "mix" and rng.random() < 0.5):
        return " ".join(corpus.english_words(rng, rng.randint(1, words)))
    return corpus.chinese_sentence(rng, rng.randint(2, 2 + 2 * words)).strip("。！？，、；：“”（）《》【】「」")


def amount(rng: random.Random, currency: str = "") -> str:
    return f"{currency}{rng.uniform(0, 10 ** rng.uniform(0.5, 4)):,.2f}"


def fit(text: str, kind: Type, width: float) -> str:
    """The longest prefix of ``text`` that fits ``width`` (English cut at a word boundary)."""
    if kind.width(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if kind.width(text[:mid]) <= width:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    if " " in cut and text[low : low + 1] not in ("", " "):
        cut = cut[: cut.rindex(" ")]
    return cut.strip()


def wrap(text: str, kind: Type, width: float, indent: float = 0.0) -> list[str]:
    """Greedy line breaking: English words and numbers stay whole, Chinese breaks between any two
    characters, closing marks hang at the end of a line instead of starting the next."""
    lines: list[str] = []
    current: list[str] = []
    used = indent
    for token in TOKEN.findall(text):
        if token.isspace():
            if current:
                current.append(" ")
                used += kind.width(" ")
            continue
        pieces = [token] if kind.width(token) <= width * 0.6 else list(token)  # break over-long codes
        for piece in pieces:
            advance = kind.width(piece)
            if current and used + advance > width and piece not in NO_LINE_START:
                lines.append("".join(current).strip())
                current, used = [], 0.0
            current.append(piece)
            used += advance
    if current:
        lines.append("".join(current).strip())
    return [line for line in lines if line]
