"""Fixtures of the gateway tests: the fake TorchServe, a closed port, and apps built against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.app import create_app
from tests.gateway.fakes import FakeTorchServe, free_port


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own OCR_* variables must not change test results."""
    names = (
        "TORCHSERVE_URL",
        "MANAGEMENT_URL",
        "MODEL_NAME",
        "MAX_BODY_BYTES",
        "UPSTREAM_TIMEOUT_S",
        "READY_TIMEOUT_S",
    )
    for name in (*names, "MAX_PDF_PAGES", "PDF_MAX_SIDE", "PDF_TIMEOUT_S"):
        monkeypatch.delenv(f"OCR_{name}", raising=False)


@pytest.fixture
def upstream() -> Iterator[FakeTorchServe]:
    fake = FakeTorchServe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build apps from test configs and close their upstream sessions afterwards."""
    apps: list[Flask] = []

    def _make(**config: Any) -> Flask:
        app = create_app({"TESTING": True, **config})
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.extensions["torchserve"].close()


@pytest.fixture
def client(make_app: Callable[..., Flask], upstream: FakeTorchServe) -> FlaskClient:
    """A gateway whose TorchServe is the fake upstream, with a short timeout."""
    app = make_app(OCR_TORCHSERVE_URL=upstream.url, OCR_MANAGEMENT_URL=upstream.url, OCR_UPSTREAM_TIMEOUT_S=0.3)
    return app.test_client()


@pytest.fixture
def dead_client(make_app: Callable[..., Flask], dead_url: str) -> FlaskClient:
    """A gateway whose TorchServe is a closed port."""
    return make_app(OCR_TORCHSERVE_URL=dead_url, OCR_MANAGEMENT_URL=dead_url).test_client()
