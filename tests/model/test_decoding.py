import numpy as np
import pytest

from model.inference.charset import BLANK, Charset
from model.inference.config import BeamConfig
from model.inference.decoding import BeamDecoder, greedy_decode

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


@pytest.mark.parametrize(
    "read, text",
    [("tears。", "tears."), ("Corp、 Ltd", "Corp, Ltd"), ("句号。", "句号。"), ("见 GB 1、2。", "见 GB 1、2。")],
)
def test_cjk_marks_in_a_line_without_hanzi_are_latin(read, text):
    charset = Charset(sorted(set("tearsCorpLd 句号见GB12。、.,")), "test")
    rows = []
    for char in read:  # each character a clear frame, then a blank, so repeats stay apart
        rows += [(charset.encode(char)[0], 0.9), (BLANK, 0.9)]
    probs = np.full((len(rows), charset.num_classes), 0.1 / (charset.num_classes - 1), np.float32)
    for t, (cls, p) in enumerate(rows):
        probs[t, cls] = p
    assert greedy_decode(probs, charset).text == text


def test_confidence_is_geometric_mean_of_char_probs():
    decoded = greedy_decode(frames((1, 0.9), (0, 0.9), (2, 0.4)), CHARSET)
    assert decoded.confidence == pytest.approx(0.6, abs=1e-3)


def test_empty_line_confidence_is_blank_probability():
    decoded = greedy_decode(frames((0, 0.9), (0, 0.5)), CHARSET)
    assert decoded.confidence == pytest.approx(0.7, abs=1e-3)


def test_no_frames():
    assert greedy_decode(np.zeros((0, CHARSET.num_classes)), CHARSET).text == ""


# Beam search with a language model that has only seen "ab" and "cb": after "a" or "c" comes "b".
def toy_lm():
    from model.training.language_model import build

    return build([[1, 2]] * 50 + [[3, 2]] * 50, CHARSET.num_classes, order=2)


def test_beam_without_language_model_reads_like_greedy():
    decoder = BeamDecoder(CHARSET, toy_lm(), BeamConfig(lm_weight=0.0, length_bonus=0.0))
    for rows in [[(1, 0.9), (0, 0.8), (2, 0.7)], [(1, 0.6), (1, 0.9), (0, 0.9), (1, 0.8)], [(0, 0.9)]]:
        probs = frames(*rows)
        assert decoder(probs) == greedy_decode(probs, CHARSET)


def test_language_model_settles_a_close_call():
    probs = frames((1, 0.95), (0, 0.95), (3, 0.5), (0, 0.95))
    probs[2, 2] = 0.4  # "b" nearly as likely as "c"
    probs[2] /= probs[2].sum()
    assert greedy_decode(probs, CHARSET).text == "ac"
    decoded = BeamDecoder(CHARSET, toy_lm(), BeamConfig(lm_weight=1.0, length_bonus=0.0))(probs)
    assert decoded.text == "ab"
    # Probabilities are those of the text chosen, from its best alignment.
    assert decoded.char_probs == pytest.approx([0.95, probs[2, 2]], abs=1e-3)
    assert decoded.confidence == pytest.approx(float(np.sqrt(0.95 * probs[2, 2])), abs=1e-3)


def test_language_model_cannot_overrule_a_clear_reading():
    probs = frames((1, 0.95), (0, 0.95), (3, 0.97), (0, 0.95))
    assert BeamDecoder(CHARSET, toy_lm())(probs).text == "ac"


def test_beam_keeps_doubled_letters_apart_by_blank():
    probs = frames((2, 0.9), (0, 0.9), (2, 0.9), (2, 0.9))
    assert BeamDecoder(CHARSET, toy_lm(), BeamConfig(lm_weight=0.0, length_bonus=0.0))(probs).text == "bb"


def test_beam_on_no_frames():
    assert BeamDecoder(CHARSET, toy_lm())(np.zeros((0, CHARSET.num_classes))).text == ""


def test_beam_refuses_a_language_model_of_another_charset():
    from model.training.language_model import build

    with pytest.raises(ValueError):
        BeamDecoder(CHARSET, build([[1, 2]], CHARSET.num_classes + 1, order=2))


def test_word_bonus_prefers_a_known_word():
    charset = Charset(list("ils "), "words")
    lm = build_toy(charset, words={"is": 7.0})

    def reading(i_prob: float) -> np.ndarray:
        # "?s" then a space: the first letter is "l" (0.8) or "i" (i_prob) to the network.
        probs = np.full((4, charset.num_classes), 0.005)
        probs[0, charset.encode("l")[0]], probs[0, charset.encode("i")[0]] = 0.8, i_prob
        probs[1, BLANK] = probs[2, charset.encode("s")[0]] = probs[3, charset.encode(" ")[0]] = 0.98
        return probs / probs.sum(axis=1, keepdims=True)

    plain = BeamDecoder(charset, lm, BeamConfig(lm_weight=0.0, length_bonus=0.0, word_bonus=0.0))
    with_words = BeamDecoder(charset, lm, BeamConfig(lm_weight=0.0, length_bonus=0.0, word_bonus=0.5))
    assert plain(reading(0.15)).text == "ls "
    assert with_words(reading(0.15)).text == "is "
    assert with_words(reading(0.005)).text == "ls "  # a letter the network never saw stays out


def test_an_accented_letter_belongs_to_its_word():
    # "ü?s ", where the network prefers l to i: with ü a letter, "üis" is one unknown word, so the
    # known "is" inside it earns no bonus and the reading stays "üls ".
    charset = Charset(list("ülis "), "words")
    lm = build_toy(charset, words={"is": 7.0})
    probs = np.full((5, charset.num_classes), 0.005)
    probs[0, charset.encode("ü")[0]] = 0.98
    probs[1, charset.encode("l")[0]], probs[1, charset.encode("i")[0]] = 0.8, 0.15
    probs[2, BLANK] = probs[3, charset.encode("s")[0]] = probs[4, charset.encode(" ")[0]] = 0.98
    probs /= probs.sum(axis=1, keepdims=True)
    with_words = BeamDecoder(charset, lm, BeamConfig(lm_weight=0.0, length_bonus=0.0, word_bonus=0.5))
    assert with_words(probs).text == "üls "


def build_toy(charset: Charset, words: dict[str, float]):
    from model.training.language_model import build

    return build([[1, 2, 3]], charset.num_classes, order=2, words=words)
