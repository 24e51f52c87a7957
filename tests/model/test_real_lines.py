"""Real document lines for the recogniser: one split of a documents folder's ``lines.tsv`` read as
synthetic-shaped samples, the stream that mixes them into the synthetic lines, and the trainer's
``--documents``/``--real-share`` on a tiny folder made here."""

import itertools
import json
import random
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model.inference.charset import Charset
from model.inference.config import PreprocessConfig
from model.synth import alphabet
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace, discover_fonts
from model.training import line_data, real_lines, recogniser
from model.training.documents import script_category
from model.training.evaluate import document_labels
from model.training.line_data import SyntheticBatches
from model.training.real_lines import REAL_KIND, MixedBatches, RealLines, fixed_real_samples

# Two font folders keep font discovery quick; one of them draws every hanzi of the charset.
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/wqy")]
TRAIN_TEXTS = [f"real train line {i} qzx" for i in range(6)]
VALIDATION_TEXTS = [f"real check {i} vkj" for i in range(3)]
CONFIG = PreprocessConfig()


@pytest.fixture(scope="module")
def charset() -> Charset:
    return alphabet.current()


@pytest.fixture(scope="module")
def fonts(charset) -> list[FontFace]:
    return discover_fonts(charset, FONT_DIRS)


@pytest.fixture(scope="module")
def corpus(charset) -> Corpus:
    return Corpus(charset)


@pytest.fixture
def corpus_built_once(monkeypatch, corpus) -> None:
    """Every stream and validation set shares one corpus: building one takes seconds, and it keeps no
    state between draws (its lines come from the rng alone)."""
    for module in (line_data, real_lines):
        monkeypatch.setattr(module, "Corpus", lambda charset: corpus)


@pytest.fixture(scope="module")
def outside(charset) -> str:
    return next(c for c in "☃\u0378\U0001f600" if c not in charset)


