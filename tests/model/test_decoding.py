import numpy as np
import pytest

from model.charset import Charset
from model.decoding import greedy_decode

CHARSET = Charset(list("abc"), "test")


def frames(*rows: tuple[int, float]) -> np.ndarray:
    """One frame per (class, probability); the remaining mass is spread over the other classes."""
    probs = np.zeros((len(rows), CHARSET.num_classes), np.float32)
    for t, (cls, p) in enumerate(rows):
        probs[t, :] = (1 - p) / (CHARSET.num_classes - 1)
        probs[t, cls] = p
    return probs


@pytest.mark.parametrize(
    "rows, text, char_probs",
    [
        ([(1, 0.9), (0, 0.8), (2, 0.7)], "ab", [0.9, 0.7]),
        ([(1, 0.6), (1, 0.9), (0, 0.9), (1, 0.8)], "aa", [0.9, 0.8]),  # repeats merge; blank splits
        ([(3, 0.5), (3, 0.7), (3, 0.6)], "c", [0.7]),
        ([(0, 0.9), (0, 0.7)], "", []),
    ],
)
def test_greedy_decode(rows, text, char_probs):
    decoded = greedy_decode(frames(*rows), CHARSET)
    assert decoded.text == text
    assert decoded.char_probs == pytest.approx(char_probs, abs=1e-4)


def test_confidence_is_geometric_mean_of_char_probs():
    decoded = greedy_decode(frames((1, 0.9), (0, 0.9), (2, 0.4)), CHARSET)
    assert decoded.confidence == pytest.approx(0.6, abs=1e-3)


def test_empty_line_confidence_is_blank_probability():
    decoded = greedy_decode(frames((0, 0.9), (0, 0.5)), CHARSET)
    assert decoded.confidence == pytest.approx(0.7, abs=1e-3)


def test_no_frames():
    assert greedy_decode(np.zeros((0, CHARSET.num_classes)), CHARSET).text == ""
