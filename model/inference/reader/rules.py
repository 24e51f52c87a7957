"""Ruled lines of a page: the borders between a form's or a table's rows, the rules under headers.

A form's label sits beside a value of several lines, centred on them rather than level with any of
them, so the lines alone do not say which rows belong together; the rules printed between the rows
do. They are found as long, thin runs of ink: the ink is opened with a long flat (or tall) kernel,
which keeps only straight strokes longer than it, and every run left is one rule.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.inference.config import ReaderConfig


def find_rules(gray: np.ndarray, settings: ReaderConfig) -> np.ndarray:
    """Straight horizontal and vertical rules of a gray image, as (N, 2, 2) segments
    ``[[x0, y0], [x1, y1]]`` in pixels, running left to right or top to bottom (``ReaderConfig.rule_*``)."""
    scale = min(1.0, settings.rule_long_side / max(gray.shape[:2]))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    height, width = gray.shape[:2]
    ink = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, settings.rule_ink_window, settings.rule_ink_offset
    )
    segments = []
    for horizontal in (True, False):
        length = max(3, round(settings.rule_min_length * (width if horizontal else height)))
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
        opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        limit = settings.rule_max_thickness * max(width, height)
        for x, y, w, h, _area in stats[1:count]:
            if horizontal and h <= limit:
                segments.append([[x, y + h / 2], [x + w - 1, y + h / 2]])
            elif not horizontal and w <= limit:
                segments.append([[x + w / 2, y], [x + w / 2, y + h - 1]])
    return np.asarray(segments, np.float32).reshape(-1, 2, 2) / scale
