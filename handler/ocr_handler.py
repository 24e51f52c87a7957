"""TorchServe handler: single text lines and whole pages (detection, orientation, reading order).

Life cycle: ``initialize`` once per worker (the page reader assembled from the archive folder, the
serving limits, threads), then per batch ``preprocess`` -> ``inference`` -> ``postprocess``. Every
request in a batch gets exactly one answer: a bad image becomes that request's own 400 JSON error
and the rest of the batch goes on.

Requests are raw image bytes or JSON ``{"image": "<base64>", "mode": "auto" | "line" | "page"}``. Line
requests of a batch are recognised in one forward pass; each page is detected on its own and its
lines recognised in batches (``model.inference.reader.pipeline``).

The archive ships this file at its root next to the ``model.inference`` package, so serving runs the
very code that evaluation and the benchmarks use.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from ts.torch_handler.base_handler import BaseHandler

from model.inference.assemble import archive_info, load_reader
from model.inference.contract import InputError, decode_image_field
from model.inference.limits import PageLimits
from model.inference.preprocessing import decode_any, read_header
from model.inference.torchscript import resolve_precision

log = logging.getLogger(__name__)


# One request of a batch on its way through the handler: "mode", then "line" (the recogniser's
# input) or "page" (the decoded image) or "error"; then "result". A plain dict, because TorchServe
# wants exactly one class in a handler module.
Item = dict[str, Any]
# What the archive's model-config.yaml must set under ``handler:``.
SERVING_SETTINGS = ("torch_threads", "precision", "max_pixels", "max_lines_per_page", "batch_deadline_s")
# HTTP status of the handler's own errors; the rest are the request's fault (400).
ERROR_STATUS = {"internal_error": 500, "page_timeout": 504}
# Timings reported to Prometheus besides preprocessing, where the request had them.
TIMING_METRICS = {
    "inference_ms": "OCRInferenceMs",
    "detection_ms": "OCRDetectionMs",
    "recognition_ms": "OCRRecognitionMs",
}


class OCRHandler(BaseHandler):
    def initialize(self, context: Any) -> None:
        """Assemble the page reader from the archive folder; read the serving limits."""
        model_dir = Path(context.system_properties["model_dir"])
        # The serving limits are set in one place, the archive's model-config.yaml (``handler:``).
        handler_config = (getattr(context, "model_yaml_config", None) or {}).get("handler", {})
        missing = set(SERVING_SETTINGS) - set(handler_config)
        if missing:
            raise RuntimeError(f"model-config.yaml lacks handler settings: {', '.join(sorted(missing))}")
        threads = int(handler_config["torch_threads"])
        self.max_pixels = int(handler_config["max_pixels"])
        self.max_lines = int(handler_config["max_lines_per_page"])
        self.batch_deadline_s = float(handler_config["batch_deadline_s"])
        torch.set_num_threads(threads)
        precision = resolve_precision(str(handler_config["precision"]))
        self.reader = load_reader(model_dir, precision=precision)
        self.lines = self.reader.recogniser
        # The precision is said in every answer: a line's text may differ in a character between them.
        self.model_info = {
            "name": context.manifest["model"]["modelName"],
            **archive_info(model_dir),
            "precision": precision,
        }
        self.initialized = True
        log.info("OCR handler ready: %s, %d threads, %s", self.model_info, threads, precision)

    def preprocess(self, data: list[dict[str, Any]]) -> list[Item]:
        items = []
        for row in data:
            item: Item = {"error": None, "result": None, "timings": {}}
            start = time.perf_counter()
            try:
                image_bytes, requested = parse_request(row)
                header = read_header(image_bytes, self.max_pixels)
                item["mode"] = self.reader.choose_mode((header.height, header.width), requested)
                if item["mode"] == "line":
                    image = decode_any(image_bytes, self.max_pixels, header)
                    item["image"] = self.lines.prepare(image)
                    item["size"] = image.shape[1], image.shape[0]
                else:
                    # Decoded when its turn comes: a batch holds one page's pixels at a time (a
                    # 40 M pixel page takes ~300 MB to read), not sixteen.
                    item["page"] = image_bytes, header
            except InputError as err:
                item["error"] = err
            except Exception:
                log.exception("unexpected error while preprocessing a request")
                item["error"] = InputError("invalid_image", "the image could not be processed")
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
        # The whole batch must be answered within TorchServe's response timeout, or the worker is
        # killed with every request it holds: each page gets what is left of the batch's time.
        limits = PageLimits(self.max_lines, time.monotonic() + self.batch_deadline_s)
        for item in items:
            if item["error"] is None and item["mode"] == "page":
                try:
                    image_bytes, header = item["page"]
                    item["result"] = self.reader.read_page(decode_any(image_bytes, self.max_pixels, header), limits)
                except InputError as err:
                    item["error"] = err
                except Exception:
                    log.exception("unexpected error while reading a page")
                    item["error"] = InputError("internal_error", "the page could not be read")
                item["page"] = None  # release the image before the answers are built
        return items

    def postprocess(self, items: list[Item]) -> list[dict[str, Any]]:
        results = []
        metrics = self.context.metrics if self.context else None
        for idx, item in enumerate(items):
            error, timings = item["error"], item["timings"]
            if error is not None:
                status = ERROR_STATUS.get(error.code, 400)
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
            raise InputError("invalid_json", "the body looks like JSON but cannot be parsed") from None
    if isinstance(body, dict):
        return decode_image_field(body.get("image")), body.get("mode", "auto")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), "auto"
    if isinstance(body, str):
        return decode_image_field(body), "auto"
    raise InputError("missing_image", 'send the image bytes as the body, or JSON {"image": "<base64>"}')


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
