"""Scoring as defined in shared/eval/README.md: NFKC plus CJK punctuation folded to ASCII, whitespace
removed, then 1 - edit distance / reference length."""

from __future__ import annotations

import unicodedata

import numpy as np

_PUNCT_FOLD = str.maketrans(
    {
        "。": ".",
        "、": ",",
        "“": '"',
        "”": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "‘": "'",
        "’": "'",
        "【": "[",
        "】": "]",
        "〔": "(",
        "〕": ")",
        "《": "<",
        "》": ">",
        "〈": "<",
        "〉": ">",
        "〜": "~",
    }
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT_FOLD)
    return "".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, O(len(a) * len(b)) time and O(len(b)) memory; rows in numpy for long
    texts (whole pages: a 3,000-character page takes seconds in Python, tens of ms so)."""
    if len(a) < len(b):
        a, b = b, a
    if len(a) * len(b) >= _ROWS_IN_NUMPY_FROM:
        return _edit_distance_in_rows(a, b)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# Below this many cells the plain loop is faster than numpy's per-row overhead.
_ROWS_IN_NUMPY_FROM = 20_000


def _edit_distance_in_rows(a: str, b: str) -> int:
    """The same distance, one row of the table per numpy step. A row's insertions chain along it
    (cell j may come from cell j - 1 + 1), which a running minimum of (cell - j) resolves at once."""
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    columns = np.arange(len(b) + 1)
    previous = columns.copy()
    best = np.empty(len(b) + 1, dtype=np.int64)
    for i, char in enumerate(a, 1):
        best[0] = i
        np.minimum(previous[1:] + 1, previous[:-1] + (codes != ord(char)), out=best[1:])
        previous = np.minimum.accumulate(best - columns) + columns
    return int(previous[-1])


class AccuracyMeter:
    """Accumulates character accuracy (1 - sum distance / sum length) and exact-line accuracy."""

    def __init__(self) -> None:
        self.distance = 0
        self.length = 0
        self.exact = 0
        self.lines = 0

    def add(self, prediction: str, reference: str) -> None:
        p, r = normalise(prediction), normalise(reference)
        self.distance += edit_distance(p, r)
        self.length += len(r)
        self.exact += p == r
        self.lines += 1

    @property
    def char_accuracy(self) -> float:
        return 1.0 - self.distance / max(1, self.length)

    @property
    def line_accuracy(self) -> float:
        return self.exact / max(1, self.lines)
