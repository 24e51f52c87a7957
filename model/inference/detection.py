"""Detection of one page image with a DBNet (eager or TorchScript), the one call that evaluation, the
page reader and the handler share: the network's kernel-probability map, then line boxes in
input-image pixels."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from model.inference.config import DetectorConfig, ReaderConfig
from model.inference.preprocessing import as_bgr, page_tensor, resize_for_detection, to_8bit


@dataclass(frozen=True)
class Detection:
    """A line's box (4x2 float32, clockwise from the top-left corner of its upright rectangle: the
    side nearest to the image's x axis is the top) and the mean kernel probability inside it."""

    box: np.ndarray
    score: float


def detect(
    model: Callable[[torch.Tensor], torch.Tensor], image: np.ndarray, config: DetectorConfig, settings: ReaderConfig
) -> tuple[list[Detection], np.ndarray]:
    """Line boxes in ``image``'s pixels, and the kernel-probability map they came from."""
    # Made small before it is made BGR: a grey 40 M pixel scan would take a 120 MB copy otherwise.
    small, scale = resize_for_detection(to_8bit(image), config.long_side)
    resized = as_bgr(small)
    with torch.inference_mode():
        probability = model(page_tensor([resized]))[0, 0].float().sigmoid().numpy()
    return boxes_from_map(probability, config, scale, settings), probability


def unclip_distance(width: float, height: float, ratio: float) -> float:
    """How far to grow a kernel of ``width`` x ``height`` back to its line: the positive root of
    D = (w + 2D)(h + 2D)(1 - r^2) / (2 (w + h + 4D)), the shrink rule solved for a rectangle."""
    c = 1 - ratio**2
    a, b = 8 - 4 * c, (2 - 2 * c) * (width + height)
    return float((-b + np.sqrt(b * b + 4 * a * c * width * height)) / (2 * a))


def upright_corners(rect: tuple) -> np.ndarray:
    """Corners of an OpenCV rotated rect, clockwise from the top-left, where 'top' is the side whose
    direction is nearest to the image's x axis (within 45 degrees)."""
    (cx, cy), (w, h), angle = rect
    theta = np.deg2rad(angle)
    axis_w = np.array([np.cos(theta), np.sin(theta)])  # direction of the rect's width side
    axis_h = np.array([-np.sin(theta), np.cos(theta)])
    right, across = (axis_w, h) if abs(axis_w[0]) >= abs(axis_h[0]) else (axis_h, w)
    along = w if across == h else h
    if right[0] < 0 or (right[0] == 0 and right[1] < 0):
        right = -right
    down = np.array([-right[1], right[0]])
    centre = np.array([cx, cy])
    half_r, half_d = right * along / 2, down * across / 2
    return np.float32(
        [centre - half_r - half_d, centre + half_r - half_d, centre + half_r + half_d, centre - half_r + half_d]
    )


def boxes_from_map(
    probability: np.ndarray, config: DetectorConfig, scale: float, settings: ReaderConfig
) -> list[Detection]:
    """``probability``: (H, W) kernel map at output resolution. ``scale``: the factor the input image
    was resized by before detection; boxes come back in the original image's pixels."""
    binary = (probability > config.binarise).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=4)
    to_image = config.output_stride / scale
    detections = []
    for index in range(1, count):
        x, y, w, h, area = stats[index]
        if area < 2:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == index)
        score = float(probability[ys + y, xs + x].mean())
        if score < config.min_score:
            continue
        points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
        for line in split_merged_lines(points, settings):
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(line)
            rw, rh = rw + 1, rh + 1  # pixel centres to pixel extents
            grow = unclip_distance(rw, rh, config.shrink_ratio)
            rw, rh = rw + 2 * grow, rh + 2 * grow
            if min(rw, rh) < config.min_size:
                continue
            # A map pixel covers ``output_stride`` input pixels: its centre is at (i + 0.5) * stride - 0.5.
            corners = upright_corners(((cx + 0.5, cy + 0.5), (rw, rh), angle))
            detections.append(Detection((corners * to_image - 0.5).astype(np.float32), score))
    return drop_specks(join_broken_lines(suppress_fragments(detections, settings), settings), settings)


