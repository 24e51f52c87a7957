"""The installed faces grouped by look (sans, serif, mono, bold, light, slanted), and a face at a
size (``Type``): what layouts ask for when they set a line."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ImageFont

from model.synth.fonts import FontFace
from model.synth.render import cached_font

# Parts of face names that tell a face's look.
SANS_MARKERS = ("Sans", "Hei", "Arimo", "Carlito", "Roboto", "Gothic")
MONO_MARKERS = ("Mono", "Cousine", "Inconsolata")
SERIF_MARKERS = ("Serif", "Ming", "Sung", "Tinos", "Roman", "C059", "P052", "Bookman")
BOLD_MARKERS = ("Bold", "Black", "Demi", "Medium", "Heavy")
LIGHT_MARKERS = ("Thin", "ExtraLight", "Light")  # hairlines vanish at small sizes
SLANTED_MARKERS = ("Italic", "Oblique")
SCRIPT_MARKERS = ("Z003",)  # calligraphic capitals: not body text


@dataclass(frozen=True)
class Type:
    """A face at a size: what a line is set in."""

    face: FontFace
    size: int

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return cached_font(self.face.path, self.face.index, self.size)

    def width(self, text: str) -> float:
        return self.font.getlength(text)

    def sized(self, size: int) -> Type:
        return Type(self.face, max(8, int(size)))


def _has(face: FontFace, markers: tuple[str, ...]) -> bool:
    return any(m in face.name for m in markers)


@dataclass(frozen=True)
class Fonts:
    """The discovered faces, grouped so that layouts can ask for a look (sans, mono, bold...)."""

    cjk: list[FontFace]
    latin: list[FontFace]

    @classmethod
    def of(cls, fonts: list[FontFace]) -> Fonts:
        usable = [f for f in fonts if not _has(f, SCRIPT_MARKERS)]
        return cls([f for f in usable if f.cjk], [f for f in usable if not f.cjk])

    def pick(self, rng: random.Random, lang: str, size: int, style: str = "any", weight: str = "any") -> Type:
        """A face for text in ``lang`` ('zh', 'en' or 'mix'): Chinese needs a CJK face, English gets a
        Latin one most of the time. ``style``: any, sans, serif or mono; ``weight``: any, regular or bold.
        Constraints are dropped one by one when no face meets them all."""
        latin = lang == "en" and self.latin and rng.random() < 0.75
        pool = self.latin if latin else self.cjk or self.latin
        slanted = rng.random() < 0.1
        checks: list[Callable[[FontFace], bool]] = [
            lambda f: slanted or not _has(f, SLANTED_MARKERS),
            lambda f: size >= 22 or not _has(f, LIGHT_MARKERS),
            {
                "any": lambda f: True,
                "bold": lambda f: _has(f, BOLD_MARKERS) and not _has(f, LIGHT_MARKERS),
                "regular": lambda f: not _has(f, BOLD_MARKERS),
            }[weight],
            {
                "any": lambda f: True,
                "sans": lambda f: _has(f, SANS_MARKERS) and not _has(f, MONO_MARKERS + SERIF_MARKERS),
                "serif": lambda f: _has(f, SERIF_MARKERS) or "Kai" in f.name,
                "mono": lambda f: _has(f, MONO_MARKERS),
            }[style],
        ]
        candidates = [f for f in pool if all(check(f) for check in checks)]
        while not candidates and checks:
            checks.pop(0)
            candidates = [f for f in pool if all(check(f) for check in checks)]
        return Type(rng.choice(candidates or pool), max(8, int(size)))
