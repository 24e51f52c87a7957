"""Writing checkpoints (atomically, optionally in float16) and growing a recogniser into a larger
alphabet. Reading them is ``model.inference.checkpoint``'s."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import torch

from model.inference.charset import Charset
from model.inference.checkpoint import build_model
from model.inference.crnn import CRNN
from model.inference.dbnet import DBNet

# A class added by grow_charset starts this many times less likely than the letter it is based on.
NEW_CLASS_ODDS = 10.0
# What the new characters without a canonical decomposition look like most.
LOOKALIKES = {
    "Æ": "A", "æ": "a", "Ø": "O", "ø": "o", "ß": "B", "Œ": "O", "œ": "o", "–": "-", "•": "·", "«": "《",
    "»": "》", "„": ",", "‚": ",", "‹": "〈", "›": "〉", "€": "C", "£": "L", "¢": "c", "©": "C", "®": "R",
    "¿": "?", "¡": "!",
    "☐": "□", "☑": "□", "☒": "□", "※": "米", "√": "v", "✓": "v", "✔": "v", "✗": "x",
}  # fmt: skip


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


def save_detector(path: str | Path, model: DBNet, extra: dict[str, Any] | None = None, half: bool = False) -> None:
    write_atomically(path, {"config": model.config.to_dict(), "state_dict": state_of(model, half), **(extra or {})})


def state_of(model: torch.nn.Module, half: bool = False) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the weights, float tensors in float16 when ``half``."""
    return {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }


def write_atomically(path: str | Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


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
