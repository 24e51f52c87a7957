"""The page reader's geometry (turns, crops, vertical columns) and, with the committed weights,
whole pages read end to end: upright, turned by quarter turns, vertical, empty."""

import time

import cv2
import numpy as np
import pytest
import torch

from model.inference.assemble import Checkpoints, load_reader
from model.inference.config import ReaderConfig
from model.inference.contract import InputError
from model.inference.limits import PageLimits
from model.inference.reader.crops import restack_vertical, straighten, trim_to_ink
from model.inference.reader.markers import grown_over_marker
from model.inference.reader.pipeline import PageReader, angle_of, turned, upright_points
from model.inference.reader.recognise import width_batches
from model.inference.reader.rules import find_rules
from model.synth.pages.capture import turn
from model.training.metrics import AccuracyMeter
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from tests.helpers import CJK_FONT, render_clean_line, render_page, render_plate

HORIZONTAL = ["二〇二四年度报告", "Invoice No. 2024-0815", "合计金额 ¥1,280.50", "上海市浦东新区世纪大道"]
VERTICAL = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声"]
SETTINGS = ReaderConfig()


@pytest.fixture(scope="module")
def reader() -> PageReader:
    torch.set_num_threads(2)
    return load_reader(Checkpoints(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM))


def accuracy(predicted: str, expected: str) -> float:
    meter = AccuracyMeter()
    meter.add(predicted, expected)
    return meter.char_accuracy


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_upright_points_undo_a_turned_page(turns):
    rng = np.random.default_rng(turns)
    points = rng.uniform(0, [300, 200], size=(5, 4, 2)).astype(np.float32)
    image = np.zeros((200, 300), np.uint8)
    turned_image, turned_points = turn(image, points, turns * 90)
    h, w = turned_image.shape
    np.testing.assert_allclose(upright_points(turned_points, turns, w, h), points, atol=1e-4)


def test_turned_corners_and_angles():
    upright = np.float32([[0, 0], [100, 0], [100, 20], [0, 20]])
    assert [angle_of(turned(upright, k)) for k in range(4)] == [0.0, 90.0, 180.0, 270.0]


def test_straighten_undoes_a_quarter_turn():
    line = render_clean_line("Straight 42")
    h, w = line.shape
    image = np.ascontiguousarray(np.rot90(line, -1))  # turned clockwise: text reads top to bottom
    # The line's corners in the turned image, starting where the text starts (top right).
    corners = np.float32([[h - 1, 0], [h - 1, w - 1], [0, w - 1], [0, 0]])
    back = straighten(image, corners, margin=0)
    assert abs(back.shape[0] - h) <= 1 and abs(back.shape[1] - w) <= 1
    back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
    assert np.abs(back.astype(int) - line.astype(int)).mean() < 8


def _line_crop(below: str) -> np.ndarray:
    """A 60-row crop: a line's body (rows 10-35, a third of it ink) and sparse descenders below it
    (rows 35-45) that run on to the edge as ``below`` says: into the next line's ascenders across
    the width, into a bowl under one word, or on as thin descenders."""
    crop = np.full((60, 300), 255, np.uint8)
    crop[10:35, ::3] = 0
    crop[35:45, ::40] = 0
    if below == "next line":
        crop[45:60, ::6] = 0
    elif below == "bowl":
        crop[45:60, :60:3] = 0
    else:
        crop[45:60, ::40] = 0
    return crop


def test_trimming_drops_the_next_line_where_it_touches_this_one():
    # Cut at the emptiest row nearest the next line: rows 10-44 are kept.
    assert trim_to_ink(_line_crop("next line"), SETTINGS).shape[0] == 34 + 2 * round(SETTINGS.trim_margin[0] * 34)
    # Ink that runs into the edge under one word only, or thinly, is the line's own.
    for below in ("bowl", "descenders"):
        assert trim_to_ink(_line_crop(below), SETTINGS).shape[0] == 50 + 2 * round(SETTINGS.trim_margin[0] * 50)


BULLETED = ["实现了一致性哈希算法", "后台资源占用率减少百分之八", "支持 Unicode 字体"]


