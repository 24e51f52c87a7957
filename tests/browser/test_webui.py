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
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # Latin and hanzi
PAGE_LINES = ("Invoice 2024-03", "欢迎使用文字识别", "Total 128.50 元", "Reading a whole page")
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
def test_other_image_formats_are_read(
    browser: WebDriver, live_service: Any, tmp_path: Path, image_format: str, suffix: str
) -> None:
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


# --- whole pages: line boxes, downloads, copy, PDFs ------------------------------------------

Rect = tuple[float, float, float, float]  # left, top, right, bottom


def page_png(path: Path, lines: tuple[str, ...] = PAGE_LINES) -> tuple[Path, list[Rect]]:
    """A white page with ``lines`` printed one under another; returns the path and each line's ink box."""
    font = ImageFont.truetype(CJK_FONT, 36)
    image = Image.new("RGB", (900, 120 + 110 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    drawn: list[Rect] = []
    for index, text in enumerate(lines):
        origin = (80 + 30 * index, 70 + 110 * index)
        draw.text(origin, text, fill="black", font=font)
        drawn.append(draw.textbbox(origin, text, font=font))
    image.save(path, format="PNG")
    return path, drawn


def upload(driver: WebDriver, path: Path) -> None:
    driver.find_element(By.ID, "file-input").send_keys(str(path))
    wait_until_finished(driver)
    error = driver.find_element(By.ID, "error")
    assert not error.is_displayed(), f"UI showed an error: {error.text!r}"
    assert driver.find_element(By.ID, "app").get_attribute("data-state") == "done"


def fetch_text(driver: WebDriver, url: str) -> str:
    """What the page gets when it fetches ``url`` (a blob: URL behind a download link)."""
    result: str = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then((r) => r.text()).then(done, (e) => done('FETCH FAILED ' + e));",
        url,
    )
    return result


def assert_boxes_cover_drawn_lines(driver: WebDriver, drawn: list[Rect]) -> None:
    """Every printed line's centre, scaled to the displayed preview, lies inside one drawn box."""
    geometry = driver.execute_script(
        """
        const img = document.getElementById('preview');
        const r = img.getBoundingClientRect();
        const o = document.getElementById('overlay').getBoundingClientRect();
        const boxes = [...document.querySelectorAll('#overlay .line-box')].map((b) => {
          const q = b.getBoundingClientRect();
          return [q.left, q.top, q.right, q.bottom];
        });
        return {left: r.left, top: r.top, width: r.width, height: r.height,
                naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, boxes,
                overlay: [o.left, o.top, o.width, o.height]};
        """
    )
    image_rect = [geometry["left"], geometry["top"], geometry["width"], geometry["height"]]
    assert geometry["overlay"] == pytest.approx(image_rect, abs=0.5), "the overlay does not cover the image exactly"
    scale_x = geometry["width"] / geometry["naturalWidth"]
    scale_y = geometry["height"] / geometry["naturalHeight"]
    for left, top, right, bottom in drawn:
        x = geometry["left"] + (left + right) / 2 * scale_x
        y = geometry["top"] + (top + bottom) / 2 * scale_y
        inside = [b for b in geometry["boxes"] if b[0] - 2 <= x <= b[2] + 2 and b[1] - 2 <= y <= b[3] + 2]
        assert inside, f"no box over the line drawn at {(left, top, right, bottom)} (shown at {x:.0f},{y:.0f})"


def selected_indices(scope: WebDriver | WebElement, selector: str) -> list[str]:
    return [element.get_attribute("data-index") for element in scope.find_elements(By.CSS_SELECTOR, selector)]


def test_page_image_draws_one_box_per_line_and_links_boxes_to_lines(
    browser: WebDriver, live_service: Any, tmp_path: Path
) -> None:
    image, drawn = page_png(tmp_path / "page.png")
    browser.get(live_service.gateway_url + "/")
    upload(browser, image)

    boxes = browser.find_elements(By.CSS_SELECTOR, "#overlay .line-box")
    items = browser.find_elements(By.CSS_SELECTOR, "#result-lines li.result-line")
    assert len(boxes) == len(items) >= len(PAGE_LINES)
    for item in items:
        assert item.find_element(By.CSS_SELECTOR, ".line-text").text
        assert re.fullmatch(r"\d{1,3}\.\d%.*", item.find_element(By.CSS_SELECTOR, ".line-confidence").text)
    assert_boxes_cover_drawn_lines(browser, drawn)

    # Clicking a box selects it and its line (and only those).
    last = len(boxes) - 1
    boxes[last].click()
    assert selected_indices(browser, "#result-lines li.selected") == [str(last)]
    assert selected_indices(browser, "#overlay .line-box.selected") == [str(last)]
    box_label = boxes[last].get_attribute("aria-label")
    line_text = items[last].find_element(By.CSS_SELECTOR, ".line-text").text
    assert box_label.rstrip().endswith(line_text), f"box {box_label!r} vs line {line_text!r}"

    # Clicking a line selects its box instead.
    items[0].find_element(By.TAG_NAME, "button").click()
    assert selected_indices(browser, "#overlay .line-box.selected") == ["0"]
    assert selected_indices(browser, "#result-lines li.selected") == ["0"]
    assert items[0].find_element(By.TAG_NAME, "button").get_attribute("aria-pressed") == "true"

    # Boxes are reachable from the keyboard: focus one and press Enter.
    browser.execute_script("arguments[0].focus();", boxes[1])
    assert browser.switch_to.active_element == boxes[1]
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert selected_indices(browser, "#result-lines li.selected") == ["1"]

    # The overlay follows the image when the window (and so the image) changes size.
    browser.set_window_size(640, 900)
    assert_boxes_cover_drawn_lines(browser, drawn)


def test_downloads_hold_the_result(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    image, _ = page_png(tmp_path / "page.png")
    browser.get(live_service.gateway_url + "/")
    json_link = browser.find_element(By.ID, "download-json")
    txt_link = browser.find_element(By.ID, "download-txt")
    assert json_link.get_attribute("aria-disabled") == "true" and not json_link.get_attribute("href")
    upload(browser, image)

    assert json_link.get_attribute("download") == "page-ocr.json"
    assert txt_link.get_attribute("download") == "page-ocr.txt"
    assert json_link.get_attribute("href").startswith("blob:")
    result = json.loads(fetch_text(browser, json_link.get_attribute("href")))
    shown_lines = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "#result-lines .line-text")]
    assert [line["text"].strip() for line in result["lines"]] == shown_lines
    assert all(len(line["box"]) == 4 for line in result["lines"])
    assert result["text"] == browser.execute_script("return document.getElementById('result-text').textContent;")
    assert fetch_text(browser, txt_link.get_attribute("href")) == result["text"] + "\n"


