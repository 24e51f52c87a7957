"""Contracts of the synthetic page generator (model/synth/pages/): seeded, boxes inside the image
and around the ink, reading order, rotation, vertical lines, charset, and the sample-writing CLI."""

import itertools
import json
import random

import cv2
import numpy as np
import pytest

from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.pages import LAYOUTS, Page, PageRenderer
from model.synth.pages import __main__ as cli

TEXT_LAYOUTS = [name for name in LAYOUTS if name != "empty"]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(alphabet.current())


@pytest.fixture(scope="module")
def renderer(fonts, corpus) -> PageRenderer:
    return PageRenderer(fonts, corpus)


@pytest.fixture(scope="module")
def pages(renderer) -> list[Page]:
    """Two pages of every layout at full degradation, turned at random as in training."""
    return [renderer.render(random.Random(f"{name}{i}"), layout=name) for name in LAYOUTS for i in range(2)]


@pytest.fixture(scope="module")
def clean_pages(fonts, corpus) -> list[Page]:
    """Pages without capture artefacts, where ink and background can be told apart reliably."""
    renderer = PageRenderer(fonts, corpus, degradation=0.0)
    return [renderer.render(random.Random(f"clean{name}{i}"), layout=name) for name in TEXT_LAYOUTS for i in range(2)]


def signed_area(box: np.ndarray) -> float:
    """Shoelace area; positive when the corners run clockwise on screen (y pointing down)."""
    x, y = box[:, 0].astype(np.float64), box[:, 1].astype(np.float64)
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def polygon_mask(shape: tuple[int, int], box: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.int32(np.round(box)), 1)
    return mask.astype(bool)


def ink(image: np.ndarray) -> np.ndarray:
    """Pixels far from the local background (a wide median): strokes and rules, not flat fills."""
    background = cv2.medianBlur(image, 31)
    return np.abs(image.astype(np.int16) - background).max(axis=2) > 60


def rules(strokes: np.ndarray) -> np.ndarray:
    """Long straight horizontal or vertical runs: table rules, dividers and frames, not text."""
    runs = strokes.astype(np.uint8)
    across = cv2.morphologyEx(runs, cv2.MORPH_OPEN, np.ones((1, 41), np.uint8))
    down = cv2.morphologyEx(runs, cv2.MORPH_OPEN, np.ones((41, 1), np.uint8))
    return (across | down).astype(bool)


def test_page_is_deterministic_for_a_seed(renderer):
    first, second = (renderer.render(random.Random(7)) for _ in range(2))
    np.testing.assert_array_equal(first.image, second.image)
    assert [line.text for line in first.lines] == [line.text for line in second.lines]
    for a, b in zip(first.lines, second.lines):
        np.testing.assert_array_equal(a.box, b.box)
    assert (first.layout, first.rotation) == (second.layout, second.rotation)


def test_pages_have_the_promised_form(pages):
    for page in pages:
        height, width = page.image.shape[:2]
        assert page.image.dtype == np.uint8 and page.image.shape[2] == 3
        assert 600 <= max(height, width) <= 1600, (page.layout, page.image.shape)
        assert page.rotation in (0, 90, 180, 270)
        assert (len(page.lines) == 0) == (page.layout == "empty"), page.layout
        for line in page.lines:
            assert line.box.shape == (4, 2) and line.box.dtype == np.float32


def test_boxes_lie_inside_the_image_and_run_clockwise(pages):
    for page in pages:
        height, width = page.image.shape[:2]
        for line in page.lines:
            assert (
                (line.box >= 0).all() and (line.box[:, 0] <= width - 1).all() and (line.box[:, 1] <= height - 1).all()
            )
            assert signed_area(line.box) > 0, (page.layout, line.text, line.box)


def test_reading_order_is_a_permutation(pages):
    for page in pages:
        assert sorted(line.order for line in page.lines) == list(range(len(page.lines)))


def test_texts_use_only_charset_characters(pages):
    charset = alphabet.current()
    for page in pages:
        for line in page.lines:
            assert line.text and line.text == line.text.strip() and "  " not in line.text
            assert all(c in charset for c in line.text), line.text


def test_vertical_lines_are_taller_than_wide_and_chinese(pages):
    vertical = [(page, line) for page in pages for line in page.lines if line.vertical]
    assert sum(page.layout == "vertical" for page, _ in vertical) >= 4
    for _, line in vertical:
        top = np.linalg.norm(line.box[1] - line.box[0])  # along the column's top edge
        side = np.linalg.norm(line.box[3] - line.box[0])  # down the column, the reading direction
        assert side > top, (line.text, line.box)
        assert len(line.text) >= 2 and all(0x4E00 <= ord(c) <= 0x9FFF or c in "，。、" for c in line.text)


def test_vertical_columns_are_read_right_to_left(renderer):
    page = renderer.render(random.Random(3), layout="vertical", rotation=0)
    body = [line for line in page.lines if line.kind == "vertical"]
    assert len(body) >= 3
    centres = [float(line.box[:, 0].mean()) for line in sorted(body, key=lambda line: line.order)]
    assert all(a > b for a, b in itertools.pairwise(centres))


def test_boxes_hold_the_ink_and_little_ink_lies_elsewhere(clean_pages):
    for page in clean_pages:
        strokes = ink(page.image)
        covered = np.zeros(strokes.shape, bool)
        for line in page.lines:
            inside = polygon_mask(strokes.shape, line.box)
            assert strokes[inside].mean() > 0.02, (page.layout, line.text)
            covered |= inside
        outside = (strokes & ~rules(strokes))[~covered].mean()
        assert outside < 0.02, page.layout  # edges of panels and boards, never much
        assert strokes[covered].mean() > 5 * outside, page.layout


def test_rotation_turns_image_and_boxes_together(renderer):
    upright = renderer.render(random.Random(11), layout="document", rotation=0)
    height = upright.image.shape[0]
    for rotation in (90, 180, 270):
        turned = renderer.render(random.Random(11), layout="document", rotation=rotation)
        assert turned.rotation == rotation
        np.testing.assert_array_equal(turned.image, np.rot90(upright.image, -rotation // 90))
        assert [line.text for line in turned.lines] == [line.text for line in upright.lines]
    quarter = renderer.render(random.Random(11), layout="document", rotation=90)
    for a, b in zip(upright.lines, quarter.lines):
        expected = np.stack([height - 1 - a.box[:, 1], a.box[:, 0]], axis=1)
        np.testing.assert_allclose(b.box, expected, atol=1e-3)
        if not b.vertical:  # corner 0 is still where the text starts: reading now runs downwards
            direction = b.box[1] - b.box[0]
            assert direction[1] > abs(direction[0])


def test_cli_writes_images_and_ground_truth(tmp_path, monkeypatch, fonts, corpus):
    monkeypatch.setattr(cli, "discover_fonts", lambda charset: fonts)
    monkeypatch.setattr(cli, "Corpus", lambda charset: corpus)
    cli.main(cli.parse_args(["--out", str(tmp_path), "--count", "2", "--seed", "5", "--boxes"]))
    records = sorted(tmp_path.glob("page_*.json"))
    assert len(records) == 2
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        image = cv2.imread(str(tmp_path / record["image"]))
        assert image.shape[:2] == (record["height"], record["width"])
        assert (tmp_path / f"{path.stem}_boxes.png").exists()
        assert all(len(line["box"]) == 4 and line["text"] for line in record["lines"])
        assert [line["order"] for line in record["lines"]] == list(range(len(record["lines"])))
