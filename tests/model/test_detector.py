"""The detector's pieces: targets and box extraction invert each other, corner order, the network's
shapes, and a tiny training run whose loss falls."""

import random

import cv2
import numpy as np
import pytest
import torch

from model.inference.config import DetectorConfig, ReaderConfig
from model.inference.dbnet import DBNet
from model.inference.detection import (
    Detection,
    boxes_from_map,
    drop_specks,
    join_broken_lines,
    split_merged_lines,
    unclip_distance,
    upright_corners,
)
from model.synth import alphabet
from model.training.detection_metrics import DetectionMeter, iou
from model.training.detector import binarise, db_loss
from model.training.page_data import collate, random_crop
from model.training.targets import make_targets, shrink_distance

CONFIG = DetectorConfig()
SETTINGS = ReaderConfig()


def rect(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    return upright_corners(((cx, cy), (w, h), angle))


@pytest.mark.parametrize("w,h", [(200, 12), (40, 40), (15, 90), (300, 30)])
def test_unclip_inverts_shrink(w, h):
    box = rect(0, 0, w, h, 0)
    d = shrink_distance(box, CONFIG.shrink_ratio)
    assert unclip_distance(w - 2 * d, h - 2 * d, CONFIG.shrink_ratio) == pytest.approx(d, rel=1e-6)


@pytest.mark.parametrize("angle", [0, 3, -4, 30, 89, 90, 135])
def test_upright_corners_start_top_left_and_run_clockwise(angle):
    corners = rect(100, 100, 80, 20, angle)
    top = corners[1] - corners[0]
    assert top[0] > 0 and abs(top[1]) <= top[0] + 1e-4  # the top edge points right, within 45 degrees
    x, y = corners[:, 0], corners[:, 1]
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0  # clockwise on screen


def test_boxes_come_back_from_their_own_targets():
    """Kernels drawn from known boxes decode (unclip) to the same boxes: targets and inference agree."""
    stride = CONFIG.output_stride
    boxes = [
        rect(160, 60, 240, 24, 0),
        rect(150, 140, 180, 30, 4),
        rect(420, 200, 28, 260, 0),
        rect(300, 400, 60, 60, 0),
    ]
    targets = make_targets((np.stack(boxes) + 0.5) / stride - 0.5, (256, 256), CONFIG)
    found = boxes_from_map(targets.kernel * 0.95, CONFIG, 1.0, SETTINGS)
    assert len(found) == len(boxes)
    for box in boxes:
        assert max(iou(box, d.box) for d in found) > 0.75


def kernel_points(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.stack([xs, ys], axis=1).astype(np.float32)


@pytest.mark.parametrize("angle", [0.0, 2.0, -6.0])
def test_lines_joined_by_bridges_are_split(angle):
    mask = np.zeros((160, 400), np.uint8)
    for y in (30, 50, 70):  # three line kernels 12 px thick, 8 px apart
        mask[y : y + 12, 20:380] = 1
    mask[42:50, 100:104] = mask[62:70, 300:306] = 1  # an ascender meets a descender, twice
    mask[20:30, 200:203] = 1  # a speck sticking out of the first line
    turn = cv2.getRotationMatrix2D((200, 80), angle, 1.0)
    mask = cv2.warpAffine(mask, turn, (400, 160), flags=cv2.INTER_NEAREST)
    lines = split_merged_lines(kernel_points(mask), SETTINGS)
    assert len(lines) == 3
    for line in lines:
        thickness = min(cv2.minAreaRect(line)[1])
        assert 10 <= thickness <= 14  # neither bridges nor the speck thicken a line


def test_one_line_and_a_block_of_unequal_lines_are_left_whole():
    line = np.zeros((40, 300), np.uint8)
    line[10:24, 10:290] = 1
    line[6:10, 50:60] = 1  # a taller glyph: still one line
    assert len(split_merged_lines(kernel_points(line), SETTINGS)) == 1


def test_pieces_of_one_line_are_joined_and_neighbours_kept_apart():
    left, right = rect(100, 50, 180, 30, 1), rect(260, 53, 160, 28, 1)  # overlapping ends: one line
    below = rect(180, 95, 300, 30, 0)  # the next line
    beside = rect(480, 50, 100, 30, 0)  # a cell of the same row, far to the right
    column = rect(380, 200, 30, 200, 0)  # vertical text
    detections = [Detection(box.astype(np.float32), 0.9) for box in (left, right, below, beside, column)]
    joined = join_broken_lines(detections, SETTINGS)
    assert len(joined) == 4
    whole = max(joined, key=lambda d: iou(d.box, rect(180, 51.5, 340, 30, 1)))
    assert iou(whole.box, rect(180, 51.5, 340, 30, 1)) > 0.8


def test_specks_between_lines_are_dropped():
    lines = [Detection(rect(200, y, 300, 40, 0).astype(np.float32), 0.9) for y in (50, 100, 150)]
    speck = Detection(rect(120, 75, 14, 12, 0).astype(np.float32), 0.6)
    digit = Detection(rect(200, 200, 24, 40, 0).astype(np.float32), 0.9)  # a page number stays
    kept = [id(d) for d in drop_specks([*lines, speck, digit], SETTINGS)]
    assert kept == [id(d) for d in (*lines, digit)]


def test_thin_lines_are_ignored_not_taught_as_background():
    tiny = rect(50, 50, 40, 2.4, 0) / CONFIG.output_stride
    targets = make_targets(tiny[None], (64, 64), CONFIG)
    assert targets.kernel.sum() == 0 and targets.kernel_mask.min() == 0


def test_network_shapes():
    model = DBNet(CONFIG).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 96, 160))
    assert logits.shape == (1, 2, 48, 80)
    binary = binarise(logits)
    assert binary.min() >= 0 and binary.max() <= 1


def test_meter_counts_matches():
    meter = DetectionMeter()
    a, b = rect(50, 50, 80, 20, 0), rect(50, 150, 80, 20, 0)
    meter.add([a, rect(300, 300, 10, 10, 0)], [a + 1, b])
    assert (meter.matched, meter.predicted, meter.expected) == (1, 2, 2)
    assert meter.f1 == pytest.approx(0.5)


def test_tiny_training_run_loss_falls(fonts):
    """A few steps on two fixed crops of a synthetic page: the DB loss goes down."""
    from model.synth.corpus import Corpus
    from model.synth.pages import PageRenderer

    torch.manual_seed(0)
    rng = random.Random(5)
    page = PageRenderer(fonts, Corpus(alphabet.current()), degradation=0.0).render(rng, layout="document", rotation=0)
    batch = collate([random_crop(page, 192, rng) for _ in range(2)], CONFIG, 192 // CONFIG.output_stride)
    model = DBNet(CONFIG).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _ = db_loss(model(batch["images"]), batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
