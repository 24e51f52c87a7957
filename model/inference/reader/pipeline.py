"""Reading a whole image: detect lines, find which way the page is turned, read every line, order
the lines. ``PageReader.read`` returns the API's result shape (see README, "API"), which the handler
answers as is.

Orientation is decided by reading: the detector finds lines whatever their direction, and a few of
the clearest lines are read under each plausible page turn; the turn whose readings are the most
confident and complete wins. A tall box is a vertical column of upright characters when the page is
upright, and a turned horizontal line when the page is turned. Lines that read poorly are tried once
more upside down, for the odd label printed the other way round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.inference.config import DetectorConfig, ReaderConfig
from model.inference.contract import check_mode, line_entry, page_result
from model.inference.decoding import Decoded
from model.inference.detection import detect
from model.inference.limits import NO_LIMITS, PageLimits
from model.inference.preprocessing import to_gray
from model.inference.reader.crops import restack_vertical, side_lengths, straighten, trim_to_ink
from model.inference.reader.markers import grown_over_marker
from model.inference.reader.order import reading_order
from model.inference.reader.recognise import LineRecogniser
from model.inference.reader.rules import find_rules


@dataclass
class Reading:
    corners: np.ndarray  # in image pixels, clockwise from where the text starts
    vertical: bool
    decoded: Decoded


def turned(corners: np.ndarray, quarter_turns: int) -> np.ndarray:
    """The corners of the same box for text turned clockwise by ``quarter_turns`` quarter turns: the
    text then starts at another corner."""
    return np.roll(corners, -quarter_turns, axis=0)


def upright_points(points: np.ndarray, quarter_turns: int, width: int, height: int) -> np.ndarray:
    """Points of an image that shows a page turned clockwise by ``quarter_turns``, in the
    coordinates of the upright page."""
    points = points.astype(np.float32).copy()
    for _ in range(quarter_turns % 4):
        points = np.stack([points[..., 1], width - 1 - points[..., 0]], axis=-1)
        width, height = height, width
    return points


def angle_of(corners: np.ndarray) -> float:
    """Degrees clockwise that the characters are turned: the direction of the box's top edge."""
    dx, dy = corners[1] - corners[0]
    return round(float(np.degrees(np.arctan2(dy, dx))) % 360, 1)