def split_merged_lines(points: np.ndarray, settings: ReaderConfig) -> list[np.ndarray]:
    """The kernel pixels ``points`` (N x 2, x and y) of one connected component, split into one set
    per text line. Kernels of neighbouring lines touch where ascenders meet descenders, and such a
    component would become one box over several lines. Across the component's long axis, each line is
    a plateau of rows that most of its length covers (over ``split_plateau``); between two plateaus, a
    row that covers under ``split_depth`` times the lower plateau's peak is a gap bridged by a few
    pixels, and the component is cut there. Rows at a line's edges that only stray pixels cover are
    left out."""
    depth, plateau, trim = settings.split_depth, settings.split_plateau, settings.split_trim
    (_, _), (w, h), angle = cv2.minAreaRect(points)
    long_side = np.deg2rad(angle if w >= h else angle + 90)
    # The hull of a block of lines of unequal lengths tilts its rectangle: the lines' own direction is
    # the nearby angle whose row profile is sharpest.
    rows, cover = max(
        (_row_profile(points, long_side + np.deg2rad(turn)) for turn in np.arange(-3.0, 3.01, 0.5)),
        key=lambda profile: float(np.square(profile[1]).sum()),
    )
    cuts = []
    cores = np.flatnonzero(np.diff(np.r_[0, (cover >= plateau).astype(int), 0]))
    starts, ends = cores[::2], cores[1::2]  # runs of plateau rows, [start, end)
    for (a0, a1), (b0, b1) in itertools.pairwise(zip(starts, ends)):
        gap = a1 + int(np.argmin(cover[a1:b0]))
        if cover[gap] < depth * min(cover[a0:a1].max(), cover[b0:b1].max()):
            cuts.append(gap)
    # Each line keeps its own rows: those that only bridges or specks cover (under ``trim`` of the
    # line's peak) would thicken its box.
    edges = [0, *cuts, len(cover)]
    lines = []
    for top, bottom in itertools.pairwise(edges):
        band = cover[top:bottom]
        own = top + np.flatnonzero(band >= trim * band.max())
        lines.append(points[np.isin(rows, own)])
    return [line for line in lines if len(line) >= 2]