def test_copy_uses_the_clipboard_api_or_falls_back_to_a_selection(
    browser: WebDriver, live_service: Any, tmp_path: Path
) -> None:
    image = text_line_png(tmp_path / "hello.png", "Hello 2024")
    browser.get(live_service.gateway_url + "/")
    upload(browser, image)
    expected = browser.execute_script("return document.getElementById('result-text').textContent;")
    copy_button = browser.find_element(By.ID, "copy-button")
    assert expected and copy_button.is_enabled()

    # With the Clipboard API (stubbed: headless Chromium has no system clipboard to read back).
    browser.execute_script(
        "Object.defineProperty(navigator, 'clipboard', {configurable: true, value: {writeText: (text) => {"
        " window.copiedText = text; return Promise.resolve(); }}});"
    )
    copy_button.click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.copiedText;") == expected)
    assert copy_button.text == "Copied!"

    # Without it (plain http on another host): a hidden selection and the copy command.
    browser.execute_script(
        "Object.defineProperty(navigator, 'clipboard', {configurable: true, value: undefined});"
        "document.addEventListener('copy', (event) => { const t = event.target;"
        " window.selectedText = t.value.slice(t.selectionStart, t.selectionEnd); });"
    )
    WebDriverWait(browser, 5).until(lambda _: copy_button.text == "Copy text")
    copy_button.click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.selectedText;") == expected)
    assert copy_button.text == "Copied!"


