"""Character n-gram language model for CTC beam search: interpolated Kneser-Ney over class indices.

The recogniser alone confuses shapes that context tells apart (``l``/``I``/``1`` in "simplified",
a rare hanzi for a common one inside a word). This model knows which characters follow which; the
beam search in ``model.decoding`` weighs its opinion against the network's.

Tokens are the charset's class indices; index 0, the CTC blank, never occurs in text and stands for
the line's start (``order - 1`` times) and end. The text comes from the training corpus
(``model.synth.corpus``) without its random-character kinds, which exist to teach glyphs, not
language. Stored as sorted packed n-gram keys with their log probabilities, and the contexts with
their backoff weights, in one ``.npz``: an unseen n-gram scores as its context's backoff weight
plus the next lower order's score, which for interpolated smoothing is exact.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.charset import Charset

log = logging.getLogger("language")

DEFAULT_LM = Path(__file__).parent / "weights" / "lm.npz"
BOUNDARY = 0
# Keys pack one token per 13 bits: room for 8,191 classes and n-grams of up to 4 tokens in an int64.
TOKEN_BITS = 13
MAX_ORDER = 4
# Corpus kinds left out of the model's text: uniform draws from the charset are not language.
NOT_LANGUAGE = frozenset({"random_hanzi", "random_chars"})
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


def _ngram_keys(tokens: np.ndarray, sequence_ids: np.ndarray, n: int) -> np.ndarray:
    """Packed keys of every n-gram that lies within one sequence."""
    count = len(tokens) - n + 1
    keys = np.zeros(count, np.int64)
    for k in range(n):
        keys = (keys << TOKEN_BITS) | tokens[k : k + count]
    return keys[sequence_ids[:count] == sequence_ids[n - 1 :]]


def _discount(counts: np.ndarray) -> float:
    """Kneser-Ney's D = n1 / (n1 + 2 n2) from how many n-grams occur once and twice."""
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5


def build(
    sequences: Iterable[Sequence[int]],
    vocabulary: int,
    order: int = 3,
    min_count: int = 2,
    words: dict[str, float] | None = None,
) -> CharLanguageModel:
    """Interpolated Kneser-Ney over token sequences (no boundary tokens in them). N-grams and contexts
    seen fewer than ``min_count`` times (continuation counts below the top order) are not stored:
    they back off, which keeps the file small at little cost."""
    padded = [np.array([BOUNDARY] * (order - 1) + list(s) + [BOUNDARY], np.int64) for s in sequences]
    tokens = np.concatenate(padded)
    sequence_ids = np.repeat(np.arange(len(padded)), [len(p) for p in padded])

    # Counts per order: raw at the top, continuation counts (distinct left neighbours) below.
    keys, counts = np.unique(_ngram_keys(tokens, sequence_ids, order), return_counts=True)
    counted = {order: (keys, counts)}
    for n in range(order - 1, 0, -1):
        suffixes = counted[n + 1][0] & ((1 << (TOKEN_BITS * n)) - 1)
        counted[n] = np.unique(suffixes, return_counts=True)
    # Every token gets a unigram score, unseen ones the share left for the uniform distribution.
    dense = np.zeros(vocabulary, np.int64)
    dense[counted[1][0]] = counted[1][1]
    counted[1] = (np.arange(vocabulary, dtype=np.int64), dense)

    tables: list[NgramTable] = []
    lower_keys = lower_log_probs = None
    for n in range(1, order + 1):
        keys, counts = counted[n]
        discount = _discount(counts[counts > 0])
        contexts, group = np.unique(keys >> TOKEN_BITS, return_inverse=True)
        totals = np.bincount(group, weights=counts)
        types = np.bincount(group, weights=counts > 0)
        backoff = discount * types / totals  # the share each context leaves for the lower order
        if n == 1:
            lower = np.full(len(keys), 1.0 / vocabulary)
        else:
            lower = np.exp(lower_log_probs[np.searchsorted(lower_keys, keys & ((1 << (TOKEN_BITS * (n - 1))) - 1))])
        probs = np.maximum(counts - discount, 0) / totals[group] + backoff[group] * lower
        keep = counts >= min_count if n > 1 else np.ones(len(keys), bool)
        kept_contexts = totals >= min_count
        tables.append(
            NgramTable(
                keys[keep],
                np.log(probs[keep]).astype(np.float32),
                contexts[kept_contexts] if n > 1 else np.zeros(0, np.int64),
                np.log(backoff[kept_contexts]).astype(np.float32) if n > 1 else np.zeros(0, np.float32),
            )
        )
        # Lower-order scores of every n-gram, pruned or not, feed the next order's interpolation.
        lower_keys, lower_log_probs = keys, np.log(probs)
        log.info("order %d: %d n-grams (%d kept), D = %.3f", n, len(keys), keep.sum(), discount)
    return CharLanguageModel(order, vocabulary, tables, words)


def english_words(charset: Charset) -> dict[str, float]:
    """The corpus's English vocabulary (wordfreq), lower case, letters only, two letters or more, with
    each word's Zipf frequency."""
    from wordfreq import zipf_frequency  # training-only dependency

    from model.synth.corpus import load_english_words

    words = {w.lower() for w in load_english_words(charset).words if len(w) > 1 and w.isascii() and w.isalpha()}
    return {w: zipf_frequency(w, "en") for w in sorted(words)}


def corpus_sequences(charset: Charset, lines: int, seed: int) -> list[list[int]]:
    """``lines`` lines of the training corpus's language kinds as class indices."""
    from model.synth.corpus import Corpus  # training-only dependencies (jieba, wordfreq)

    corpus, rng = Corpus(charset), random.Random(seed)
    sequences: list[list[int]] = []
    while len(sequences) < lines:
        kind, text = corpus.labelled_line(rng)
        if kind not in NOT_LANGUAGE:
            sequences.append(charset.encode(text))
    return sequences


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the character n-gram model the beam search uses.")
    parser.add_argument("--out", type=Path, default=DEFAULT_LM)
    parser.add_argument("--lines", type=int, default=1_000_000, help="corpus lines to count")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    charset = Charset.default()
    started = time.monotonic()
    sequences = corpus_sequences(charset, args.lines, args.seed)
    model = build(sequences, charset.num_classes, args.order, args.min_count, english_words(charset))
    model.save(args.out)
    log.info("wrote %s (%.1f MB) in %.0f s", args.out, args.out.stat().st_size / 1e6, time.monotonic() - started)


if __name__ == "__main__":
    main()
