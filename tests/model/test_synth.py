import random
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from model.inference.charset import Charset
from model.synth import alphabet
from model.synth.alphabet import FORM_MARKS
from model.synth.corpus import Corpus
from model.synth.fonts import read_faces
from model.synth.render import BORROWED, LineRenderer


@pytest.fixture(scope="module")
def charset() -> Charset:
    return alphabet.current()


@pytest.fixture(scope="module")
def corpus(charset) -> Corpus:
    return Corpus(charset)


def test_fonts_found(fonts):
    assert sum(f.cjk for f in fonts) >= 5
    assert sum(not f.cjk for f in fonts) >= 5


def test_corpus_uses_only_charset_characters(corpus, charset):
    rng = random.Random(3)
    lines = [corpus.line(rng) for _ in range(2000)]
    assert all(line and all(c in charset for c in line) for line in lines)
    assert all(line == line.strip() and "  " not in line for line in lines)
    # A line without hanzi ends its sentences with Latin marks, as the decoder reads them.
    assert not any(("。" in line or "、" in line) and not re.search("[\u4e00-\u9fff]", line) for line in lines)
    joined = "".join(lines)
    assert sum(c.isascii() and c.isalpha() for c in joined) > 0.1 * len(joined)
    assert sum(ord(c) >= 0x4E00 for c in joined) > 0.25 * len(joined)  # about 0.3, give or take 0.02


def test_english_prose_wraps_like_running_text(corpus):
    """Lines cut from paragraphs: most start mid-sentence in lower case, some carry a sentence end
    into the next sentence, some end on a hyphenated break."""
    rng = random.Random(4)
    lines = [corpus.english_prose(rng) for _ in range(500)]
    assert sum(line[0].islower() for line in lines) > 0.5 * len(lines)
    assert sum(re.search(r"[.?!] [A-Z]", line) is not None for line in lines) > 0.1 * len(lines)
    assert 0 < sum(line.endswith("-") for line in lines) < 0.2 * len(lines)


def test_european_lines_teach_the_latin_extras(corpus, charset):
    """The v2 characters appear in a modest sample: accents, quotes, dashes, bullets, currency."""
    rng = random.Random(6)
    joined = "".join(corpus.line(rng) for _ in range(3000))
    for char in "éèàçüöäáóí«»–•€":
        assert char in joined, char
    lines = [corpus.european(rng) for _ in range(300)]
    assert all(all(c in charset for c in line) for line in lines)
    assert sum(any(not c.isascii() for c in line) for line in lines) > 0.5 * len(lines)


def test_corpus_is_seeded(corpus):
    assert [corpus.line(random.Random(5)) for _ in range(3)] == [corpus.line(random.Random(5)) for _ in range(3)]


def test_renderer_is_deterministic_for_a_seed(corpus, fonts):
    renderer = LineRenderer(fonts)
    first = [renderer.render(corpus.line(r), r) for r in [random.Random(11)] for _ in range(5)]
    second = [renderer.render(corpus.line(r), r) for r in [random.Random(11)] for _ in range(5)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert all(image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 for image in first)


def _draws(font: ImageFont.FreeTypeFont, face_path: str, index: int, chars: str, cmaps: dict) -> list[str]:
    """The characters of ``chars`` that ``font`` has no real glyph for."""
    cmap = cmaps.setdefault((face_path, index), read_faces(Path(face_path))[index][1])
    return [
        c for c in chars if c != " " and (cmap.get(ord(c)) in (None, ".notdef") or font.getmask(c).getbbox() is None)
    ]


def test_rendered_text_has_a_glyph_in_its_font(corpus, fonts):
    """No tofu: every character the renderer draws is mapped to a real glyph by the font it picked,
    or, for a form mark that face lacks, by the face it borrows the mark from."""
    renderer = LineRenderer(fonts)
    rng = random.Random(2)
    cmaps: dict = {}
    texts = [corpus.line(rng) for _ in range(40)] + [corpus.form(rng) for _ in range(20)]
    for text in texts:
        face = renderer.pick_font(text, rng)
        borrowed = renderer.borrowed_glyphs(text, face, 32, rng)
        own = "".join(c for c in text if c not in borrowed)
        font = ImageFont.truetype(face.path, 32, index=face.index)
        assert not _draws(font, face.path, face.index, own, cmaps), (face.name, text)
        for char, lent in borrowed.items():
            assert char in BORROWED
            assert not _draws(lent, lent.path, lent.index, char, cmaps), (lent.path, char)


def test_form_lines_teach_the_form_marks(corpus, charset, fonts):
    """Ballot boxes beside hanzi, which no CJK face draws, render with a borrowed glyph."""
    rng = random.Random(8)
    lines = [corpus.form(rng) for _ in range(300)]
    assert all(all(c in charset for c in line) for line in lines)
    joined = "".join(lines)
    for char in FORM_MARKS:
        assert char in joined, char
    renderer = LineRenderer(fonts)
    line = "是否同意：☐ 是 ☒ 否"
    face = renderer.pick_font(line, rng)
    assert face.cjk and renderer.borrowed_glyphs(line, face, 32, rng).keys() >= {"☐"}
    assert renderer.render(line, rng).shape[0] > 0
