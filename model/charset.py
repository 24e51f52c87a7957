"""The recogniser's alphabet: which characters exist and which class index each one has.

Index 0 is the CTC blank; character ``i`` of the charset file is class ``i + 1``. The file is versioned
and travels with the weights (checkpoint and ``.mar``), so a model is never paired with another alphabet.

Regenerate the file with ``python -m model.charset`` (it is derived from the codecs, not typed by hand).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path

BLANK = 0
VERSION = "v3"
DEFAULT_PATH = Path(__file__).with_name(f"charset_{VERSION}.txt")

# Punctuation and symbols that Chinese documents use beside the GB2312 hanzi: full-width forms of
# ASCII punctuation plus CJK brackets, quotes, dashes, units and circled numbers.
CJK_PUNCTUATION = (
    "，。、；：？！“”‘’（）【】《》〈〉「」『』〔〕—…·￥～％＋－＝＃＆＊／＠×÷±°℃‰№§●○■□△▲◆◇★☆→←↑↓①②③④⑤⑥⑦⑧⑨⑩"
)
# v2 appends what Latin-script pages print beside ASCII: the accented letters of the western
# European languages, typographic dashes, bullets and quotes, and currency and legal signs. Appended
# after v1, so every v1 class keeps its index and v1 weights grow into v2 (``model.checkpoint``).
LATIN_EXTRA = (
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœ"
    "–•«»„‚‹›€£¢©®¿¡"
)
# v3 appends the marks of forms: ballot boxes (empty, ticked, crossed; □ stays the geometric square),
# the reference mark ※ of Chinese and Japanese notes, and ticks and crosses. Few CJK faces draw the
# boxes, so the line renderer borrows them from a symbol face (``model.synth.render``).
FORM_MARKS = "☐☑☒※√✓✔✗"
# The marks only Chinese text uses, as a line without a hanzi means them: a lone dot or tick at the
# foot of a Latin word is its full stop or comma, a shape the network alone cannot tell from 。 or 、
# (it sees a few frames, not the script of the whole line).
LATIN_MARKS = str.maketrans({"。": ".", "、": ","})


def is_hanzi(char: str) -> bool:
    """A CJK unified ideograph (the basic block, which holds every GB2312 hanzi)."""
    return 0x4E00 <= ord(char) <= 0x9FFF


def latin_marks(text: str) -> str:
    """``text`` with 。 and 、 as . and , when it has no hanzi to belong to."""
    if any(is_hanzi(c) for c in text):
        return text
    return text.translate(LATIN_MARKS)


class CharsetError(ValueError):
    """Raised for a malformed charset file or text outside the charset."""


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


class Charset:
    """Maps characters to class indices and back; class 0 is the CTC blank."""

    def __init__(self, chars: Sequence[str], version: str = VERSION) -> None:
        if any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise CharsetError("charset entries must be unique single characters")
        self.chars = list(chars)
        self.version = version
        self._index = {c: i + 1 for i, c in enumerate(self.chars)}

    @property
    def num_classes(self) -> int:
        """Output size of the classifier: every character plus the blank."""
        return len(self.chars) + 1

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Class indices of ``text``; raises CharsetError for a character outside the charset."""
        try:
            return [self._index[c] for c in text]
        except KeyError as err:
            raise CharsetError(f"character {err.args[0]!r} is not in charset {self.version}") from None

    def char(self, index: int) -> str:
        """Character of a non-blank class index."""
        return self.chars[index - 1]

    def filter(self, text: str) -> str:
        """``text`` without the characters the charset lacks."""
        return "".join(c for c in text if c in self._index)

    def to_text(self) -> str:
        """File form: a header line, then one character per line (a line of one space is the space)."""
        header = f"# crnn-ocr charset {self.version}: {len(self.chars)} characters, class = line index + 1"
        return "\n".join([header, *self.chars]) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Charset:
        lines = text.split("\n")
        if not lines or not lines[0].startswith("# crnn-ocr charset "):
            raise CharsetError("missing charset header line")
        version = lines[0].split()[3].rstrip(":")
        # Every line after the header holds exactly one character; the final newline leaves one "".
        return cls([line for line in lines[1:] if line != ""], version)

    @classmethod
    def from_file(cls, path: str | Path) -> Charset:
        return cls.from_text(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def default(cls) -> Charset:
        return cls.from_file(DEFAULT_PATH)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_text(), encoding="utf-8")


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the versioned charset file.")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    Charset(build_v3(), VERSION).save(args.out)


if __name__ == "__main__":
    main()