def _bulleted_page(marker: str = "dot") -> np.ndarray:
    """``BULLETED`` as a list whose markers stand a tab (1.5 lines) before the items: dots, too-big
    squares, or none."""
    size = 36
    page = render_page(BULLETED, size=size)
    page = np.ascontiguousarray(np.pad(page, ((0, 0), (3 * size, 0)), constant_values=255))
    for i in range(len(BULLETED)):
        x, y = 2 * size + 3 * size - int(1.5 * size), 2 * size + int(i * size * 1.8) + size // 2 + 2
        if marker == "dot":
            cv2.circle(page, (x, y), size // 7, 0, -1)
        elif marker == "big":
            cv2.rectangle(page, (x - size // 2, y - size // 2), (x + size // 2, y + size // 2), 0, -1)
    return page


def test_a_marker_before_a_line_grows_its_box():
    page = _bulleted_page("dot")
    line = np.float32([[180, 72], [560, 72], [560, 112], [180, 112]])  # the first item, without its dot
    grown = grown_over_marker(page, line, [], SETTINGS)
    assert grown is not None
    assert grown[0][0] < 180 - 1.5 * 36 - 36 // 7 and grown[3][0] == grown[0][0]
    np.testing.assert_array_equal(grown[1:3], line[1:3])
    # Not a marker: nothing there, a block too big for one, ink inside another box.
    assert grown_over_marker(_bulleted_page("none"), line, [], SETTINGS) is None
    assert grown_over_marker(_bulleted_page("big"), line, [], SETTINGS) is None
    assert grown_over_marker(page, line, [np.float32([[100, 60], [170, 60], [170, 120], [100, 120]])], SETTINGS) is None


def test_bulleted_items_are_read_with_their_markers(reader):
    result = reader.read(cv2.cvtColor(_bulleted_page("dot"), cv2.COLOR_GRAY2BGR), mode="page")
    assert [line["text"][:1] for line in result["lines"]] == ["•"] * len(BULLETED)
    assert accuracy(result["text"], "\n".join(f"• {item}" for item in BULLETED)) >= 0.9


def test_width_batches_keep_similar_widths_together():
    widths = [100, 1000, 120, 900, 110, 300, 1100]
    batches = width_batches(widths, batch_size=2, max_padding=1.3)
    assert sorted(i for batch in batches for i in batch) == list(range(len(widths)))
    assert all(len(batch) <= 2 for batch in batches)
    assert all(max(widths[i] for i in b) <= 1.3 * min(widths[i] for i in b) for b in batches)
    assert batches[0] == [6, 1]  # widest first


def test_batched_reading_equals_one_by_one(reader):
    texts = ("发票号码 No. 20261124", "合计", "Total amount: 128.50", "你好")
    lines = [render_clean_line(text, CJK_FONT) for text in texts]
    batched = reader.recogniser.read(lines)
    alone = [reader.recogniser.read([line])[0] for line in lines]
    assert [d.text for d in batched] == [d.text for d in alone]
    # Padding after a shorter line reaches its last frames through the convolutions' receptive field.
    assert [d.confidence for d in batched] == pytest.approx([d.confidence for d in alone], abs=2e-3)


def test_restack_takes_columns_of_any_size():
    rng = np.random.default_rng(0)
    for height in range(60, 400, 7):
        for width in (20, 31, 43):  # at 43 x 263 a comb of float steps once ended past the last row
            column = np.full((height, width), 255, np.uint8)
            column[rng.random((height, width)) < 0.2] = 0
            line = restack_vertical(column, SETTINGS)
            assert line.ndim == 2 and line.size > 0


def test_restack_reads_a_vertical_column(reader):
    column = render_page(["登高望远"], vertical=True)
    ink = np.argwhere(column < 128)
    (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0)
    line = restack_vertical(column[y0 - 4 : y1 + 5, x0 - 4 : x1 + 5], SETTINGS)
    assert line.shape[1] > line.shape[0]
    assert reader.recogniser.read([line])[0].text == "登高望远"


def test_unknown_mode_is_refused(reader):
    with pytest.raises(InputError, match="mode"):
        reader.read(np.full((40, 200), 255, np.uint8), mode="sideways")


def test_line_mode_reads_the_whole_image(reader):
    result = reader.read(render_clean_line("Hello 2024"), mode="auto")
    assert result["mode"] == "line" and result["text"] == "Hello 2024"
    assert len(result["lines"]) == 1 and len(result["char_probs"]) == len(result["text"])


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_page_read_in_order_whatever_its_turn(reader, rotation):
    page = cv2.cvtColor(render_page(HORIZONTAL), cv2.COLOR_GRAY2BGR)
    page, _ = turn(page, np.zeros((0, 4, 2), np.float32), rotation)
    result = reader.read(page, mode="auto")
    assert result["mode"] == "page"
    assert result["rotation"] == rotation
    # A page turned a quarter may gain a stray fragment of a line (a known gap of the detector, which
    # saw few turned pages), never lose a line.
    assert len(HORIZONTAL) <= len(result["lines"]) <= len(HORIZONTAL) + (0 if rotation in (0, 180) else 1)
    assert accuracy(result["text"], "\n".join(HORIZONTAL)) >= 0.9
    long_lines = [line for line in result["lines"] if len(line["text"]) > 3]
    assert all(abs((line["angle"] - rotation + 180) % 360 - 180) < 5 for line in long_lines)
    h, w = page.shape[:2]
    for line in result["lines"]:
        box = np.array(line["box"])
        assert box.shape == (4, 2) and (box >= -2).all() and (box[:, 0] <= w + 2).all() and (box[:, 1] <= h + 2).all()


def test_vertical_page_read_top_to_bottom_right_to_left(reader):
    result = reader.read(render_page(VERTICAL, vertical=True), mode="page")
    assert [line["vertical"] for line in result["lines"]] == [True] * len(VERTICAL)
    assert accuracy(result["text"], "\n".join(VERTICAL)) >= 0.9


@pytest.mark.parametrize("rotation", [90, 270])
def test_vertical_page_turned_a_quarter_is_read_as_columns(reader, rotation):
    """Its columns lie like wide lines, which read badly upright and upside down: the quarter turns win."""
    page = cv2.cvtColor(render_page(VERTICAL, vertical=True), cv2.COLOR_GRAY2BGR)
    page, _ = turn(page, np.zeros((0, 4, 2), np.float32), rotation)
    result = reader.read(page, mode="page")
    assert result["rotation"] == rotation
    assert all(line["vertical"] for line in result["lines"])
    assert accuracy(result["text"], "\n".join(VERTICAL)) >= 0.9


def test_a_picture_is_not_read_as_random_characters(reader):
    """A halftone picture under the text: its specks may be detected, but what they read as (one or
    two rare characters, unconfidently) is left out."""
    page = render_page(HORIZONTAL)
    rng = np.random.default_rng(1)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (260, 260)).astype(np.uint8), (0, 0), 6)
    halftone = np.where(photo > rng.integers(0, 255, photo.shape), 255, 0).astype(np.uint8)
    canvas = np.full((page.shape[0] + 300, page.shape[1]), 255, np.uint8)
    canvas[: page.shape[0]] = page
    canvas[page.shape[0] + 20 : page.shape[0] + 280, 40:300] = halftone
    result = reader.read(canvas, mode="page")
    assert len(result["lines"]) <= len(HORIZONTAL) + 6
    assert accuracy(result["text"], "\n".join(HORIZONTAL)) >= 0.75


def test_a_poorly_read_line_is_not_turned_over_for_a_slightly_better_reading(reader):
    """A plate squashed to half its height reads poorly upright; upside down, its symmetric glyphs
    (0, 1, 8) read about as confidently. Like a page, a line is turned over only for a clearly
    better reading."""
    photo = np.full((118, 480, 3), 90, np.uint8)
    photo[20:98, 80:400] = cv2.resize(render_plate("KJ482T", "OREGON"), (320, 78))
    # As a street photo comes: JPEG, then enlarged.
    photo = cv2.imdecode(cv2.imencode(".jpg", photo)[1], cv2.IMREAD_COLOR)
    photo = cv2.resize(photo, None, fx=128 / 118, fy=128 / 118, interpolation=cv2.INTER_CUBIC)
    result = reader.read(photo, mode="page")
    assert result["lines"] and all(abs((line["angle"] + 180) % 360 - 180) < 5 for line in result["lines"])


def test_blank_page_is_an_empty_result(reader):
    result = reader.read(np.full((900, 700, 3), 250, np.uint8), mode="page")
    assert result["text"] == "" and result["lines"] == []
    assert 0.0 <= result["confidence"] <= 1.0


def test_rules_of_a_form_are_found_and_its_text_is_not():
    page = render_page(["项目名称 山东省企业就业失业数据采集系统", "申请人 山东省就业商业部"])
    ruled = page.copy()
    height, width = ruled.shape
    for y in (20, height // 2, height - 20):
        cv2.line(ruled, (10, y), (width - 10, y), 0, 2)
    cv2.line(ruled, (10, 20), (10, height - 20), 0, 2)
    assert len(find_rules(page, SETTINGS)) == 0
    rules = find_rules(ruled, SETTINGS)
    across = rules[np.abs(rules[:, 1, 0] - rules[:, 0, 0]) > np.abs(rules[:, 1, 1] - rules[:, 0, 1])]
    assert len(across) == 3 and len(rules) == 4
    np.testing.assert_allclose(np.sort(across[:, 0, 1]), [20, height // 2, height - 20], atol=3)
    np.testing.assert_allclose(across[:, 0, 0], 10, atol=4)
    np.testing.assert_allclose(across[:, 1, 0], width - 10, atol=4)


def test_page_limits_refuse_a_page_and_change_nothing_else(reader):
    """Too many lines, or no time left, refuse the page; limits it keeps to leave its reading as is."""
    page = cv2.cvtColor(render_page(HORIZONTAL), cv2.COLOR_GRAY2BGR)
    free = reader.read_page(page)
    bounded = reader.read_page(page, PageLimits(max_lines=len(HORIZONTAL), deadline=time.monotonic() + 60))
    assert {k: v for k, v in bounded.items() if k != "timings"} == {k: v for k, v in free.items() if k != "timings"}
    with pytest.raises(InputError) as err:
        reader.read_page(page, PageLimits(max_lines=len(HORIZONTAL) - 1))
    assert err.value.code == "too_many_lines" and str(len(HORIZONTAL)) in err.value.message
    with pytest.raises(InputError) as err:
        reader.read_page(page, PageLimits(deadline=time.monotonic()))
    assert err.value.code == "page_timeout"
