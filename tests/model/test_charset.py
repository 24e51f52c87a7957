import pytest

from model.inference.charset import BLANK, Charset, CharsetError
from model.synth import alphabet
from model.synth.alphabet import FORM_MARKS, LATIN_EXTRA, build_v1, build_v2, build_v3, gb2312_hanzi


@pytest.fixture(scope="module")
def charset() -> Charset:
    return alphabet.current()


def test_committed_file_matches_derivation(charset):
    assert charset.chars == build_v3()
    assert charset.version == "v3"


def test_each_version_keeps_every_index_of_the_one_before(charset):
    # Weights trained on an older alphabet grow into a newer one only because its classes come
    # first, in order.
    v1, v2 = build_v1(), build_v2()
    assert charset.chars[: len(v1)] == v1
    assert "".join(charset.chars[len(v1) : len(v2)]) == LATIN_EXTRA
    assert "".join(charset.chars[len(v2) :]) == FORM_MARKS


def test_contents(charset):
    assert len(gb2312_hanzi()) == 6763
    assert all(chr(c) in charset for c in range(0x20, 0x7F))
    for char in "，。、；：？！“”（）《》【】éüßç–•«»€☐☒※✓":
        assert char in charset
    assert charset.num_classes == len(charset) + 1


@pytest.mark.parametrize("text", ["Hello, world!", "发票代码：044031900111", "总计 ￥1,234.50", " ", "京A·"[:2]])
def test_encode_round_trip(charset, text):
    indices = charset.encode(text)
    assert BLANK not in indices
    assert "".join(charset.char(i) for i in indices) == text


def test_unknown_character_is_refused(charset):
    with pytest.raises(CharsetError):
        charset.encode("😀")
    assert charset.filter("a😀b") == "ab"


def test_file_round_trip(tmp_path, charset):
    path = tmp_path / "charset.txt"
    charset.save(path)
    again = Charset.from_file(path)
    assert again.chars == charset.chars and again.version == charset.version


def test_malformed_file_is_refused():
    with pytest.raises(CharsetError):
        Charset.from_text("a\nb\n")
    with pytest.raises(CharsetError):
        Charset.from_text("# crnn-ocr charset v9: x\na\na\n")