@pytest.fixture(scope="module")
def documents(tmp_path_factory, outside) -> Path:
    """A documents folder as ``make documents`` writes it: crops, ``lines.tsv`` and ``manifest.json``;
    one train row carries a character outside the charset."""
    folder = tmp_path_factory.mktemp("documents")
    rows = [(text, "doc_a", "train") for text in TRAIN_TEXTS]
    rows += [(f"bad {outside} row", "doc_a", "train")]
    rows += [(text, "doc_b", "validation") for text in VALIDATION_TEXTS]
    lines = ["file\ttext\tdocument\tpage\tsplit"]
    for order, (text, document, split) in enumerate(rows):
        crop = np.full((40, 14 * len(text) + 10), 255, np.uint8)
        cv2.putText(crop, text.replace(outside, "?"), (5, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1, cv2.LINE_AA)
        name = f"lines/{document}/p0000_l{order:04d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), crop)
        lines.append(f"{name}\t{text}\t{document}\t0\t{split}")
    (folder / "lines.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = {"train": {"documents": 1, "lines": 7}, "validation": {"documents": 1, "lines": 3}}
    (folder / "manifest.json").write_text(json.dumps({"seed": 5, "charset": "x", "counts": counts}), encoding="utf-8")
    return folder


def take(stream, count: int) -> list[dict]:
    return list(itertools.islice(iter(stream), count))


def same_batches(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(torch.equal(x[k], y[k]) if k != "texts" else x[k] == y[k] for k in x)
        for x, y in zip(a, b)
    )


def test_only_the_asked_split_is_read_and_lines_outside_the_charset_are_skipped(documents, charset):
    train, validation = RealLines(documents, "train", charset), RealLines(documents, "validation", charset)
    assert [line.text for line in train.lines] == TRAIN_TEXTS and train.skipped == 1
    assert [line.text for line in validation.lines] == VALIDATION_TEXTS and validation.skipped == 0


def test_a_real_sample_is_preprocessed_and_encoded_like_a_synthetic_one(documents, charset):
    lines = RealLines(documents, "train", charset)
    image, labels, text, kind = lines.sample(2, CONFIG)
    assert image.dtype == np.float32 and image.shape[:2] == (1, CONFIG.height) and image.shape[2] % 4 == 0
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert (labels, text, kind) == (charset.encode(TRAIN_TEXTS[2]), TRAIN_TEXTS[2], REAL_KIND)
    # The capture artefacts come from the rng: the same seed degrades a crop the same way, and they
    # do change it (seen over a few seeds, since each artefact is drawn at random).
    degraded = [lines.sample(2, CONFIG, random.Random(seed))[0] for seed in range(6)]
    assert np.array_equal(degraded[0], lines.sample(2, CONFIG, random.Random(0))[0])
    assert any(d.shape != image.shape or not np.array_equal(d, image) for d in degraded)


def test_the_fixed_real_validation_subset_is_seeded_and_capped(documents, charset):
    lines = RealLines(documents, "train", charset)
    subset = fixed_real_samples(lines, CONFIG, seed=4, count=4)
    again = fixed_real_samples(lines, CONFIG, seed=4, count=4)
    assert len(subset) == 4 and [s[2] for s in subset] == [s[2] for s in again]
    assert len(fixed_real_samples(lines, CONFIG, seed=4, count=100)) == len(TRAIN_TEXTS)


@pytest.mark.usefixtures("corpus_built_once")
def test_the_mixed_stream_draws_its_share_of_real_lines_deterministically(documents, charset, fonts):
    real = RealLines(documents, "train", charset)

    def stream(seed: int) -> MixedBatches:
        return MixedBatches(charset, fonts, CONFIG, seed=seed, batch_size=4, real=[(real, 0.25)], pool=2)

    batches = take(stream(3), 4)  # two pools of 8 lines
    texts = [text for batch in batches for text in batch["texts"]]
    assert sum(text in TRAIN_TEXTS for text in texts) / len(texts) == pytest.approx(0.25, abs=0.05)
    assert same_batches(batches, take(stream(3), 4))
    assert not same_batches(batches[:1], take(stream(4), 1))
    # Width-sorted pooling: a batch's real and rendered lines are padded together.
    synthetic = take(SyntheticBatches(charset, fonts, CONFIG, seed=3, batch_size=4, pool=1), 1)[0]
    assert batches[0].keys() == synthetic.keys()
    for key in ("images", "widths", "targets", "target_lengths", "frame_lengths"):
        assert batches[0][key].dtype == synthetic[key].dtype
        assert batches[0][key].dim() == synthetic[key].dim()
    assert batches[0]["images"].shape[:3] == synthetic["images"].shape[:3] == (4, 1, CONFIG.height)


@pytest.mark.usefixtures("corpus_built_once")
def test_a_real_share_of_zero_is_exactly_the_synthetic_stream(documents, charset, fonts):
    real = RealLines(documents, "train", charset)
    mixed = MixedBatches(charset, fonts, CONFIG, seed=7, batch_size=4, real=[(real, 0.0)], pool=2)
    synthetic = SyntheticBatches(charset, fonts, CONFIG, seed=7, batch_size=4, pool=2)
    assert same_batches(take(mixed, 2), take(synthetic, 2))  # a whole pool


@pytest.mark.usefixtures("corpus_built_once")
def test_two_real_folders_each_give_their_share(documents, charset, fonts):
    real = RealLines(documents, "train", charset)
    plates = RealLines(documents, "validation", charset, "plate")
    stream = MixedBatches(charset, fonts, CONFIG, seed=3, batch_size=4, real=[(real, 0.25), (plates, 0.25)], pool=2)
    texts = [text for batch in take(stream, 4) for text in batch["texts"]]
    assert sum(text in TRAIN_TEXTS for text in texts) == sum(text in VALIDATION_TEXTS for text in texts) == 4
    with pytest.raises(ValueError, match="more than 1"):
        MixedBatches(charset, fonts, CONFIG, seed=3, batch_size=4, real=[(real, 0.6), (plates, 0.6)])


def test_real_share_needs_documents_and_defaults_to_none():
    args = recogniser.parse_args([])
    assert (args.documents, args.real_share, args.real_val_size) == (None, 0.0, 2000)
    with pytest.raises(SystemExit):
        recogniser.parse_args(["--real-share", "0.3"])
    with pytest.raises(SystemExit):
        recogniser.parse_args(["--documents", "d", "--real-share", "1.5"])
    assert (args.plates, args.plate_share) == (None, 0.0)
    with pytest.raises(SystemExit):
        recogniser.parse_args(["--plate-share", "0.1"])
    with pytest.raises(SystemExit):
        recogniser.parse_args(["--documents", "d", "--real-share", "0.8", "--plates", "p", "--plate-share", "0.3"])


@pytest.mark.usefixtures("corpus_built_once")
def test_a_tiny_mixed_run_validates_on_the_documents_and_records_them(tmp_path, documents, monkeypatch):
    monkeypatch.setenv("OCR_FONT_DIRS", ":".join(str(d) for d in FONT_DIRS))
    threads = torch.get_num_threads()
    try:
        recogniser.main(
            recogniser.parse_args(["--run", str(tmp_path), "--steps", "2", "--batch-size", "2", "--val-size", "2",
                                   "--val-every", "2", "--log-every", "1", "--workers", "0", "--threads", "1",
                                   "--documents", str(documents), "--real-share", "0.5",
                                   "--plates", str(documents), "--plate-share", "0.25"])
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    log = (tmp_path / "train.log").read_text()
    assert re.search(r"step 2 validation char_acc [\d.]+ line_acc [\d.]+ documents char_acc [\d.]+ .*\(3 lines\)", log)
    # A lines folder of `make plates` has the same shape; its validation split is read whole.
    assert re.search(r"plates char_acc [\d.]+ \(3 lines\)", log)
    payload = torch.load(tmp_path / "last.pt", weights_only=True)
    assert payload["plates"]["plate_share"] == 0.25
    assert payload["documents"]["manifest"]["seed"] == 5
    assert payload["documents"]["real_share"] == 0.5
    assert payload["documents"]["skipped_outside_charset"] == {"validation": 0, "train": 1}


def test_measurements_read_a_seeded_choice_of_validation_lines(documents):
    labels = document_labels(documents, count=2)
    assert labels == document_labels(documents, count=2)
    assert len(labels) == 2 and {text for _, text, _ in labels} <= set(VALIDATION_TEXTS)
    assert all(path.is_file() and category == "document en" for path, _, category in labels)
    assert len(document_labels(documents, count=50)) == len(VALIDATION_TEXTS)


def test_script_category_splits_chinese_from_latin():
    assert script_category("合同编号 No. 2024") == "document zh"
    assert script_category("Table 3: results 结果") == "document en"
    assert script_category("发票", kind="page") == "page zh"
