"""The web UI in headless Chromium, against the real gateway and TorchServe.

``live_service`` (tests/conftest.py) starts both servers and yields an object
with ``gateway_url``. Nothing here is skipped: a missing browser is a failure.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HISTORY_KEY = "ocr-history"  # must match webui/app.js
RECOGNITION_TIMEOUT_S = 30


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile (so localStorage starts empty).

    Giving both binaries explicitly means Selenium Manager is never run, so
    nothing is downloaded.
    """
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def text_line_png(path: Path, text: str) -> Path:
    """A clean, centred black-on-white rendering of ``text``, like a scanned line."""
    font = ImageFont.truetype(FONT, 40)
    image = Image.new("RGB", (320, 64), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    origin = ((image.width - (right - left)) / 2 - left, (image.height - (bottom - top)) / 2 - top)
    draw.text(origin, text, fill="black", font=font)
    image.save(path, format="PNG")
    return path


def stored_history(driver: WebDriver) -> list[dict[str, Any]]:
    raw = driver.execute_script("return window.localStorage.getItem(arguments[0]);", HISTORY_KEY)
    entries: list[dict[str, Any]] = json.loads(raw) if raw else []
    return entries


def wait_until_finished(driver: WebDriver) -> None:
    """Wait until the page has either a result or an error for the upload.

    ``#result-text`` is filled in the same step that sets ``data-state="done"``;
    waiting on the state as well turns "the API failed" into a readable
    assertion below instead of a bare timeout.
    """
    WebDriverWait(driver, RECOGNITION_TIMEOUT_S).until(
        lambda d: d.find_element(By.ID, "result-text").text.strip()
        or d.find_element(By.ID, "app").get_attribute("data-state") in ("done", "error")
    )


def test_upload_png_shows_text_confidence_and_history(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    image = text_line_png(tmp_path / "hello.png", "Hello 2024")
    browser.get(live_service.gateway_url + "/")
    assert stored_history(browser) == []

    browser.find_element(By.ID, "file-input").send_keys(str(image))
    wait_until_finished(browser)

    error = browser.find_element(By.ID, "error")
    assert not error.is_displayed(), f"UI showed an error: {error.text!r}"
    assert browser.find_element(By.ID, "preview").is_displayed()

    text = browser.find_element(By.ID, "result-text").text
    normalised = text.replace(" ", "").lower()
    similarity = difflib.SequenceMatcher(None, normalised, "hello2024").ratio()
    # A clean printed line: the trained model reads it (near-)exactly; allow one slip.
    assert similarity >= 0.8, f"recognised {text!r} (similarity {similarity:.2f})"

    confidence = browser.find_element(By.ID, "result-confidence").text
    match = re.fullmatch(r"(\d{1,3}(?:\.\d+)?)\s*%", confidence)
    assert match and 0 <= float(match.group(1)) <= 100, f"confidence shown as {confidence!r}"
    assert browser.find_element(By.ID, "copy-button").is_enabled()

    # History is written after the thumbnail is drawn, a moment after the result.
    WebDriverWait(browser, 10).until(lambda d: len(stored_history(d)) == 1)
    [entry] = stored_history(browser)
    assert entry["text"] == text
    assert 0 <= entry["confidence"] <= 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history li")) == 1


def test_non_image_file_shows_friendly_error(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    fake_png = tmp_path / "not-really.png"
    fake_png.write_bytes(b"This is plain text wearing a .png name.\n")
    browser.get(live_service.gateway_url + "/")

    browser.find_element(By.ID, "file-input").send_keys(str(fake_png))
    error = browser.find_element(By.ID, "error")
    WebDriverWait(browser, RECOGNITION_TIMEOUT_S).until(lambda _: error.is_displayed())

    assert error.text == "This file is not an image we can read (PNG, JPEG, BMP, WebP)."
    assert browser.find_element(By.ID, "result-text").text == ""
    assert stored_history(browser) == []


@pytest.mark.parametrize("image_format, suffix", [("JPEG", ".jpg"), ("BMP", ".bmp"), ("WEBP", ".webp")])
def test_other_image_formats_are_read(browser: WebDriver, live_service: Any, tmp_path: Path, image_format: str,
                                      suffix: str) -> None:
    png = text_line_png(tmp_path / "line.png", "Hello 2024")
    path = tmp_path / f"line{suffix}"
    Image.open(png).convert("RGB").save(path, format=image_format)
    browser.get(live_service.gateway_url + "/")

    browser.find_element(By.ID, "file-input").send_keys(str(path))
    wait_until_finished(browser)

    assert browser.find_element(By.ID, "app").get_attribute("data-state") == "done"
    text = browser.find_element(By.ID, "result-text").text
    similarity = difflib.SequenceMatcher(None, text.replace(" ", "").lower(), "hello2024").ratio()
    assert similarity >= 0.8, f"{image_format}: recognised {text!r}"