class PageReader:
    """Detector plus recogniser. Both models are callables (eager or TorchScript); ``settings`` are
    the thresholds tuned with them. Assembled by ``model.inference.assemble.load_reader``."""

    def __init__(
        self, recogniser: LineRecogniser, detector: Any, detector_config: DetectorConfig, settings: ReaderConfig
    ) -> None:
        self.recogniser = recogniser
        self.detector = detector
        self.detector_config = detector_config
        self.settings = settings

    def choose_mode(self, shape: tuple[int, ...], mode: str) -> str:
        """The mode an image of ``shape`` (height, width, ...) is read in; an unknown ``mode`` raises
        ``InputError("invalid_mode")``."""
        if check_mode(mode) != "auto":
            return mode
        height, width = shape[:2]
        low, elongated = self.settings.line_shape
        line = height <= self.settings.line_max_height or (height <= low and width >= elongated * height)
        return "line" if line else "page"

    def read(self, image: np.ndarray, mode: str = "auto") -> dict[str, Any]:
        """The result for one decoded image (gray, BGR or BGRA)."""
        mode = self.choose_mode(image.shape, mode)
        if mode == "line":
            return self.read_line(image)
        return self.read_page(image)

    def read_line(self, image: np.ndarray) -> dict[str, Any]:
        start = time.perf_counter()
        decoded = self.recogniser.read([image])[0]
        result = self.line_result(decoded, image.shape[1], image.shape[0])
        result["timings"] = {"recognition_ms": _ms_since(start)}
        return result

    @staticmethod
    def line_result(decoded: Decoded, width: int, height: int) -> dict[str, Any]:
        """The whole image read as one line: its box is the image."""
        corners = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
        readings = [Reading(corners, False, decoded)] if decoded.text else []
        result = _result(readings, width, height, "line", 0, decoded.confidence)
        result["char_probs"] = decoded.char_probs
        return result

    def read_page(self, image: np.ndarray, limits: PageLimits = NO_LIMITS) -> dict[str, Any]:
        """The page's lines in reading order; ``limits`` may refuse it (``InputError``)."""
        height, width = image.shape[:2]
        started = time.perf_counter()
        detections, probability = detect(self.detector, image, self.detector_config, self.settings)
        detected = time.perf_counter()
        limits.check_lines(len(detections))
        limits.check_time()
        gray = to_gray(image)
        boxes = [d.box for d in detections]
        quarter_turns, readings = self._orient(gray, boxes, limits)
        readings = [self._retry_upside_down(gray, r, limits) for r in readings]
        readings = self._with_markers(gray, readings, limits)
        readings = [r for r in readings if r.decoded.text.strip() and not self._noise(r.decoded)]
        if len(readings) > 1:  # one line or none has no order to find (nor rules to look for)
            upright = np.stack([upright_points(r.corners, quarter_turns, width, height) for r in readings])
            rules = upright_points(find_rules(gray, self.settings), quarter_turns, width, height)
            order = reading_order(upright, [r.vertical for r in readings], self.settings, rules)
            readings = [readings[i] for i in order]
        # Nothing to read: the confidence says how sure the detector is that there is no text.
        empty_confidence = round(1.0 - float(probability.max(initial=0.0)), 4)
        result = _result(readings, width, height, "page", quarter_turns * 90, empty_confidence)
        result["timings"] = {"detection_ms": _ms(started, detected), "recognition_ms": _ms_since(detected)}
        return result

    def _read(self, gray: np.ndarray, boxes: list[np.ndarray], quarter_turns: int, limits: PageLimits) -> list[Reading]:
        """Every box read as text turned by ``quarter_turns``; tall boxes in that frame are columns."""
        crops, plans = [], []
        for box in boxes:
            corners = turned(box, quarter_turns)
            width, height = side_lengths(corners)
            vertical = height >= self.settings.vertical_aspect * width
            crop = straighten(gray, corners, self.settings.crop_margin)
            crops.append(self._prepare(crop, vertical))
            plans.append((corners, vertical))
        decoded = self.recogniser.read(crops, limits.check_time) if crops else []
        return [Reading(c, v, d) for (c, v), d in zip(plans, decoded)]

    def _orient(self, gray: np.ndarray, boxes: list[np.ndarray], limits: PageLimits) -> tuple[int, list[Reading]]:
        """The page's quarter turns, chosen by reading its longest lines under each candidate, and
        all lines read that way."""
        if not boxes:
            return 0, []
        shapes = [side_lengths(box) for box in boxes]
        aspect = self.settings.orientation_aspect
        tall = sum(h > aspect * w for w, h in shapes)
        wide = sum(w > aspect * h for w, h in shapes)
        # Mostly wide lines: upright or upside down. Mostly tall: vertical text or a turned page.
        candidates = [0, 2] if wide >= tall else [0, 1, 3, 2]
        quarters_tried = wide < tall
        longest = sorted(range(len(boxes)), key=lambda i: -max(shapes[i]))[: self.settings.orientation_sample]
        best_turn, best_score, best_read, best_sample = 0, -1.0, 0.0, []
        for turns in candidates:  # grows by the quarter turns below
            sample = self._read(gray, [boxes[i] for i in longest], turns, limits)
            read = float(np.mean([self._score(r) for r in sample]))
            score = read - (self.settings.upright_preference if turns else 0.0)
            if score > best_score:
                best_turn, best_score, best_read, best_sample = turns, score, read, sample
            if turns == 0 and score >= self.settings.upright_accept:
                break
            if turns == 2 and not quarters_tried and best_read < self.settings.quarter_retry:
                candidates += [1, 3]
                quarters_tried = True
        # The sample is read already; only the other lines are left.
        rest = [i for i in range(len(boxes)) if i not in set(longest)]
        readings = dict(zip(longest, best_sample)) | dict(
            zip(rest, self._read(gray, [boxes[i] for i in rest], best_turn, limits))
        )
        return best_turn, [readings[i] for i in range(len(boxes))]

    def _with_markers(self, gray: np.ndarray, readings: list[Reading], limits: PageLimits) -> list[Reading]:
        """Lines with a list marker before them (``markers.py``) grown over it and read again."""
        boxes = [r.corners for r in readings]
        grown = {}
        for i, reading in enumerate(readings):
            if not reading.vertical:
                corners = grown_over_marker(gray, reading.corners, boxes[:i] + boxes[i + 1 :], self.settings)
                if corners is not None:
                    grown[i] = corners
        if not grown:
            return readings
        crops = [self._prepare(straighten(gray, c, self.settings.crop_margin), False) for c in grown.values()]
        decoded = self.recogniser.read(crops, limits.check_time)
        readings = list(readings)
        for (i, corners), reread in zip(grown.items(), decoded):
            readings[i] = Reading(corners, False, reread)
        return readings

    def _retry_upside_down(self, gray: np.ndarray, reading: Reading, limits: PageLimits) -> Reading:
        if reading.decoded.confidence >= self.settings.retry_confidence:
            return reading
        crop = self._prepare(straighten(gray, turned(reading.corners, 2), self.settings.crop_margin), reading.vertical)
        other = Reading(
            turned(reading.corners, 2), reading.vertical, self.recogniser.read([crop], limits.check_time)[0]
        )
        # The same prior as for a whole page: upside down must read clearly better, since a poor
        # upright reading (a squashed plate, a faint print) and an upside-down one of symmetric
        # glyphs (0, 1, 8) often score alike.
        return other if self._score(other) > self._score(reading) + self.settings.upright_preference else reading

    def _score(self, reading: Reading) -> float:
        """A reading's confidence, discounted when it is much shorter than its line looks: a turned or
        mirrored line often decodes to a few confident characters, or to nothing."""
        width, height = side_lengths(reading.corners)
        along, across = (height, width) if reading.vertical else (width, height)
        expected = max(1.0, self.settings.chars_per_thickness * along / max(across, 1.0))
        return reading.decoded.confidence * min(1.0, len(reading.decoded.text) / expected)

    def _noise(self, decoded: Decoded) -> bool:
        """A short line read with little confidence, or any line read with hardly any: a picture,
        halftone or a speck read as text."""
        s = self.settings
        if decoded.confidence < s.unreadable_confidence:
            return True
        return decoded.confidence < s.noise_confidence and len(decoded.text.strip()) <= s.noise_length

    def _prepare(self, crop: np.ndarray, vertical: bool) -> np.ndarray:
        """A straightened crop as the recogniser's line: trimmed to its ink (a column along its
        length), and a column laid out horizontally."""
        if vertical:
            column = np.ascontiguousarray(trim_to_ink(np.ascontiguousarray(crop.T), self.settings).T)
            return restack_vertical(column, self.settings)
        return trim_to_ink(crop, self.settings)


def _result(
    readings: list[Reading], width: int, height: int, mode: str, rotation: int, empty_confidence: float
) -> dict[str, Any]:
    lines = [
        line_entry(r.decoded.text, r.decoded.confidence, r.corners, angle_of(r.corners), r.vertical) for r in readings
    ]
    return page_result(lines, width, height, mode, rotation, empty_confidence)


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 3)


def _ms_since(start: float) -> float:
    return _ms(start, time.perf_counter())
