"""Line crops from a page: a quadrilateral straightened into an upright rectangle, and vertical
columns of upright characters laid out as a horizontal line the recogniser can read."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from model.inference.config import ReaderConfig


def side_lengths(corners: np.ndarray) -> tuple[float, float]:
    """Width (along edge 0-1, the reading direction of horizontal text) and height (edge 0-3)."""
    width = (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    height = (np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2
    return float(width), float(height)


def straighten(image: np.ndarray, corners: np.ndarray, margin: float) -> np.ndarray:
    """The quadrilateral ``corners`` (clockwise, corner 0 = top-left of the upright text) warped to
    an upright rectangle, grown by ``margin`` of its short side on every side."""
    width, height = side_lengths(corners)
    pad = margin * min(width, height)
    centre = corners.mean(axis=0)
    right = (corners[1] - corners[0] + corners[2] - corners[3]) / 2
    down = (corners[3] - corners[0] + corners[2] - corners[1]) / 2
    right /= max(np.linalg.norm(right), 1e-6)
    down /= max(np.linalg.norm(down), 1e-6)
    grown = (
        corners + np.float32([-1, 1, 1, -1])[:, None] * right * pad + np.float32([-1, -1, 1, 1])[:, None] * down * pad
    )
    del centre
    out_w, out_h = max(1, round(width + 2 * pad)), max(1, round(height + 2 * pad))
    target = np.float32([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]])
    matrix = cv2.getPerspectiveTransform(grown.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def trim_to_ink(crop: np.ndarray, settings: ReaderConfig) -> np.ndarray:
    """A horizontal line crop cut down to its ink plus a small margin. Detected boxes are looser than
    the crops the recogniser learned from, and small glyphs in a tall crop shrink below the sizes it
    knows; table borders along the crop's edges are dropped, not read as brackets."""
    ink = _ink(crop)
    ink[:, ink.mean(axis=0) > settings.rule_fill] = False
    ink[ink.mean(axis=1) > settings.rule_fill, :] = False
    _part_touching_lines(ink, settings)
    bands = _runs(ink.any(axis=1))
    if not bands:
        return crop
    # A box drawn a little too tall takes in slivers of the lines above and below: bands of ink that
    # run into the crop's top or bottom edge, apart from the band with the most ink.
    main = max(bands, key=lambda band: int(ink[band[0] : band[1]].sum()))
    kept = [band for band in bands if band == main or (band[0] > 0 and band[1] < len(ink))]
    top, bottom = kept[0][0], kept[-1][1]
    cols = np.nonzero(ink[top:bottom].any(axis=0))[0]
    left, right = cols[0], cols[-1] + 1
    height = bottom - top
    pad_y, pad_x = (round(share * height) for share in settings.trim_margin)
    background = int(np.median(crop))
    trimmed = crop[top:bottom, left:right]
    return cv2.copyMakeBorder(trimmed, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=background)


def _part_touching_lines(ink: np.ndarray, settings: ReaderConfig) -> None:
    """Clears the row where a sliver of the line above or below touches this line (descenders of
    tightly set lines meet the next line's ascenders), so that trimming can drop the sliver
    (``ReaderConfig.touch_neck``, ``touch_sliver``, ``touch_spread``)."""
    fill = ink.mean(axis=1)
    peak = float(fill.max(initial=0.0))
    if peak == 0.0:
        return
    body = np.nonzero(fill >= 0.5 * peak)[0]
    for edge, stretch in ((0, fill[: body[0]]), (len(fill) - 1, fill[body[-1] + 1 :])):
        if fill[edge] == 0.0 or stretch.size < 2:
            continue
        # Of equally empty rows, the one nearest the edge: the line keeps all it can of itself.
        neck = int(np.argmin(stretch)) if edge == 0 else stretch.size - 1 - int(np.argmin(stretch[::-1]))
        row = neck if edge == 0 else body[-1] + 1 + neck
        beyond = ink[:row] if edge == 0 else ink[row + 1 :]
        if (
            stretch[neck] >= settings.touch_neck * peak
            or not beyond.size
            or beyond.mean(axis=1).max() < settings.touch_sliver * peak
        ):
            continue
        if _spread(beyond) >= settings.touch_spread * _spread(ink[body[0] : body[-1] + 1]):
            ink[row] = False


def _spread(ink: np.ndarray) -> int:
    """Columns from the first to the last that hold ink."""
    cols = np.nonzero(ink.any(axis=0))[0]
    return int(cols[-1] - cols[0] + 1) if cols.size else 0


def restack_vertical(column: np.ndarray, settings: ReaderConfig) -> np.ndarray:
    """An upright column of characters (gray, taller than wide) as one horizontal line: the column is
    cut into character cells and the cells are laid side by side.

    Vertical CJK text is typeset on a regular grid of about square cells, so the cuts are a comb:
    the pitch (``ReaderConfig.restack_pitch``) and offset whose cuts cross the least ink, measured on a
    slightly blurred ink profile so that cuts settle in the middle of the gaps. A comb is robust
    where gaps are not: characters such as 三 or 旦 have blank rows inside them.
    """
    height, width = column.shape
    if height < 1.5 * width:
        return column
    profile = _ink(column).mean(axis=1).astype(np.float32)
    sigma = max(1.0, 0.1 * width)
    profile = cv2.GaussianBlur(profile[:, None], (1, 2 * int(3 * sigma) + 1), sigma)[:, 0]
    best_cost, best_cuts = np.inf, np.array([0, height])
    low, high = settings.restack_pitch
    for pitch in np.linspace(low * width, high * width, 33):
        for offset in np.arange(0.0, pitch, 1.0):
            cuts = np.arange(offset, height, pitch).astype(int)
            cuts = cuts[cuts < height]  # a float step can land on ``height`` itself
            if len(cuts) == 0:
                continue
            cost = float(profile[cuts].mean())
            if cost < best_cost:
                best_cost, best_cuts = cost, cuts
    edges = np.unique(np.concatenate([[0], best_cuts, [height]]))
    ink_rows = profile > 0.01
    cells = [
        column[a:b]
        for a, b in itertools.pairwise(edges)
        if b - a > settings.restack_min_cell * width and ink_rows[a:b].any()
    ]
    if not cells:
        return column
    background = int(np.median(column))
    space = max(1, int(settings.restack_gap * width))
    cell_height = max(cell.shape[0] for cell in cells)
    line = np.full((cell_height, len(cells) * (width + space) + space), background, column.dtype)
    x = space
    for cell in cells:
        y = (cell_height - cell.shape[0]) // 2
        line[y : y + cell.shape[0], x : x + width] = cell
        x += width + space
    return line


def _runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    edges = np.diff(np.concatenate([[0], filled.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink pixels by Otsu, whichever polarity the column has (the background is the majority)."""
    _, binary = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary == 0 if binary.mean() > 0.5 else binary == 1
