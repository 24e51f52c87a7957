"""List markers that the detector leaves outside their line.

The detector learnt lines from synthetic pages whose list markers are hyphens, asterisks and numbers
set close to the text. A bullet (``•``, ``●``, ``■``) set a space or a tab before its item is often
missed: its probability stays under the threshold, or it becomes a speck of its own and is dropped.
So before each line we look for one lone, solid blob of about a marker's size, level with the line,
and grow the line's box back over it; the recogniser then reads the marker with its line.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.inference.config import ReaderConfig
from model.inference.reader.crops import side_lengths, straighten


def grown_over_marker(
    gray: np.ndarray, corners: np.ndarray, others: list[np.ndarray], settings: ReaderConfig
) -> np.ndarray | None:
    """``corners`` (clockwise from where the text starts) grown back over a marker before the line,
    or None when there is none. ``others``: the page's other boxes, whose ink is never a marker.
    What counts as a marker: ``ReaderConfig.marker_reach``, ``marker_size``, ``marker_fill``,
    ``marker_level``."""
    width, height = side_lengths(corners)
    if height < 8 or width < height:
        return None
    along = (corners[1] - corners[0] + corners[2] - corners[3]) / 2
    along = along / max(float(np.linalg.norm(along)), 1e-6)
    reach = settings.marker_reach * height
    before = np.float32([corners[0] - along * reach, corners[0], corners[3], corners[3] - along * reach])
    strip = straighten(gray, before, margin=0)
    ink = _ink_like(straighten(gray, corners, margin=0), strip)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    blobs = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] > 1]
    if len(blobs) != 1:
        return None
    x, y, w, h, area = stats[blobs[0], :5]
    rows, cols = strip.shape
    low, high = (share * rows for share in settings.marker_size)
    if y == 0 or y + h >= rows or not (low <= w <= high and low <= h <= high) or area < settings.marker_fill * w * h:
        return None
    if abs(centroids[blobs[0]][1] - rows / 2) > settings.marker_level * rows:
        return None
    scale = reach / cols  # image pixels per strip column
    centre = (
        before[0] + along * centroids[blobs[0]][0] * scale + (before[3] - before[0]) * (centroids[blobs[0]][1] / rows)
    )
    if any(cv2.pointPolygonTest(other.astype(np.float32), tuple(map(float, centre)), False) >= 0 for other in others):
        return None
    grow = (cols - x + 0.1 * rows) * scale
    grown = corners.astype(np.float32).copy()
    grown[0] -= along * grow
    grown[3] -= along * grow
    return grown


def _ink_like(line: np.ndarray, strip: np.ndarray) -> np.ndarray:
    """Ink of ``strip`` by the Otsu threshold and polarity of its line, which holds plenty of both."""
    threshold, binary = cv2.threshold(line, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark_ink = binary.mean() > 0.5  # the background is the majority
    return strip <= threshold if dark_ink else strip > threshold
