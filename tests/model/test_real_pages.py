"""Real-document pages for the detector: one split of a documents folder's ``pages/`` read as
``Page``s (text lines to learn, mismatched lines to ignore, unreliable pages left out), captured
like rendered pages with every box moving along, the DB targets that ignore, the validation that
ignores, and the trainer's ``--documents``/``--real-share`` on a tiny folder made here."""

import json
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model.inference.config import DetectorConfig
from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace, discover_fonts
from model.synth.pages import PageRenderer
from model.training import detector
from model.training.detection_metrics import outside
from model.training.page_data import collate, random_crop
from model.training.real_pages import RealPages, RealPagesError
from model.training.targets import make_targets

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/wqy")]
CONFIG = DetectorConfig()


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def write_page(folder: Path, name: str, split: str, lines: list[dict]) -> None:
    """A white 400 x 300 page with a black bar wherever a line has ink, and its JSON."""
    image = np.full((400, 300, 3), 255, np.uint8)
    for line in lines:
        if line.get("ink", True):
            (x0, y0), _, (x1, y1), _ = line["box"]
            image[int(y0) + 3 : int(y1) - 3, int(x0) + 3 : int(x1) - 3] = 0
    cv2.imwrite(str(folder / f"{name}.png"), image)
    entries = [
        {
            "text": line["text"],
            "box": line["box"],
            "vertical": False,
            "order": i,
            "kind": "pdf",
            "dropped": line.get("dropped"),
            "text_line": line.get("text_line", True),
        }
        for i, line in enumerate(lines)
    ]
    meta = {"image": f"{name}.png", "split": split, "width": 300, "height": 400, "lines": entries}
    (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> Path:
    """Train pages: a good one (two text lines, one line dropped for its characters, one blank line
    the layer places where nothing is drawn) and one whose layer misses its pixels on most lines;
    one validation page."""
    folder = tmp_path_factory.mktemp("documents")
    pages = folder / "pages"
    pages.mkdir()
    write_page(
        pages,
        "doc_a_p0000",
        "train",
        [
            {"text": "第一行 first", "box": box(20, 40, 260, 70)},
            {"text": "second line", "box": box(20, 100, 200, 130)},
            {"text": "Ω outside", "box": box(20, 160, 150, 190), "dropped": "outside_charset"},
            {"text": "hidden", "box": box(20, 220, 150, 250), "dropped": "no_ink", "text_line": False, "ink": False},
        ]
        + [{"text": f"line {i}", "box": box(20, 270 + 12 * i, 120, 280 + 12 * i)} for i in range(7)]
        + [{"text": "7", "box": box(270, 40, 288, 70)}],  # a table cell's digit: no wider than tall
    )
    write_page(
        pages,
        "doc_a_p0001",
        "train",
        [{"text": "shifted", "box": box(20, 40, 200, 70)}]
        + [
            {"text": f"off {i}", "box": box(20, 100 + 40 * i, 200, 130 + 40 * i), "dropped": "ink_outside_box"}
            for i in range(3)
        ],
    )
    write_page(pages, "doc_b_p0000", "validation", [{"text": "check", "box": box(30, 50, 250, 80)}])
    return folder


@pytest.fixture(scope="module")
def fonts() -> list[FontFace]:
    return discover_fonts(alphabet.current(), FONT_DIRS)


def test_a_split_keeps_pages_whose_layer_agrees_with_the_pixels(documents):
    train = RealPages(documents, "train")
    assert len(train) == 1 and train.left_out == 1
    page = train.page(0)
    # The line dropped for its characters is still a text line; the blank one is ignored, and so is
    # the lone digit, whose box would look the same turned a quarter.
    assert [line.text for line in page.lines[:3]] == ["第一行 first", "second line", "Ω outside"]
    assert len(page.lines) == 10 and page.ignore.shape == (2, 4, 2)
    assert np.array_equal(page.ignore[1], np.float32(box(270, 40, 288, 70)))
    assert train.reference(0).split("\n")[:3] == ["第一行 first", "second line", "Ω outside"]
    assert len(RealPages(documents, "validation")) == 1
    with pytest.raises(RealPagesError, match="no test page"):
        RealPages(documents, "test")
    with pytest.raises(RealPagesError, match="make documents"):
        RealPages(documents / "missing", "train")


def test_fixed_choice_is_reproducible(documents):
    train = RealPages(documents, "train")
    assert train.fixed(5, seed=3) == train.fixed(5, seed=3) == [0]


def test_a_captured_page_keeps_its_boxes_on_its_ink(documents, fonts):
    train = RealPages(documents, "train")
    renderer = PageRenderer(fonts, Corpus(alphabet.current()))
    for seed in range(6):
        page = train.captured(0, renderer, random.Random(seed))
        gray = cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)
        assert len(page.lines) == 10 and page.ignore.shape == (2, 4, 2)
        assert page.rotation == 0  # turned pages come from the renderer alone
        for line in page.lines[:3]:  # the long bars: their centres stay dark through any capture
            x, y = np.round(line.box.mean(axis=0)).astype(int)
            assert gray[y, x] < 128, (seed, page.rotation, line.text)


def test_targets_ignore_what_they_are_told_to():
    lines = np.float32([box(10, 10, 50, 20)])
    ignore = np.float32([box(10, 30, 50, 40)])
    targets = make_targets(lines, (64, 64), CONFIG, ignore)
    assert targets.kernel[15, 30] == 1 and targets.kernel_mask[15, 30] == 1
    assert targets.kernel_mask[35, 30] == 0 and targets.threshold_mask[35, 30] == 0
    assert targets.kernel_mask[55, 30] == 1  # background elsewhere still counts
    plain = make_targets(lines, (64, 64), CONFIG)
    assert plain.kernel_mask[35, 30] == 1


def test_a_real_crop_carries_its_ignored_boxes_into_the_targets(documents):
    page = RealPages(documents, "train").page(0)
    crops = [random_crop(page, 256, random.Random(seed)) for seed in range(8)]
    batch = collate(crops, CONFIG, 256 // CONFIG.output_stride)
    assert batch["kernel_mask"].shape == (8, 128, 128)
    assert (batch["kernel_mask"] == 0).any() and (batch["kernel"] == 1).any()


def test_detections_inside_ignored_boxes_are_neither_right_nor_wrong():
    ignored = np.float32([box(0, 0, 100, 20)])
    inside, half, elsewhere = (
        np.float32(box(10, 2, 60, 18)),
        np.float32(box(50, 5, 200, 15)),
        np.float32(box(0, 50, 80, 70)),
    )
    kept = outside([inside, half, elsewhere], ignored)
    assert [k.tolist() for k in kept] == [half.tolist(), elsewhere.tolist()]


def test_the_trainer_mixes_and_validates_on_real_pages(documents, tmp_path, monkeypatch):
    monkeypatch.setattr(detector, "discover_fonts", lambda charset: discover_fonts(charset, FONT_DIRS))
    run = tmp_path / "run"
    args = detector.parse_args(
        [
            "--run", str(run), "--steps", "2", "--batch-size", "2", "--size", "128", "--val-every", "2",
            "--val-pages", "1", "--workers", "0", "--documents", str(documents), "--real-share", "0.5",
        ]
    )  # fmt: skip
    detector.main(args)
    log = (run / "train.log").read_text()
    assert "documents" in log and "1 train pages (share 0.50, 1 left out), validating on 1 pages" in log
    assert "; documents precision" in log
    payload = torch.load(run / "best.pt", weights_only=False)
    assert payload["documents"]["real_share"] == 0.5
    with pytest.raises(SystemExit):
        detector.parse_args(["--real-share", "0.5"])
