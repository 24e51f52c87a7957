"""TorchServe handler for the CRNN line recogniser.

Life cycle: ``initialize`` once per worker (model, charset, preprocessing settings, threads), then per
batch ``preprocess`` -> ``inference`` -> ``postprocess``. Every request in a batch gets exactly one
answer: a bad image becomes that request's own 400 JSON error and the rest of the batch goes on.

The archive ships this file at its root next to the ``model`` package (preprocessing, charset,
decoding), so serving runs the very code that training used.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from ts.torch_handler.base_handler import BaseHandler

from model.charset import Charset
from model.config import ModelConfig
from model.decoding import greedy_decode
from model.export import CHARSET_FILE, CONFIG_FILE, load_torchscript
from model.network import frames_for_width
from model.preprocessing import ImageError, pad_batch, preprocess

log = logging.getLogger(__name__)


# One request of a batch on its way through the handler: "image" (preprocessed) or "error"
# (ImageError), then "probs" (frames x classes) and "timings". A plain dict, because TorchServe wants
# exactly one class in a handler module.
Item = dict[str, Any]


class OCRHandler(BaseHandler):
    def initialize(self, context: Any) -> None:
        """Load TorchScript weights, charset and preprocessing settings from the archive folder."""
        model_dir = Path(context.system_properties["model_dir"])
        handler_config = (getattr(context, "model_yaml_config", None) or {}).get("handler", {})
        threads = int(handler_config.get("torch_threads", 1))
        torch.set_num_threads(threads)
        self.device = torch.device("cpu")
        serialized = context.manifest["model"]["serializedFile"]
        self.model = load_torchscript(model_dir / serialized).eval()
        self.charset = Charset.from_file(model_dir / CHARSET_FILE)
        meta = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        self.config = ModelConfig.from_dict(meta["config"])
        self.model_info = {"name": context.manifest["model"]["modelName"], "charset": self.charset.version}
        with torch.inference_mode():
            classes = self.model(torch.zeros(1, 1, self.config.preprocess.height, 64)).shape[-1]
        if classes != self.charset.num_classes:
            raise RuntimeError(
                f"model emits {classes} classes but charset {self.charset.version} has {self.charset.num_classes}"
            )
        self.initialized = True
        log.info("OCR handler ready: %s, %d threads", self.model_info, threads)

    def preprocess(self, data: list[dict[str, Any]]) -> list[Item]:
        items = []
        for row in data:
            item: Item = {"image": None, "error": None, "probs": None, "timings": {}}
            start = time.perf_counter()
            try:
                item["image"] = preprocess(request_image(row), self.config.preprocess)
            except ImageError as err:
                item["error"] = err
            except Exception:  # noqa: BLE001 - a decoder bug on one odd file must not fail the batch
                log.exception("unexpected error while preprocessing a request")
                item["error"] = ImageError("invalid_image", "the image could not be processed")
            item["timings"]["preprocess_ms"] = _ms_since(start)
            items.append(item)
        return items

    def inference(self, items: list[Item], *args: Any, **kwargs: Any) -> list[Item]:
        """One forward pass for all good images of the batch, padded to the widest."""
        good = [item for item in items if item["image"] is not None]
        if not good:
            return items
        start = time.perf_counter()
        batch, widths = pad_batch([item["image"] for item in good])
        with torch.inference_mode():
            probs = self.model(batch.to(self.device), torch.tensor(widths)).softmax(-1).cpu().numpy()
        elapsed = _ms_since(start)
        for item, p, width in zip(good, probs, widths):
            item["probs"] = p[: frames_for_width(width)]  # drop the frames that only saw padding
            item["timings"]["inference_ms"] = elapsed
        return items

    def postprocess(self, items: list[Item]) -> list[dict[str, Any]]:
        results = []
        metrics = self.context.metrics if self.context else None
        for idx, item in enumerate(items):
            error, timings = item["error"], item["timings"]
            if error is not None:
                if self.context:
                    self.context.set_response_status(code=400, phrase=error.code, idx=idx)
                if metrics:
                    metrics.add_counter("OCRRejectedInputs", 1, None)
                results.append({"error": error.code, "message": error.message})
                continue
            start = time.perf_counter()
            decoded = greedy_decode(item["probs"], self.charset)
            timings["postprocess_ms"] = _ms_since(start)
            if metrics:
                metrics.add_counter("OCRLinesRecognised", 1, None)
                metrics.add_time("OCRPreprocessMs", timings["preprocess_ms"], None, "ms")
                metrics.add_time("OCRInferenceMs", timings["inference_ms"], None, "ms")
            results.append(
                {
                    "text": decoded.text,
                    "confidence": decoded.confidence,
                    "char_probs": decoded.char_probs,
                    "timings": timings,
                    "model": self.model_info,
                }
            )
        return results


def request_image(row: dict[str, Any]) -> bytes:
    """Image bytes of one request: the raw body, or JSON ``{"image": "<base64 or data URL>"}``."""
    body = row.get("data")
    if body is None:
        body = row.get("body")
    if isinstance(body, (bytes, bytearray)) and body[:1] in (b"{", b"["):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ImageError("invalid_json", "the body looks like JSON but cannot be parsed") from None
    if isinstance(body, dict):
        return decode_base64(body.get("image"))
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return decode_base64(body)
    raise ImageError("missing_image", 'send the image bytes as the body, or JSON {"image": "<base64>"}')


def decode_base64(value: Any) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise ImageError("missing_image", "the 'image' field must be a non-empty base64 string")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("invalid_base64", "the 'image' field is not valid base64") from None


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
