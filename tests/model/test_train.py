"""A tiny real training run: the loop, the loss, checkpoints and resuming, on the CPU."""

import os
import re

import pytest
import torch

from model.train import main, parse_args

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
              "--warmup", "2", "--log-every", "4", "--val-size", "8", "--val-every", "12", "--seed", "3"]
    main(parse_args([*common, "--steps", "12"]))
    losses = logged_losses((tmp_path / "train.log").read_text())
    assert len(losses) == 3
    assert losses[-1] < 0.5 * losses[0], losses
    assert (tmp_path / "last.pt").exists() and (tmp_path / "best.pt").exists()

    main(parse_args([*common, "--steps", "16"]))  # the same command with a longer schedule resumes
    log = (tmp_path / "train.log").read_text()
    assert "(step 12)" in log and re.search(r"step 16 loss", log)