def _row_profile(points: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Each point's row across direction ``theta``, and the share of the length each row covers."""
    along = points @ np.float32([np.cos(theta), np.sin(theta)])
    across = points @ np.float32([-np.sin(theta), np.cos(theta)])
    rows = np.round(across - across.min()).astype(int)
    columns = np.round(along - along.min()).astype(int)
    length = columns.max() + 1
    covered = np.zeros((rows.max() + 1, length), bool)
    covered[rows, columns] = True
    return rows, covered.sum(axis=1) / length


def suppress_fragments(detections: list[Detection], settings: ReaderConfig) -> list[Detection]:
    """Drops boxes lying mostly (``fragment_share`` of their area) inside a larger box of about their
    own thickness: a line whose kernel broke into pieces grows each piece back to a box, and the small
    ones would be read twice. Lines inside a much thicker box (lines merged into one) are kept."""
    share, thickness = settings.fragment_share, settings.fragment_thickness
    areas = [abs(cv2.contourArea(d.box)) for d in detections]
    thick = [min(cv2.minAreaRect(d.box)[1]) for d in detections]
    lows = [d.box.min(axis=0) for d in detections]
    highs = [d.box.max(axis=0) for d in detections]
    kept = []
    for i, detection in enumerate(detections):
        inside = False
        for j, other in enumerate(detections):
            if j == i or areas[j] <= areas[i] or (lows[i] > highs[j]).any() or (lows[j] > highs[i]).any():
                continue
            if thick[i] < thickness * thick[j]:
                continue
            overlap, _ = cv2.intersectConvexConvex(detection.box, other.box)
            if overlap >= share * areas[i]:
                inside = True
                break
        if not inside:
            kept.append(detection)
    return kept


def drop_specks(detections: list[Detection], settings: ReaderConfig) -> list[Detection]:
    """Drops boxes both thinner than ``speck_thin`` and shorter than ``speck_short`` times the median
    thickness of the image's lines: blots between lines where the kernels of two lines almost met,
    which the recogniser would read as a bracket or a dot."""
    thin, short = settings.speck_thin, settings.speck_short
    if len(detections) < 3:
        return detections
    sides = [sorted(cv2.minAreaRect(d.box)[1]) for d in detections]
    # Measured on line-shaped boxes where there are some, as specks can be as many as lines.
    lines = [thickness for thickness, length in sides if length >= 2 * thickness] or [t for t, _ in sides]
    typical = float(np.median(lines))
    return [
        d
        for d, (thickness, length) in zip(detections, sides)
        if thickness >= thin * typical or length >= short * typical
    ]


def join_broken_lines(detections: list[Detection], settings: ReaderConfig) -> list[Detection]:
    """Joins boxes that meet end to end along the same line: a kernel broken at a wide gap (a
    full-width comma, a space in justified text) grows back into two boxes that overlap or nearly
    meet, and the glyph at the break would be cut in two. Two boxes are one line when their
    thicknesses agree (ratio over ``join_thickness``), their centres lie within ``join_level`` of the
    thinner one's thickness across the longer one's direction, their extents along it overlap or
    leave a gap under ``join_gap`` of that thickness, and the shorter one, if it is elongated at all,
    runs within ``join_parallel`` degrees of the same direction."""
    s = settings
    level, thickness, parallel, gap = s.join_level, s.join_thickness, s.join_parallel, s.join_gap
    while len(detections) > 1:
        rects = [cv2.minAreaRect(d.box) for d in detections]
        centres = np.float64([r[0] for r in rects])
        sides = np.float64([r[1] for r in rects])
        length, thick = sides.max(axis=1), sides.min(axis=1)
        theta = np.deg2rad([r[2] if r[1][0] >= r[1][1] else r[2] + 90 for r in rects])
        axes = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        # Pairs (i, j) measured in the frame of the longer box i.
        offset = centres[None, :, :] - centres[:, None, :]
        along = np.abs(np.einsum("ijk,ik->ij", offset, axes))
        across = np.abs(np.einsum("ijk,ik->ij", offset, np.stack([-axes[:, 1], axes[:, 0]], axis=1)))
        thinner, thicker = np.minimum(thick[:, None], thick[None, :]), np.maximum(thick[:, None], thick[None, :])
        aligned = np.abs(axes @ axes.T) >= np.cos(np.deg2rad(parallel))
        stubby = length < 1.5 * thick
        same = (
            (length[:, None] >= length[None, :])
            & (thinner >= thickness * thicker)
            & (across <= level * thinner)
            & (along < (length[:, None] + length[None, :]) / 2 + gap * thinner)
            & (aligned | stubby[None, :])
        )
        np.fill_diagonal(same, False)
        groups = _groups(same | same.T)
        if len(groups) == len(detections):
            break
        joined = []
        for members in groups:
            if len(members) == 1:
                joined.append(detections[members[0]])
                continue
            corners = np.concatenate([detections[k].box for k in members])
            score = max(detections[k].score for k in members)
            joined.append(Detection(upright_corners(cv2.minAreaRect(corners)).astype(np.float32), score))
        detections = joined
    return detections


def _groups(adjacent: np.ndarray) -> list[list[int]]:
    """Connected groups of a symmetric adjacency matrix, each in index order, by first member."""
    group = list(range(len(adjacent)))

    def root(k: int) -> int:
        while group[k] != k:
            group[k] = group[group[k]]
            k = group[k]
        return k

    for i, j in zip(*np.nonzero(np.triu(adjacent))):
        group[root(int(j))] = root(int(i))
    members: dict[int, list[int]] = {}
    for k in range(len(adjacent)):
        members.setdefault(root(k), []).append(k)
    return list(members.values())
