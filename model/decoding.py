"""Greedy CTC decoding: the one decoder used by evaluation, training logs and the handler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.charset import BLANK, Charset


@dataclass(frozen=True)
class Decoded:
    text: str
    # Probability of each emitted character: the highest frame probability within its run.
    char_probs: list[float]
    # Geometric mean of char_probs (how sure the model is of the whole line); for an empty line, the
    # mean blank probability, i.e. how sure it is that there is nothing to read.
    confidence: float


def greedy_decode(probs: np.ndarray, charset: Charset) -> Decoded:
    """Best path decoding of one line. ``probs`` shape: (T, num_classes), rows summing to 1."""
    if probs.shape[0] == 0:
        return Decoded("", [], 0.0)
    best = probs.argmax(axis=1)
    best_p = probs[np.arange(len(best)), best]
    chars: list[str] = []
    char_probs: list[float] = []
    previous = BLANK
    for index, p in zip(best.tolist(), best_p.tolist()):
        if index != BLANK:
            if index != previous:
                chars.append(charset.char(index))
                char_probs.append(p)
            else:
                char_probs[-1] = max(char_probs[-1], p)
        previous = index
    if char_probs:
        confidence = float(np.exp(np.mean(np.log(np.maximum(char_probs, 1e-12)))))
    else:
        confidence = float(probs[:, BLANK].mean())
    return Decoded("".join(chars), [round(p, 4) for p in char_probs], round(confidence, 4))
