"""Building the character n-gram language model of the beam search (``make lm``): interpolated
Kneser-Ney over the charset's class indices, counted on the training corpus (``model.synth.corpus``)
without its random-character kinds, which exist to teach glyphs, not language. The model's file
format and look-ups are ``model.inference.language``'s.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from model.inference.charset import Charset
from model.inference.language import BOUNDARY, TOKEN_BITS, CharLanguageModel, NgramTable
from model.synth import alphabet
from model.synth.corpus import Corpus, load_english_words
from model.training.paths import DEFAULT_LM

log = logging.getLogger("language")

# Corpus kinds left out of the model's text: uniform draws from the charset are not language.
NOT_LANGUAGE = frozenset({"random_hanzi", "random_chars"})


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

    words = {w.lower() for w in load_english_words(charset).words if len(w) > 1 and w.isascii() and w.isalpha()}
    return {w: zipf_frequency(w, "en") for w in sorted(words)}


def corpus_sequences(charset: Charset, lines: int, seed: int) -> list[list[int]]:
    """``lines`` lines of the training corpus's language kinds as class indices."""
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
    charset = alphabet.current()
    started = time.monotonic()
    sequences = corpus_sequences(charset, args.lines, args.seed)
    model = build(sequences, charset.num_classes, args.order, args.min_count, english_words(charset))
    model.save(args.out)
    log.info("wrote %s (%.1f MB) in %.0f s", args.out, args.out.stat().st_size / 1e6, time.monotonic() - started)


if __name__ == "__main__":
    main()
