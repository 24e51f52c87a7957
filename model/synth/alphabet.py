"""The alphabet the synthetic data are written in and the next recogniser is trained to read.

Each version appends to the one before, so every older class keeps its index and older weights grow
into the new alphabet (``model.training.checkpoint.grow_charset``). The versioned file beside this
module is derived from the codecs, not typed by hand: regenerate it with ``python -m model.synth.alphabet``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from model.inference.charset import Charset, CharsetError

VERSION = "v3"
DEFAULT_PATH = Path(__file__).with_name(f"charset_{VERSION}.txt")

# Punctuation and symbols that Chinese documents use beside the GB2312 hanzi: full-width forms of
# ASCII punctuation plus CJK brackets, quotes, dashes, units and circled numbers.
CJK_PUNCTUATION = (
    "，。、；：？！“”‘’（）【】《》〈〉「」『』〔〕—…·￥～％＋－＝＃＆＊／＠×÷±°℃‰№§●○■□△▲◆◇★☆→←↑↓①②③④⑤⑥⑦⑧⑨⑩"
)
# v2 appends what Latin-script pages print beside ASCII: the accented letters of the western
# European languages, typographic dashes, bullets and quotes, and currency and legal signs. Appended
# after v1, so every v1 class keeps its index and v1 weights grow into v2 (``model.training.checkpoint``).
LATIN_EXTRA = "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœ–•«»„‚‹›€£¢©®¿¡"
# v3 appends the marks of forms: ballot boxes (empty, ticked, crossed; □ stays the geometric square),
# the reference mark ※ of Chinese and Japanese notes, and ticks and crosses. Few CJK faces draw the
# boxes, so the line renderer borrows them from a symbol face (``model.synth.render``).
FORM_MARKS = "☐☑☒※√✓✔✗"


def gb2312_hanzi() -> list[str]:
    """All 6,763 GB2312 Chinese characters in code order (levels 1 and 2, rows 16-87)."""
    chars = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # the five unassigned cells at the end of row 55
    return chars


def build_v1() -> list[str]:
    """The v1 alphabet: printable ASCII (space included), CJK punctuation, then GB2312 hanzi."""
    ascii_chars = [chr(c) for c in range(0x20, 0x7F)]
    chars = ascii_chars + list(CJK_PUNCTUATION) + gb2312_hanzi()
    if len(set(chars)) != len(chars):
        raise CharsetError("duplicate characters in charset definition")
    return chars


def build_v2() -> list[str]:
    """The v2 alphabet: v1, then the Latin extras."""
    return build_v1() + list(LATIN_EXTRA)  # Charset refuses duplicates


def build_v3() -> list[str]:
    """The v3 alphabet: v2, then the form marks."""
    return build_v2() + list(FORM_MARKS)


def current() -> Charset:
    """The alphabet of this version, read from its file."""
    return Charset.from_file(DEFAULT_PATH)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the versioned charset file.")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    Charset(build_v3(), VERSION).save(args.out)


if __name__ == "__main__":
    main()
