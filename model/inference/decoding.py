"""CTC decoding, the one place where network outputs become text: greedy (best path) decoding, and
a prefix beam search that weighs a character language model in. Evaluation, training logs, the
benchmarks and the handler all decode here."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from model.inference.charset import BLANK, Charset, latin_marks
from model.inference.config import BeamConfig
from model.inference.language import BOUNDARY, CharLanguageModel


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
    # A frame whose blank holds over half its mass has the blank as its best class; only the other
    # frames (a quarter of a page's) are searched across all classes.
    best_p = probs[:, BLANK].copy()
    best = np.full(len(best_p), BLANK)
    contested = np.flatnonzero(best_p <= 0.5)
    best[contested] = probs[contested].argmax(axis=1)
    best_p[contested] = probs[contested, best[contested]]
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
    return _decoded("".join(chars), char_probs, probs)


def _decoded(text: str, char_probs: list[float], probs: np.ndarray) -> Decoded:
    """The line's text in its script's marks (``latin_marks``) and its confidence: the geometric mean
    of its character probabilities, or for an empty line the mean blank probability."""
    text = latin_marks(text)
    if char_probs:
        confidence = float(np.exp(np.mean(np.log(np.maximum(char_probs, 1e-12)))))
    else:
        confidence = float(probs[:, BLANK].mean())
    return Decoded(text, [round(p, 4) for p in char_probs], round(confidence, 4))


# What turns one line's frame probabilities into text: ``greedy(charset)`` or a ``BeamDecoder``.
Decoder = Callable[[np.ndarray], Decoded]


def greedy(charset: Charset) -> Decoder:
    return functools.partial(greedy_decode, charset=charset)


class BeamDecoder:
    """CTC prefix beam search with a character language model (``model.inference.language``). The text it
    chooses gets the greedy decoder's kind of character probabilities and confidence, taken from
    that text's most probable alignment, so confidences mean the same with and without it."""

    def __init__(self, charset: Charset, lm: CharLanguageModel, settings: BeamConfig | None = None) -> None:
        if lm.vocabulary != charset.num_classes:
            raise ValueError(f"the language model knows {lm.vocabulary} classes, the charset has {charset.num_classes}")
        # Without settings, the defaults the committed weights were tuned with.
        self.charset, self.lm, self.settings = charset, lm, settings or BeamConfig()
        # Class -> is a Latin letter: words are runs of them. Accented letters count, so that a
        # French or German word is one unknown word, not English fragments (résumé: r, sum).
        self._letter = [False] + [c.isalpha() and ord(c) < 0x3000 for c in charset.chars]

    def __call__(self, probs: np.ndarray) -> Decoded:
        """One line; ``probs`` shape: (T, num_classes), rows summing to 1."""
        best_path = greedy_decode(probs, self.charset)
        if probs.shape[0] == 0:
            return best_path
        labels = self.search(probs)
        # Compared as both decoders write it (``latin_marks``), so an agreeing beam costs no alignment.
        if latin_marks("".join(self.charset.char(i) for i in labels)) == best_path.text:
            return best_path
        return _aligned(probs, labels, self.charset)

    def search(self, probs: np.ndarray) -> tuple[int, ...]:
        """The most probable label sequence under network and language model. Shape: (T, C)."""
        s, lm = self.settings, self.lm
        history = lm.start()
        # Classes each frame offers, looked for only where the blank leaves room for any.
        offered: list[list[int]] = [[] for _ in range(probs.shape[0])]
        open_frames = np.flatnonzero(probs[:, BLANK] < 1.0 - s.min_prob)
        # One flat scan of the open frames: a 2-D nonzero took three times as long (a fifth of a
        # page's decoding).
        rows, classes = np.divmod(np.flatnonzero(probs[open_frames] >= s.min_prob), probs.shape[1])
        for row, label in zip(open_frames[rows].tolist(), classes.tolist()):
            if label != BLANK:
                offered[row].append(label)
        # prefix -> [P(prefix, path ends in blank), P(prefix, path ends in its last label)]
        beams: dict[tuple[int, ...], list[float]] = {(): [1.0, 0.0]}
        # prefix -> its weighted language model score and word bonuses
        lm_scores: dict[tuple[int, ...], float] = {(): 0.0}
        blanks = probs[:, BLANK].tolist()
        for t, labels in enumerate(offered):
            blank = blanks[t]
            if not labels:  # nothing new: every prefix just goes on
                beams = {
                    prefix: [(pb + pnb) * blank, pnb * float(probs[t, prefix[-1]]) if prefix else 0.0]
                    for prefix, (pb, pnb) in beams.items()
                }
                continue
            following: dict[tuple[int, ...], list[float]] = {}
            for prefix, (pb, pnb) in beams.items():
                entry = following.setdefault(prefix, [0.0, 0.0])
                entry[0] += (pb + pnb) * blank
                last = prefix[-1] if prefix else BLANK
                if last != BLANK and last not in labels:
                    entry[1] += pnb * float(probs[t, last])
                for label in labels:
                    p = float(probs[t, label])
                    extended = prefix + (label,)
                    if extended not in lm_scores:
                        lm_scores[extended] = lm_scores[prefix] + self._lm_score(history, prefix, label)
                    target = following.setdefault(extended, [0.0, 0.0])
                    if label == last:
                        entry[1] += pnb * p  # the same label again: CTC merges it
                        target[1] += pb * p  # after a blank: a second one
                    else:
                        target[1] += (pb + pnb) * p
            scored = sorted(
                ((self._score(prefix, p, lm_scores), prefix) for prefix, p in following.items()), reverse=True
            )
            best = scored[0][0]
            kept = [prefix for score, prefix in scored[: s.beam_width] if score > best - s.beam_gap]
            # Rescaled so long lines never underflow; the ranking is unchanged.
            scale = max(sum(following[prefix]) for prefix in kept) or 1.0
            beams = {prefix: [following[prefix][0] / scale, following[prefix][1] / scale] for prefix in kept}

        def final(prefix: tuple[int, ...]) -> float:
            return self._score(prefix, beams[prefix], lm_scores) + self._lm_score(history, prefix, BOUNDARY)

        return max(beams, key=final)

    def _lm_score(self, history: tuple[int, ...], prefix: tuple[int, ...], label: int) -> float:
        """The weighted language model score of ``label`` after ``prefix``, plus the word bonus if
        ``label`` ends a known word."""
        s = self.settings
        score = s.lm_weight * self.lm.log_prob(history + prefix, label)
        if s.word_bonus and prefix and self._letter[prefix[-1]] and not self._letter[label]:
            start = len(prefix) - 1
            while start and self._letter[prefix[start - 1]]:
                start -= 1
            if start < len(prefix) - 1:
                score += s.word_bonus * self.lm.words.get("".join(map(self.charset.char, prefix[start:])).lower(), 0.0)
        return score

    def _score(self, prefix: tuple[int, ...], p: list[float], lm_scores: dict[tuple[int, ...], float]) -> float:
        total = p[0] + p[1]
        if total <= 0:
            return -math.inf
        return math.log(total) + lm_scores[prefix] + self.settings.length_bonus * len(prefix)


