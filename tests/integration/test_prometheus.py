"""Monitoring for real: the alert rules pass `promtool`, and a real Prometheus (Debian's, started
here on loopback with the rules loaded) scrapes the live gateway and TorchServe and answers queries
on their custom metrics."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.helpers import png_bytes, render_clean_line
from tests.live import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "crnn-ocr.json"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
MISSING = "Debian's prometheus package (promtool) is not installed: `make test` installs it"


def test_shipped_configuration_passes_promtool():
    assert PROMTOOL, MISSING
    for command in (["check", "rules", str(RULES)], ["check", "config", str(RULES.with_name("prometheus.yml"))]):
        done = subprocess.run([PROMTOOL, *command], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def prometheus(live_service, tmp_path_factory):
    """A Prometheus scraping the live service every second, with the shipped rules."""
    assert PROMETHEUS, MISSING
    work = tmp_path_factory.mktemp("prometheus")
    shutil.copy2(RULES, work / RULES.name)
    config = yaml.safe_load(RULES.with_name("prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    targets = {
        "ocr-gateway": live_service.gateway_url.removeprefix("http://"),
        "ocr-torchserve": live_service.metrics_url.removeprefix("http://").removesuffix("/metrics"),
    }
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    command = [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}"]
    command += [f"--web.listen-address={url.removeprefix('http://')}"]
    with (work / "prometheus.log").open("w") as log:
        process = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, (work / "prometheus.log").read_text()[-2000:]
            time.sleep(0.3)
        yield url
    finally:
        stop(process)


def query(url: str, expression: str) -> list[dict]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expression}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_scrapes_both_and_loads_the_rules(live_service, prometheus):
    image = base64.b64encode(png_bytes(render_clean_line("Scraped 42"))).decode()
    for _ in range(3):
        assert requests.post(f"{live_service.gateway_url}/api/v1/ocr", json={"image": image}, timeout=60).ok
    deadline = time.monotonic() + 60
    found: dict[str, list[dict]] = {}
    expressions = {
        "targets up": 'sum(up{job=~"ocr-gateway|ocr-torchserve"})',
        "gateway": 'sum(ocr_gateway_requests_total{route="/api/v1/ocr", status="200"})',
        "handler": "sum(OCRLinesRecognised)",
    }
    while time.monotonic() < deadline:
        try:
            found = {name: query(prometheus, expression) for name, expression in expressions.items()}
        except requests.RequestException:
            found = {}  # not listening yet
        if found and all(found.values()) and float(found["gateway"][0]["value"][1]) >= 3:
            if float(found["targets up"][0]["value"][1]) == 2:
                break
        time.sleep(1)
    assert float(found["targets up"][0]["value"][1]) == 2, found
    assert float(found["gateway"][0]["value"][1]) >= 3
    assert float(found["handler"][0]["value"][1]) >= 3  # the handler's custom metric, through TorchServe
    groups = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"TorchServeDown", "OCRModelUnavailable", "OCRErrorRatio", "OCRQueueTime"} <= loaded


def test_every_dashboard_query_runs(live_service, prometheus):
    """The Grafana dashboard's queries are valid PromQL over metrics this service exports."""
    image = base64.b64encode(png_bytes(render_clean_line("Dashboard 7"))).decode()
    assert requests.post(f"{live_service.gateway_url}/api/v1/ocr", json={"image": image}, timeout=60).ok
    panels = json.loads(DASHBOARD.read_text())["panels"]
    expressions = [target["expr"] for panel in panels for target in panel["targets"]]
    assert len(expressions) >= 6
    for expression in expressions:
        query(prometheus, expression)  # fails on a syntax error
    # Every metric the dashboard names is one a scrape has seen (scrapes come every second).
    wanted = {"ocr_gateway_requests_total", "ocr_gateway_in_flight", "ts_queue_latency_microseconds"}
    deadline, seen = time.monotonic() + 30, set()
    while not wanted <= seen and time.monotonic() < deadline:
        time.sleep(1)
        seen = set(requests.get(f"{prometheus}/api/v1/label/__name__/values", timeout=5).json()["data"])
    named = {
        name
        for name in seen
        if any(name in expression or name.removesuffix("_total") in expression for expression in expressions)
    }
    assert wanted <= named, sorted(seen)
