import random

import numpy as np
import pytest

from model.inference.language import BOUNDARY, CharLanguageModel
from model.synth import alphabet
from model.training.language_model import NOT_LANGUAGE, build, corpus_sequences
from model.training.paths import DEFAULT_LM

VOCABULARY = 7  # boundary + six tokens


def toy_sequences(seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    noise = [[rng.randint(1, 6) for _ in range(rng.randint(1, 9))] for _ in range(300)]
    return noise + [[1, 2, 3]] * 60 + [[4, 5]] * 20


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_unpruned_model_is_a_distribution_after_any_history(order):
    lm = build(toy_sequences(), VOCABULARY, order=order, min_count=1)
    for history in [(), (1,), (1, 2), (6, 6, 6), (3, 1, 4, 1)]:
        total = sum(np.exp(lm.log_prob(lm.start() + history, token)) for token in range(VOCABULARY))
        assert total == pytest.approx(1.0, abs=1e-4)


def test_context_decides():
    lm = build(toy_sequences(), VOCABULARY, order=3)
    after_12 = lm.start() + (1, 2)
    assert lm.log_prob(after_12, 3) > lm.log_prob(after_12, 5) + 2
    assert lm.log_prob(lm.start() + (4, 5), BOUNDARY) > lm.log_prob(lm.start() + (4, 5), 1)


def test_pruned_model_still_scores_everything():
    lm = build(toy_sequences(), VOCABULARY, order=3, min_count=5)
    scores = [lm.log_prob(lm.start() + (6, 6), token) for token in range(VOCABULARY)]
    assert all(np.isfinite(scores)) and max(scores) <= 0


def test_save_and_load_keep_the_scores(tmp_path):
    lm = build(toy_sequences(), VOCABULARY, order=3)
    lm.save(tmp_path / "lm.npz")
    loaded = CharLanguageModel.load(tmp_path / "lm.npz")
    for history in [(1, 2), (5, 5), (2, 6)]:
        for token in range(VOCABULARY):
            # Stored in float16: about three significant digits.
            assert loaded.log_prob(lm.start() + history, token) == pytest.approx(
                lm.log_prob(lm.start() + history, token), rel=2e-3, abs=2e-3
            )


def test_build_is_deterministic_for_a_seed():
    charset = alphabet.current()
    first = corpus_sequences(charset, 200, seed=5)
    assert first == corpus_sequences(charset, 200, seed=5)
    assert first != corpus_sequences(charset, 200, seed=6)


def test_corpus_for_the_model_is_language_only(monkeypatch):
    from model.synth import corpus

    kinds = []
    original = corpus.Corpus.labelled_line

    def spy(self, rng):
        kind, text = original(self, rng)
        kinds.append(kind)
        return kind, text

    monkeypatch.setattr(corpus.Corpus, "labelled_line", spy)
    charset = alphabet.current()
    sequences = corpus_sequences(charset, 300, seed=1)
    assert len(sequences) == 300
    assert NOT_LANGUAGE <= set(kinds)  # they were drawn ...
    assert len(kinds) > 300  # ... and left out
    assert all(0 < token < charset.num_classes for s in sequences for token in s)


def test_committed_model_fits_the_charset():
    lm = CharLanguageModel.load(DEFAULT_LM)
    charset = alphabet.current()
    assert lm.vocabulary == charset.num_classes
    common = charset.encode("的")[0]
    rare = charset.encode("蠲")[0]
    assert lm.log_prob(lm.start(), common) > lm.log_prob(lm.start(), rare)
    # Common words beat their look-alikes.
    history = lm.start() + tuple(charset.encode("人民共"))
    assert lm.log_prob(history, charset.encode("和")[0]) > lm.log_prob(history, charset.encode("合")[0]) + 3
    history = lm.start() + tuple(charset.encode("th"))
    assert lm.log_prob(history, charset.encode("e")[0]) > lm.log_prob(history, charset.encode("c")[0]) + 3


def test_committed_model_knows_english_words():
    lm = CharLanguageModel.load(DEFAULT_LM)
    assert lm.words["is"] > lm.words["surface"] > lm.words.get("surtace", 0.0)
    assert all(w == w.lower() and w.isalpha() and len(w) > 1 for w in lm.words)


def test_remembered_scores_stay_bounded_and_equal(monkeypatch):
    from model.inference import language

    monkeypatch.setattr(language, "CACHE_SIZE", 5)
    lm = build(toy_sequences(), VOCABULARY, order=3)
    first = [lm.log_prob(lm.start() + (a, b), c) for a in range(1, 4) for b in range(1, 4) for c in range(VOCABULARY)]
    again = [lm.log_prob(lm.start() + (a, b), c) for a in range(1, 4) for b in range(1, 4) for c in range(VOCABULARY)]
    assert first == again
    assert len(lm._cache) <= 5
