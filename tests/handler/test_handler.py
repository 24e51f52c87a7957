import base64
import json
from pathlib import Path

import numpy as np
import pytest
import ts
import yaml
from ts.context import Context, RequestProcessor
from ts.metrics.metric_cache_yaml_impl import MetricsCacheYamlImpl

from handler.ocr_handler import OCRHandler
from model.inference.assemble import RECOGNISER_FILE
from model.inference.checkpoint import load_checkpoint
from model.inference.preprocessing import preprocess
from model.training.export import export_serving
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from tests.helpers import png_bytes, render_clean_line, render_page

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("model_dir")
    export_serving(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, directory)
    return directory


def make_context(model_dir: Path, batch: int, **handler_settings: object) -> Context:
    manifest = {"model": {"modelName": "crnn_ocr", "serializedFile": RECOGNISER_FILE, "handler": "ocr_handler.py"}}
    metrics = MetricsCacheYamlImpl(config_file_path=str(Path(ts.__file__).parent / "configs" / "metrics.yaml"))
    metrics.initialize_cache()
    model_yaml = yaml.safe_load((ROOT / "archive" / "model-config.yaml").read_text())
    model_yaml["handler"].update(handler_settings)
    context = Context(
        "crnn_ocr", str(model_dir), manifest, batch, None, "0.12.0", metrics=metrics, model_yaml_config=model_yaml
    )
    context.request_processor = [RequestProcessor({}) for _ in range(batch)]
    metrics.request_ids = {i: f"req-{i}" for i in range(batch)}
    return context


@pytest.fixture()
def handler(model_dir) -> OCRHandler:
    handler = OCRHandler()
    handler.initialize(make_context(model_dir, 1))
    return handler


def test_batch_with_one_corrupt_request(handler, model_dir):
    image = png_bytes(render_clean_line("Hello 2024"))
    rows = [
        {"body": image},
        {"body": b"\x89PNG\r\n\x1a\n corrupt"},
        {"body": {"image": base64.b64encode(image).decode()}},
        {"body": json.dumps({"image": "data:image/png;base64," + base64.b64encode(image).decode()}).encode()},
        {"body": {"image": "%%% not base64"}},
        {"body": {"picture": "x"}},
    ]
    context = make_context(model_dir, len(rows))
    results = handler.handle(rows, context)

    assert len(results) == len(rows)
    for idx in (0, 2, 3):
        assert set(results[idx]) >= {"text", "confidence", "char_probs", "timings"}
        assert 0.0 <= results[idx]["confidence"] <= 1.0
        assert len(results[idx]["char_probs"]) == len(results[idx]["text"])
        assert context.get_response_status(idx)[0] == 200
    assert results[0]["text"] == results[2]["text"] == results[3]["text"]
    expected_errors = {1: "invalid_image", 4: "invalid_base64", 5: "missing_image"}
    for idx, code in expected_errors.items():
        assert results[idx]["error"] == code and results[idx]["message"]
        assert context.get_response_status(idx)[0] == 400


def test_handler_tensor_equals_training_tensor(handler):
    """The handler's preprocessing of encoded bytes is exactly the training path's on the array."""
    image = render_clean_line("同一条预处理 path")
    item = handler.preprocess([{"body": png_bytes(image)}])[0]
    assert item["mode"] == "line"
    _, _, payload = load_checkpoint(DEFAULT_WEIGHTS)
    from model.inference.config import ModelConfig

    training_config = ModelConfig.from_dict(payload["config"]).preprocess
    np.testing.assert_array_equal(item["image"], preprocess(image, training_config))


def test_batched_result_equals_single_result(handler, model_dir):
    """Padding a short line to the batch's widest must not change what is read."""
    short, long = png_bytes(render_clean_line("ab 12")), png_bytes(render_clean_line("a much longer line of text 123"))
    alone = handler.handle([{"body": short}], make_context(model_dir, 1))[0]
    batched = handler.handle([{"body": long}, {"body": short}], make_context(model_dir, 2))[1]
    assert batched["text"] == alone["text"]
    # The LSTM stops at each line's end; only the convolutions' last few columns see the padding.
    assert batched["confidence"] == pytest.approx(alone["confidence"], abs=0.02)


def test_initialize_refuses_mismatched_charset(model_dir, tmp_path):
    for item in model_dir.iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "charset.txt").write_text("# crnn-ocr charset v0: 2 characters\na\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="classes"):
        OCRHandler().initialize(make_context(tmp_path, 1))


def test_batch_mixing_lines_pages_and_a_bad_mode(handler, model_dir):
    """Line and page requests share a batch; a bad mode is that request's own error."""
    line = png_bytes(render_clean_line("Hello 2024"))
    page = png_bytes(render_page(["第一行文字", "Second line 42"]))
    encoded = base64.b64encode(page).decode()
    rows = [
        {"body": line},
        {"body": {"image": encoded, "mode": "page"}},
        {"body": {"image": encoded, "mode": "sideways"}},
        {"body": {"image": base64.b64encode(line).decode(), "mode": "line"}},
    ]
    context = make_context(model_dir, len(rows))
    results = handler.handle(rows, context)

    assert results[0]["mode"] == "line" and results[0]["text"] == results[3]["text"] == "Hello 2024"
    assert results[1]["mode"] == "page" and len(results[1]["lines"]) == 2
    assert results[1]["text"] == "\n".join(line["text"] for line in results[1]["lines"])
    assert set(results[1]["timings"]) >= {"preprocess_ms", "detection_ms", "recognition_ms"}
    assert results[2]["error"] == "invalid_mode" and context.get_response_status(2)[0] == 400


def test_pages_past_the_batch_deadline_fail_alone(model_dir):
    """With no time left for pages, each page of the batch is its own 504 page_timeout; the line
    request beside them is read, and the worker goes on."""
    handler = OCRHandler()
    handler.initialize(make_context(model_dir, 1, batch_deadline_s=0))
    page = png_bytes(render_page(["第一行文字", "Second line 42"]))
    line = png_bytes(render_clean_line("Hello 2024"))
    rows = [{"body": {"image": base64.b64encode(page).decode(), "mode": "page"}}, {"body": line}] * 2
    context = make_context(model_dir, len(rows), batch_deadline_s=0)
    results = handler.handle(rows, context)
    for idx in (0, 2):
        assert results[idx]["error"] == "page_timeout" and context.get_response_status(idx)[0] == 504
    for idx in (1, 3):
        assert results[idx]["text"] == "Hello 2024" and context.get_response_status(idx)[0] == 200


def test_initialize_refuses_missing_serving_limits(model_dir):
    context = make_context(model_dir, 1)
    del context.model_yaml_config["handler"]["batch_deadline_s"]
    with pytest.raises(RuntimeError, match="batch_deadline_s"):
        OCRHandler().initialize(context)
