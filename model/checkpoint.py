"""Checkpoints hold ``{config, charset, state_dict}``, never a bare state dict, so whoever loads
weights also gets the alphabet and the preprocessing they were trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.charset import Charset
from model.config import ModelConfig
from model.network import CRNN

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "crnn.pt"


def build_model(config: ModelConfig, charset: Charset) -> CRNN:
    return CRNN(config, charset.num_classes)


def save_checkpoint(
    path: str | Path,
    model: CRNN,
    charset: Charset,
    extra: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write atomically (a crash mid-write never leaves a truncated checkpoint behind).

    ``half`` stores float tensors as float16: the committed weights are half the size and lose no
    measurable accuracy; they are widened back to float32 on load.
    """
    payload = {"config": model.config.to_dict(), "charset": charset.to_text(), "state_dict": state_of(model, half)}
    write_atomically(path, {**payload, **(extra or {})})


def state_of(model: torch.nn.Module, half: bool = False) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the weights, float tensors in float16 when ``half``."""
    return {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored (possibly float16) weights widened back to float32."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def write_atomically(path: str | Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> tuple[CRNN, Charset, dict[str, Any]]:
    """Rebuild the model in float32 eval mode; returns (model, charset, the raw checkpoint)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    config = ModelConfig.from_dict(payload["config"])
    charset = Charset.from_text(payload["charset"])
    model = build_model(config, charset)
    model.load_state_dict(float_state(payload["state_dict"]))
    model.eval()
    return model, charset, payload
