"""TorchServe handler: single text lines and whole pages (detection, orientation, reading order).

Life cycle: ``initialize`` once per worker (recogniser, detector, charset, settings, threads), then per
batch ``preprocess`` -> ``inference`` -> ``postprocess``. Every request in a batch gets exactly one
answer: a bad image becomes that request's own 400 JSON error and the rest of the batch goes on.

Requests are raw image bytes or JSON ``{"image": "<base64>", "mode": "auto" | "line" | "page"}``. Line
requests of a batch are recognised in one forward pass; each page is detected on its own and its
lines recognised in batches (``model.reader.pipeline``).

The archive ships this file at its root next to the ``model`` package (preprocessing, charset,
decoding, detection, reading), so serving runs the very code that training and evaluation use.
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
from model.config import BeamConfig, DetectorConfig, ModelConfig
from model.decoding import BeamDecoder
from model.export import CHARSET_FILE, CONFIG_FILE, DETECTOR_CONFIG_FILE, DETECTOR_FILE, LM_FILE, load_torchscript
from model.language import CharLanguageModel
from model.preprocessing import ImageError, decode_any
from model.reader.pipeline import ModeError, PageReader
from model.reader.recognise import LineRecogniser

log = logging.getLogger(__name__)


# One request of a batch on its way through the handler: "mode", then "line" (the recogniser's
# input) or "page" (the decoded image) or "error"; then "result". A plain dict, because TorchServe
# wants exactly one class in a handler module.
Item = dict[str, Any]
# Timings reported to Prometheus besides preprocessing, where the request had them.
TIMING_METRICS = {
    "inference_ms": "OCRInferenceMs",
    "detection_ms": "OCRDetectionMs",
    "recognition_ms": "OCRRecognitionMs",
}


class OCRHandler(BaseHandler):
    def initialize(self, context: Any) -> None:
        """Load both TorchScript models, the charset, the language model and their settings from the
        archive folder."""
        model_dir = Path(context.system_properties["model_dir"])
        handler_config = (getattr(context, "model_yaml_config", None) or {}).get("handler", {})
        threads = int(handler_config.get("torch_threads", 1))
        torch.set_num_threads(threads)
        serialized = context.manifest["model"]["serializedFile"]
        recogniser = load_torchscript(model_dir / serialized).eval()
        self.charset = Charset.from_file(model_dir / CHARSET_FILE)
        meta = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        self.config = ModelConfig.from_dict(meta["config"])
        with torch.inference_mode():
            classes = recogniser(torch.zeros(1, 1, self.config.preprocess.height, 64)).shape[-1]
        if classes != self.charset.num_classes:
            raise RuntimeError(
                f"model emits {classes} classes but charset {self.charset.version} has {self.charset.num_classes}"
            )
        # The language model's vocabulary is checked against the charset too (ValueError).
        decode = BeamDecoder(self.charset, CharLanguageModel.load(model_dir / LM_FILE), BeamConfig(**meta["beam"]))
        self.lines = LineRecogniser(recogniser, self.charset, self.config.preprocess, decode=decode)
        detector_meta = json.loads((model_dir / DETECTOR_CONFIG_FILE).read_text(encoding="utf-8"))
        detector = load_torchscript(model_dir / DETECTOR_FILE).eval()
        self.reader = PageReader(self.lines, detector, DetectorConfig.from_dict(detector_meta["config"]))
        self.model_info = {
            "name": context.manifest["model"]["modelName"],
            "charset": self.charset.version,
            "detector_steps": detector_meta.get("trained_steps"),
        }
        self.initialized = True
        log.info("OCR handler ready: %s, %d threads", self.model_info, threads)

    def preprocess(self, data: list[dict[str, Any]]) -> list[Item]:
        items = []
        for row in data:
            item: Item = {"error": None, "result": None, "timings": {}}
            start = time.perf_counter()
            try:
                image_bytes, requested = parse_request(row)
                image = decode_any(image_bytes, self.config.preprocess.max_pixels)
                item["mode"] = self.reader.choose_mode(image, requested)
                if item["mode"] == "line":
                    item["image"] = self.lines.prepare(image)
                    item["size"] = image.shape[1], image.shape[0]
                else:
                    item["page"] = image
            except ModeError as err:
                item["error"] = ImageError("invalid_mode", str(err))
            except ImageError as err:
                item["error"] = err
            except Exception:
                log.exception("unexpected error while preprocessing a request")
                item["error"] = ImageError("invalid_image", "the image could not be processed")
            item["timings"]["preprocess_ms"] = _ms_since(start)
            items.append(item)
        return items

    def inference(self, items: list[Item], *args: Any, **kwargs: Any) -> list[Item]:
        """One batched recognition for all line requests, then each page on its own."""
        lines = [item for item in items if item["error"] is None and item["mode"] == "line"]
        if lines:
            start = time.perf_counter()
            decoded = self.lines.read_prepared([item["image"] for item in lines])
            elapsed = _ms_since(start)
            for item, line in zip(lines, decoded):
                width, height = item["size"]
                item["result"] = self.reader.line_result(line, width, height)
                item["timings"]["inference_ms"] = elapsed
        for item in items:
            if item["error"] is None and item["mode"] == "page":
                try:
                    item["result"] = self.reader.read_page(item["page"])
                except Exception:
                    log.exception("unexpected error while reading a page")
                    item["error"] = ImageError("internal_error", "the page could not be read")
                item["page"] = None  # release the image before the answers are built
        return items

    def postprocess(self, items: list[Item]) -> list[dict[str, Any]]:
        results = []
        metrics = self.context.metrics if self.context else None
        for idx, item in enumerate(items):
            error, timings = item["error"], item["timings"]
            if error is not None:
                status = 500 if error.code == "internal_error" else 400
                if self.context:
                    self.context.set_response_status(code=status, phrase=error.code, idx=idx)
                if metrics:
                    metrics.add_counter("OCRRejectedInputs", 1, None)
                results.append({"error": error.code, "message": error.message})
                continue
            start = time.perf_counter()
            result = item["result"]
            timings.update(result.pop("timings", {}))
            timings["postprocess_ms"] = _ms_since(start)
            if metrics:
                metrics.add_counter("OCRLinesRecognised", len(result["lines"]), None)
                metrics.add_counter("OCRPagesRead" if item["mode"] == "page" else "OCRLineRequests", 1, None)
                metrics.add_time("OCRPreprocessMs", timings["preprocess_ms"], None, "ms")
                for name, metric in TIMING_METRICS.items():
                    if name in timings:
                        metrics.add_time(metric, timings[name], None, "ms")
            results.append({**result, "timings": timings, "model": self.model_info})
        return results


def parse_request(row: dict[str, Any]) -> tuple[bytes, str]:
    """Image bytes and requested mode of one request: the raw body (mode "auto"), or JSON
    ``{"image": "<base64 or data URL>", "mode": ...}``."""
    body = row.get("data")
    if body is None:
        body = row.get("body")
    if isinstance(body, (bytes, bytearray)) and body[:1] in (b"{", b"["):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ImageError("invalid_json", "the body looks like JSON but cannot be parsed") from None
    if isinstance(body, dict):
        mode = body.get("mode", "auto")
        if not isinstance(mode, str):
            raise ModeError("mode must be a string: auto, line or page")
        return decode_base64(body.get("image")), mode
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), "auto"
    if isinstance(body, str):
        return decode_base64(body), "auto"
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
