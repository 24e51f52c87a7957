"""The API contract of a reading, defined once for the handler, the gateway and the PDF text layer:
the reading modes, the request's base64 image field, the shape of a result and the confidence of a
page or a document. Plain Python (no torch, no numpy), so the gateway imports it without the model.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

# "line": the image is one text line; "page": find the lines, turn the page upright, read them in
# order; "auto": the handler picks one from the image's shape.
MODES = ("auto", "line", "page")

Point = Sequence[float]


class InputError(ValueError):
    """A request the service cannot read; ``code`` is stable for API clients (the README's table)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_mode(value: object) -> str:
    """``value`` as a reading mode, or ``InputError("invalid_mode")``."""
    if not isinstance(value, str) or value not in MODES:
        shown = repr(value)[:40]
        raise InputError("invalid_mode", f"mode must be one of {', '.join(MODES)}; got {shown}")
    return value


def decode_image_field(value: object) -> bytes:
    """The bytes of a request's ``image`` field: plain base64 or a base64 data URL
    (``data:image/png;base64,...``). Whitespace anywhere is ignored (some encoders wrap lines at 76
    characters); otherwise decoding is strict, so stray characters are reported, not dropped."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("missing_image", 'The JSON body must have a non-empty string field "image".')
    text = value.strip()
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma or not header.lower().endswith(";base64"):
            raise InputError("invalid_base64", "Data URLs must be base64-encoded (data:<type>;base64,<data>).")
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        raise InputError("invalid_base64", 'The "image" field is not valid base64 (or a base64 data URL).') from None
    if not data:
        raise InputError("missing_image", "The image is empty.")
    return data


def line_entry(text: str, confidence: float, box: Sequence[Point], angle: float, vertical: bool) -> dict[str, Any]:
    """One line of a result: ``box`` is its four corners in image pixels, clockwise from where the
    text starts; ``angle`` degrees clockwise."""
    return {
        "text": text,
        "confidence": confidence,
        "box": [[round(float(x), 1), round(float(y), 1)] for x, y in box],
        "angle": angle,
        "vertical": vertical,
    }


def weighted_confidence(parts: Sequence[Mapping[str, Any]], empty: float) -> float:
    """The confidence of a page from its lines, or of a document from its pages: the mean of the
    parts' confidences weighted by their text's length, so a long line counts for its characters; the
    plain mean where no part has text; ``empty`` (how sure the reader is that nothing is there) where
    there are no parts."""
    chars = sum(len(part["text"]) for part in parts)
    if chars:
        return sum(part["confidence"] * len(part["text"]) for part in parts) / chars
    if parts:
        return sum(part["confidence"] for part in parts) / len(parts)
    return empty


def page_result(
    lines: list[dict[str, Any]], width: int, height: int, mode: str, rotation: int, empty_confidence: float
) -> dict[str, Any]:
    """The answer for one image: its lines in reading order (``line_entry``), their text joined by
    newlines, the page's confidence (``weighted_confidence``), the mode used and how far the page
    was turned (0, 90, 180 or 270 degrees)."""
    return {
        "text": "\n".join(line["text"] for line in lines),
        "confidence": round(float(weighted_confidence(lines, empty_confidence)), 4),
        "lines": lines,
        "mode": mode,
        "rotation": rotation,
        "width": width,
        "height": height,
    }


def is_result(body: object) -> bool:
    """Whether ``body`` has a result's documented shape (what the gateway accepts from upstream): a
    text, a numeric confidence and a list of line objects (the gateway tags each line of a PDF page)."""
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not _is_number(body.get("confidence")):
        return False
    lines = body.get("lines", [])
    return isinstance(lines, list) and all(isinstance(line, dict) for line in lines)


def _is_number(value: object) -> bool:
    # bool is an int subclass but never a valid confidence.
    return isinstance(value, (int, float)) and not isinstance(value, bool)