def test_request_sends_the_chosen_mode_and_the_file_name(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    image = text_line_png(tmp_path / "hello.png", "Hello 2024")
    browser.get(live_service.gateway_url + "/")
    browser.execute_script(
        "window.sentBodies = []; const original = window.fetch;"
        "window.fetch = (url, options) => { window.sentBodies.push(JSON.parse(options.body));"
        " return original(url, options); };"
    )
    assert browser.find_element(By.ID, "mode-auto").is_selected()
    browser.find_element(By.ID, "mode-line").click()
    upload(browser, image)

    [sent] = browser.execute_script("return window.sentBodies;")
    assert sent["mode"] == "line" and sent["filename"] == "hello.png"
    assert sent["image"].startswith("data:image/png;base64,")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#overlay .line-box")) == 1

    # Another layout reads the same file again.
    browser.find_element(By.ID, "mode-page").click()
    WebDriverWait(browser, RECOGNITION_TIMEOUT_S).until(
        lambda d: len(d.execute_script("return window.sentBodies;")) == 2
        and d.find_element(By.ID, "app").get_attribute("data-state") in ("done", "error")
    )
    assert browser.execute_script("return window.sentBodies[1].mode;") == "page"


def test_pdf_shows_one_section_per_page(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    first, _ = page_png(tmp_path / "first.png", PAGE_LINES[:2])
    second, _ = page_png(tmp_path / "second.png", PAGE_LINES[2:])
    pdf = tmp_path / "report.pdf"
    Image.open(first).save(pdf, format="PDF", save_all=True, append_images=[Image.open(second)], resolution=100)
    browser.get(live_service.gateway_url + "/")
    upload(browser, pdf)

    sections = browser.find_elements(By.CSS_SELECTOR, "#result-pages .page-result")
    assert [section.get_attribute("data-page") for section in sections] == ["1", "2"]
    for number, section in enumerate(sections, start=1):
        assert section.find_element(By.TAG_NAME, "h3").text == f"Page {number}"
        assert "read by ocr" in section.find_element(By.CSS_SELECTOR, ".page-meta").text.lower()
        assert section.find_element(By.CSS_SELECTOR, ".page-text").text.strip()
        # The page's preview, with a box drawn over each of its lines.
        picture = section.find_element(By.CSS_SELECTOR, ".page-preview img")
        WebDriverWait(browser, 10).until(lambda d, img=picture: d.execute_script("return arguments[0].complete;", img))
        assert picture.is_displayed() and picture.size["width"] > 100
        boxes = section.find_elements(By.CSS_SELECTOR, ".page-preview .line-box")
        items = section.find_elements(By.CSS_SELECTOR, "li.result-line")
        assert len(boxes) == len(items) >= 1
    assert not browser.find_element(By.ID, "preview").is_displayed()
    assert browser.find_element(By.ID, "pdf-note").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#overlay .line-box") == []

    # Clicking a box of page 2 opens its line list and selects that line there, nowhere else.
    second_page = sections[1]
    second_page.find_elements(By.CSS_SELECTOR, ".page-preview .line-box")[0].click()
    assert second_page.find_element(By.TAG_NAME, "details").get_attribute("open") is not None
    assert selected_indices(second_page, "li.result-line.selected") == ["0"]
    assert selected_indices(second_page, ".line-box.selected") == ["0"]
    assert selected_indices(sections[0], ".selected") == []
    # And a line chosen in the list selects its box.
    second_page.find_elements(By.CSS_SELECTOR, "li.result-line button")[-1].click()
    last = str(len(second_page.find_elements(By.CSS_SELECTOR, "li.result-line")) - 1)
    assert selected_indices(second_page, ".line-box.selected") == [last]

    json_link = browser.find_element(By.ID, "download-json")
    assert json_link.get_attribute("download") == "report-ocr.json"
    result = json.loads(fetch_text(browser, json_link.get_attribute("href")))
    assert [page["page"] for page in result["pages"]] == [1, 2]
    assert all("preview" not in page for page in result["pages"])  # the download is the answer alone
    WebDriverWait(browser, 10).until(lambda d: len(stored_history(d)) == 1)
    [entry] = stored_history(browser)
    assert entry["pages"] == 2 and "thumbnail" not in entry


def test_unreadable_pdf_shows_friendly_error(browser: WebDriver, live_service: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    browser.get(live_service.gateway_url + "/")

    browser.find_element(By.ID, "file-input").send_keys(str(broken))
    error = browser.find_element(By.ID, "error")
    WebDriverWait(browser, RECOGNITION_TIMEOUT_S).until(lambda _: error.is_displayed())
    assert error.text == "This PDF could not be opened. It may be damaged or protected by a password."
    assert stored_history(browser) == []
