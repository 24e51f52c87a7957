"""Character n-gram language model for CTC beam search: interpolated Kneser-Ney over class indices.

The recogniser alone confuses shapes that context tells apart (``l``/``I``/``1`` in "simplified",
a rare hanzi for a common one inside a word). This model knows which characters follow which; the
beam search in ``model.inference.decoding`` weighs its opinion against the network's.

Tokens are the charset's class indices; index 0, the CTC blank, never occurs in text and stands for
the line's start (``order - 1`` times) and end. It is built from the training corpus by
``model.training.language_model``. Stored as sorted packed n-gram keys with their log probabilities,
and the contexts with their backoff weights, in one ``.npz``: an unseen n-gram scores as its
context's backoff weight plus the next lower order's score, which for interpolated smoothing is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOUNDARY = 0
# Keys pack one token per 13 bits: room for 8,191 classes and n-grams of up to 4 tokens in an int64.
TOKEN_BITS = 13
MAX_ORDER = 4
# Looked-up scores kept per model (about 100 bytes each), forgotten all at once when full.
CACHE_SIZE = 100_000


@dataclass(frozen=True)
class NgramTable:
    """One order's n-grams (sorted packed keys, natural-log probabilities) and the backoff weights
    (natural log) of the contexts of the next order up."""

    keys: np.ndarray
    log_probs: np.ndarray
    context_keys: np.ndarray
    context_backoffs: np.ndarray


class CharLanguageModel:
    """``log_prob(history, token)``: natural log of P(token | last ``order - 1`` tokens)."""

    def __init__(
        self, order: int, vocabulary: int, tables: list[NgramTable], words: dict[str, float] | None = None
    ) -> None:
        if not 1 <= order <= MAX_ORDER or len(tables) != order or vocabulary >= 1 << TOKEN_BITS:
            raise ValueError("inconsistent language model")
        self.order, self.vocabulary, self.tables = order, vocabulary, tables
        # Lower-case English words and their Zipf frequency (log10 of occurrences per billion words):
        # a reading that completes one earns a bonus in proportion (``BeamConfig.word_bonus``), which
        # n-grams of three characters cannot give a whole word.
        self.words = dict(words or {})
        # Unigrams are looked up at every backoff: a dense array beats a search.
        self._unigrams = tables[0].log_probs
        # Scores already looked up, by packed n-gram: lines repeat their contexts, pages their lines.
        self._cache: dict[int, float] = {}
        if len(tables[0].keys) != vocabulary:
            raise ValueError("the unigram table must cover the vocabulary")

    def start(self) -> tuple[int, ...]:
        """The history before a line's first character."""
        return (BOUNDARY,) * (self.order - 1)

    def log_prob(self, history: tuple[int, ...], token: int) -> float:
        """``history`` is at least ``order - 1`` tokens (``start()`` plus what was read); the end of a
        line is the token ``BOUNDARY``."""
        context = 0
        for previous in history[len(history) - self.order + 1 :]:
            context = (context << TOKEN_BITS) | previous
        key = (context << TOKEN_BITS) | token
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            cached = self._cache[key] = self._look_up(context, token)
        return cached

    def _look_up(self, context: int, token: int) -> float:
        score = 0.0
        for n in range(self.order, 1, -1):
            table = self.tables[n - 1]
            found = _find(table.keys, (context << TOKEN_BITS) | token)
            if found >= 0:
                return score + float(table.log_probs[found])
            # Unseen here: the share the context left for lower orders, if the context was kept.
            found = _find(table.context_keys, context)
            if found >= 0:
                score += float(table.context_backoffs[found])
            context &= (1 << (TOKEN_BITS * (n - 2))) - 1  # drop the oldest token
        return score + float(self._unigrams[token])

    def save(self, path: Path) -> None:
        arrays = {
            "order": np.array(self.order),
            "vocabulary": np.array(self.vocabulary),
            "words": np.array("\n".join(self.words)),
            "word_zipf": np.array(list(self.words.values()), np.float16),
        }
        for n, table in enumerate(self.tables, start=1):
            arrays[f"keys{n}"] = table.keys
            arrays[f"log_probs{n}"] = table.log_probs.astype(np.float16)
            arrays[f"context_keys{n}"] = table.context_keys
            arrays[f"context_backoffs{n}"] = table.context_backoffs.astype(np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> CharLanguageModel:
        with np.load(path) as data:
            order = int(data["order"])
            tables = [
                NgramTable(
                    data[f"keys{n}"],
                    data[f"log_probs{n}"].astype(np.float32),
                    data[f"context_keys{n}"],
                    data[f"context_backoffs{n}"].astype(np.float32),
                )
                for n in range(1, order + 1)
            ]
            words = dict(zip(str(data["words"]).split("\n"), data["word_zipf"].astype(float).tolist()))
            return cls(order, int(data["vocabulary"]), tables, words)


def _find(keys: np.ndarray, key: int) -> int:
    i = int(keys.searchsorted(key))
    return i if i < len(keys) and keys[i] == key else -1
