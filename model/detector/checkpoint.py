"""Detector checkpoints: ``{config, state_dict, ...}``, written like the recogniser's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.checkpoint import float_state, state_of, write_atomically
from model.config import DetectorConfig
from model.detector.network import DBNet

DEFAULT_DETECTOR_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "detector.pt"


def save_detector(path: str | Path, model: DBNet, extra: dict[str, Any] | None = None, half: bool = False) -> None:
    write_atomically(path, {"config": model.config.to_dict(), "state_dict": state_of(model, half), **(extra or {})})


def load_detector(path: str | Path) -> tuple[DBNet, dict[str, Any]]:
    """The detector in float32 eval mode and the raw checkpoint."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = DBNet(DetectorConfig.from_dict(payload["config"]))
    model.load_state_dict(float_state(payload["state_dict"]))
    return model.eval(), payload
