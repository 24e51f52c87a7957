"""Tiny real training runs through the shared loop: the loss, checkpoints, resuming and charset
growth, on the CPU; the schedule and each trainer's defaults."""

import os
import re

import pytest
import torch

from model.inference.charset import Charset
from model.inference.checkpoint import build_model
from model.inference.config import ModelConfig
from model.synth import alphabet
from model.training import detector, recogniser
from model.training.checkpoint import save_checkpoint
from model.training.loop import learning_rate

# Two font folders keep font discovery quick; one of them draws every hanzi of the charset.
FONT_DIRS = os.pathsep.join(["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/wqy"])


@pytest.fixture
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def logged_losses(log: str) -> list[float]:
    return [float(x) for x in re.findall(r"step \d+ loss ([\d.]+)", log)]


def test_tiny_training_run_lowers_the_loss_and_resumes(tmp_path, monkeypatch, keep_torch_threads):
    monkeypatch.setenv("OCR_FONT_DIRS", FONT_DIRS)
    common = ["--run", str(tmp_path), "--batch-size", "8", "--workers", "0", "--threads", "1", "--lr", "2e-3",
              "--warmup", "2", "--log-every", "4", "--val-size", "8", "--val-every", "12", "--seed", "3"]  # fmt: skip
    recogniser.main(recogniser.parse_args([*common, "--steps", "12"]))
    losses = logged_losses((tmp_path / "train.log").read_text())
    assert len(losses) == 3
    assert losses[-1] < 0.5 * losses[0], losses
    assert (tmp_path / "last.pt").exists() and (tmp_path / "best.pt").exists()
    payload = torch.load(tmp_path / "last.pt", weights_only=True)
    assert set(payload) == {"config", "charset", "state_dict", "step", "best_char_accuracy", "optimiser"}

    recogniser.main(recogniser.parse_args([*common, "--steps", "16"]))  # the same command, a longer schedule
    log = (tmp_path / "train.log").read_text()
    assert "(step 12)" in log and re.search(r"step 16 loss", log)


def test_weights_of_an_older_alphabet_grow_into_the_current_one(tmp_path, monkeypatch, keep_torch_threads):
    monkeypatch.setenv("OCR_FONT_DIRS", FONT_DIRS)
    current = alphabet.current()
    old = Charset(current.chars[:-8], "older")
    old_model = build_model(ModelConfig(), old)
    save_checkpoint(tmp_path / "old.pt", old_model, old, {"step": 900, "best_char_accuracy": 0.9})
    run = tmp_path / "run"
    recogniser.main(
        recogniser.parse_args(["--run", str(run), "--init", str(tmp_path / "old.pt"), "--steps", "0",
                               "--batch-size", "2", "--val-size", "1", "--workers", "0", "--threads", "1"])
    )  # fmt: skip
    payload = torch.load(run / "last.pt", weights_only=True)
    assert Charset.from_text(payload["charset"]).chars == current.chars
    weight = payload["state_dict"]["classifier.weight"]
    assert weight.shape[0] == current.num_classes
    assert torch.equal(weight[: old.num_classes], old_model.state_dict()["classifier.weight"])
    # --init gives weights, not the other run's progress.
    assert payload["step"] == 0 and payload["best_char_accuracy"] == -1.0


def test_tiny_detector_run_checkpoints_and_resumes(tmp_path, monkeypatch, keep_torch_threads):
    monkeypatch.setenv("OCR_FONT_DIRS", FONT_DIRS)
    common = ["--run", str(tmp_path), "--batch-size", "2", "--size", "256", "--val-pages", "1", "--val-every", "2",
              "--log-every", "1", "--workers", "0", "--threads", "1"]  # fmt: skip
    detector.main(detector.parse_args([*common, "--steps", "2"]))
    payload = torch.load(tmp_path / "last.pt", weights_only=True)
    assert set(payload) == {"config", "state_dict", "step", "best_f1", "optimiser"}
    assert payload["step"] == 2 and payload["best_f1"] >= 0 and (tmp_path / "best.pt").exists()

    detector.main(detector.parse_args([*common, "--steps", "3"]))
    log = (tmp_path / "train.log").read_text()
    assert "(step 2)" in log and re.search(r"step 3 loss [\d.]+ kernel [\d.]+ dice [\d.]+ threshold", log)


def test_learning_rate_warms_up_then_decays_to_its_floor():
    args = recogniser.parse_args(["--lr", "1e-3", "--warmup", "10", "--steps", "110"])
    assert learning_rate(0, args, 0.05) == pytest.approx(1e-4)
    assert learning_rate(9, args, 0.05) == pytest.approx(1e-3)
    assert learning_rate(60, args, 0.05) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert learning_rate(110, args, 0.05) == pytest.approx(5e-5)
    assert learning_rate(500, args, 0.02) == pytest.approx(2e-5)  # past the schedule it stays at the floor


def test_each_trainer_keeps_its_own_defaults():
    crnn, db = recogniser.parse_args([]), detector.parse_args([])
    assert (crnn.steps, crnn.batch_size, crnn.lr, crnn.warmup) == (200_000, 64, 1e-3, 500)
    assert (crnn.val_every, crnn.checkpoint_every, crnn.log_every) == (500, 200, 50)
    assert (crnn.val_size, crnn.degradation, str(crnn.run)) == (500, 1.0, "runs/crnn")
    assert (db.steps, db.batch_size, db.lr, db.warmup) == (20_000, 8, 2e-3, 200)
    assert (db.val_every, db.checkpoint_every, db.log_every) == (250, 100, 25)
    assert (db.size, db.crops_per_page, db.val_pages, str(db.run)) == (640, 4, 40, "runs/detector")
    assert (recogniser.RecogniserTask.best_key, recogniser.RecogniserTask.lr_floor) == ("best_char_accuracy", 0.05)
    assert (detector.DetectorTask.best_key, detector.DetectorTask.lr_floor) == ("best_f1", 0.02)
