"""The recogniser's alphabet: which characters exist and which class index each one has.

Index 0 is the CTC blank; character ``i`` of a charset is class ``i + 1``. A charset travels with the
weights (checkpoint and ``.mar``), so a model is never paired with another alphabet. Which characters
the next model is trained on is decided in ``model.synth.alphabet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

BLANK = 0
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


class Charset:
    """Maps characters to class indices and back; class 0 is the CTC blank."""

    def __init__(self, chars: Sequence[str], version: str) -> None:
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

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_text(), encoding="utf-8")
