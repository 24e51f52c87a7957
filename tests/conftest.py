"""Session fixtures: fonts, the .mar built from the committed weights, and the real running service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from model.synth import alphabet
from model.synth.fonts import FontFace, discover_fonts
from tests.live import LiveService, build_mar, run_service


@pytest.fixture(scope="session")
def fonts() -> list[FontFace]:
    """Installed fonts able to draw the charset (scanning them takes seconds: done once)."""
    return discover_fonts(alphabet.current())


@pytest.fixture(scope="session")
def built_mar(tmp_path_factory) -> Path:
    """Build the archive exactly as `make archive` does, into a temporary folder."""
    return build_mar(tmp_path_factory.mktemp("mar-build"))


@pytest.fixture(scope="session")
def live_service(tmp_path_factory, built_mar) -> Iterator[LiveService]:
    with run_service(built_mar, tmp_path_factory.mktemp("live")) as service:
        yield service
