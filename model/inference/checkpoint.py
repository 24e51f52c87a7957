"""Reading checkpoints. A checkpoint holds ``{config, state_dict, ...}`` (the recogniser's also its
``charset``), never a bare state dict, so whoever loads weights also gets the alphabet and the
preprocessing they were trained with. Writing them is training's business (``model.training.checkpoint``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.inference.charset import Charset
from model.inference.config import DetectorConfig, ModelConfig
from model.inference.crnn import CRNN
from model.inference.dbnet import DBNet


def build_model(config: ModelConfig, charset: Charset) -> CRNN:
    return CRNN(config, charset.num_classes)


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored (possibly float16) weights widened back to float32."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_checkpoint(path: str | Path) -> tuple[CRNN, Charset, dict[str, Any]]:
    """The recogniser in float32 eval mode; returns (model, charset, the raw checkpoint)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    config = ModelConfig.from_dict(payload["config"])
    charset = Charset.from_text(payload["charset"])
    model = build_model(config, charset)
    model.load_state_dict(float_state(payload["state_dict"]))
    model.eval()
    return model, charset, payload


def load_detector(path: str | Path) -> tuple[DBNet, dict[str, Any]]:
    """The detector in float32 eval mode and the raw checkpoint."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = DBNet(DetectorConfig.from_dict(payload["config"]))
    model.load_state_dict(float_state(payload["state_dict"]))
    return model.eval(), payload
