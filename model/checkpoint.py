"""Checkpoints hold ``{config, charset, state_dict}``, never a bare state dict, so whoever loads
weights also gets the alphabet and the preprocessing they were trained with.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import torch

from model.charset import Charset
from model.config import ModelConfig
from model.network import CRNN

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "crnn.pt"
# A class added by grow_charset starts this many times less likely than the letter it is based on.
NEW_CLASS_ODDS = 10.0
# What the new characters without a canonical decomposition look like most.
LOOKALIKES = {
    "Æ": "A", "æ": "a", "Ø": "O", "ø": "o", "ß": "B", "Œ": "O", "œ": "o", "–": "-", "•": "·", "«": "《",
    "»": "》", "„": ",", "‚": ",", "‹": "〈", "›": "〉", "€": "C", "£": "L", "¢": "c", "©": "C", "®": "R",
    "¿": "?", "¡": "!",
    "☐": "□", "☑": "□", "☒": "□", "※": "米", "√": "v", "✓": "v", "✔": "v", "✗": "x",
}


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


def grow_charset(model: CRNN, old: Charset, new: Charset) -> CRNN:
    """``model`` with an output class for every character of ``new``, which must extend ``old``.

    Old classes keep their weights. A new character starts as a copy of its base letter (é of e,
    « of 《), made less likely, so the model reads as before until training tells them apart; one
    without a base in ``old`` starts from no evidence at the least likely class's bias.
    """
    if new.chars[: len(old.chars)] != old.chars:
        raise ValueError(f"charset {new.version} does not extend {old.version}: cannot grow the classifier")
    grown = build_model(model.config, new)
    state = model.state_dict()
    weight, bias = state["classifier.weight"], state["classifier.bias"]
    new_weight = torch.zeros(new.num_classes, weight.shape[1])
    new_bias = torch.full((new.num_classes,), float(bias.min()))
    new_weight[: old.num_classes], new_bias[: old.num_classes] = weight, bias
    for index in range(old.num_classes, new.num_classes):
        base = _base_letter(new.char(index))
        if base in old:
            source = old.encode(base)[0]
            new_weight[index] = weight[source]
            new_bias[index] = bias[source] - math.log(NEW_CLASS_ODDS)
    grown.load_state_dict({**state, "classifier.weight": new_weight, "classifier.bias": new_bias})
    return grown


def _base_letter(char: str) -> str:
    """é -> e, ß -> B, « -> 《, – -> -: the older character a new one looks most like."""
    decomposed = unicodedata.normalize("NFKD", char)[:1]
    return LOOKALIKES.get(char, decomposed if decomposed != char else "")