def _aligned(probs: np.ndarray, labels: Sequence[int], charset: Charset) -> Decoded:
    """``labels`` read from ``probs`` with the greedy decoder's char_probs and confidence, taken from
    the most probable CTC alignment (Viterbi) of exactly those labels."""
    if not labels:
        return _decoded("", [], probs)
    states = [BLANK]
    for label in labels:
        states += [label, BLANK]
    states_arr = np.array(states)
    count, frames = len(states), probs.shape[0]
    log_p = np.log(np.maximum(probs[:, states_arr], 1e-30))
    # A state may be entered from itself, the one before, or two before when that skips a blank
    # between different labels.
    skip = np.zeros(count, bool)
    skip[3::2] = states_arr[3::2] != states_arr[1:-2:2]
    no_jump = np.where(skip, 0.0, -np.inf)
    # best[t] lives at padded[2:]: the two cells before it make the step and jump moves plain views.
    padded = np.full(count + 2, -np.inf)
    padded[2:4] = log_p[0, :2]
    moves = np.empty((3, count))
    back = np.zeros((frames, count), np.int64)
    for t in range(1, frames):
        moves[0] = padded[2:]
        moves[1] = padded[1:-1]
        np.add(padded[:-2], no_jump, out=moves[2])
        moves.argmax(0, out=back[t])
        np.add(moves.max(0), log_p[t], out=padded[2:])
    best = padded[2:]
    state = count - 1 if count == 1 or best[-1] >= best[-2] else count - 2
    char_probs = [0.0] * len(labels)
    for t in range(frames - 1, -1, -1):
        if state % 2:
            char_probs[state // 2] = max(char_probs[state // 2], float(probs[t, states[state]]))
        state -= int(back[t, state])
    return _decoded("".join(charset.char(i) for i in labels), char_probs, probs)
