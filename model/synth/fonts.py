"""Finds the installed fonts that can draw the charset and records which characters each covers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from model.inference.charset import Charset

# Font directories searched; OCR_FONT_DIRS (os.pathsep-separated) overrides them.
DEFAULT_FONT_DIRS = ("/usr/share/fonts", "~/.local/share/fonts")
# Faces drawing the hanzi in Japanese, Korean or traditional shapes teach the wrong glyph forms.
FOREIGN_MARKERS = (" JP", " KR", " TC", " HK", " TW", "MBE")
# Symbol fonts map ASCII codes to Greek letters or dingbats.
SYMBOL_MARKERS = ("Math", "Symbol", "D050000L")


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int  # face index inside a .ttc collection
    name: str
    cjk: bool  # draws (nearly) all GB2312 hanzi
    coverage: frozenset[str]

    def covers(self, text: str) -> bool:
        return self.coverage.issuperset(text.replace(" ", ""))


def font_dirs() -> list[Path]:
    env = os.environ.get("OCR_FONT_DIRS")
    dirs = env.split(os.pathsep) if env else DEFAULT_FONT_DIRS
    return [Path(d).expanduser() for d in dirs]


def read_faces(path: Path) -> list[tuple[str, dict[int, str]]]:
    """(name, cmap) of every face in a font file; the file is closed again before returning."""
    if path.suffix.lower() in (".ttc", ".otc"):
        with TTCollection(str(path), lazy=True) as collection:
            return [(_name(face, path), face.getBestCmap() or {}) for face in collection.fonts]
    with TTFont(str(path), lazy=True) as face:
        return [(_name(face, path), face.getBestCmap() or {})]


def _name(face: TTFont, path: Path) -> str:
    return face["name"].getDebugName(4) or path.stem


def discover_fonts(charset: Charset, dirs: list[Path] | None = None) -> list[FontFace]:
    """Every face that draws all printable ASCII; CJK faces must also cover 99 % of the hanzi."""
    wanted = set(charset.chars)
    hanzi = {c for c in wanted if ord(c) >= 0x4E00}
    ascii_printable = {chr(c) for c in range(0x21, 0x7F)}
    found: dict[str, FontFace] = {}
    for directory in dirs or font_dirs():
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in (".ttf", ".otf", ".ttc", ".otc"):
                continue
            try:
                faces = read_faces(path)
            except Exception:  # noqa: BLE001 - a broken font file is skipped, not fatal
                continue
            for index, (name, cmap) in enumerate(faces):
                covered = frozenset(chr(code) for code in cmap) & wanted
                unwanted = any(m in name for m in FOREIGN_MARKERS + SYMBOL_MARKERS)
                if unwanted or name in found or not ascii_printable <= covered:
                    continue
                cjk = len(covered & hanzi) >= 0.99 * len(hanzi)
                found[name] = FontFace(str(path), index, name, cjk, covered)
    return list(found.values())
