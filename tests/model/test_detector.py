"""The detector's pieces: targets and box extraction invert each other, corner order, the network's
shapes, and a tiny training run whose loss falls."""

import random

import numpy as np
import pytest
import torch

from model.config import DetectorConfig
from model.detector.boxes import boxes_from_map, unclip_distance, upright_corners
from model.detector.data import collate, random_crop
from model.detector.metrics import DetectionMeter, iou
from model.detector.network import DBNet, binarise
from model.detector.targets import make_targets, shrink_distance
from model.detector.train import db_loss

CONFIG = DetectorConfig()


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
    found = boxes_from_map(targets.kernel * 0.95, CONFIG, scale=1.0)
    assert len(found) == len(boxes)
    for box in boxes:
        assert max(iou(box, d.box) for d in found) > 0.75


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
    from model.charset import Charset
    from model.synth.corpus import Corpus
    from model.synth.pages import PageRenderer

    torch.manual_seed(0)
    rng = random.Random(5)
    page = PageRenderer(fonts, Corpus(Charset.default()), degradation=0.0).render(rng, layout="document", rotation=0)
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
