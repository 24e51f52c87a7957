"""Reading order of the text lines found on one upright page (issue 4).

Lines are read top to bottom and left to right with columns kept apart: a column of running text is
finished before the next one starts, while a table (or a receipt's item and price, or a list row's
title and time) is read row by row. Vertical Chinese is read top to bottom, columns right to left.

The method is a recursive XY-cut on the lines' extents: a block of lines is cut at the whitespace
that crosses it completely, horizontally (bands, read top to bottom) or vertically (parts, read left
to right), and every piece is cut again; a block that nothing crosses is read by rows (``_rows``).
XY-cut needs no training and no font-size thresholds, is fast (a page of 300 lines takes about 20 ms
in numpy), and its mistakes are easy to see. What it needs on real pages:

* Skew. A scan is a few degrees off and a photo adds perspective, so the extents of long lines
  overlap their neighbours'. Every block is first mapped into its own frame, estimated from its
  boxes' edges (``_deskew``); what skew is left is absorbed by shrinking every extent by a fifth of
  its line's thickness before gaps are looked for, and rows are formed by comparing lines along their
  own slope (``_Block.offset``) rather than by their extents.
* Vertical text. A block of mostly vertical lines is turned a quarter (x, y -> y, -x), which makes
  its columns, read top to bottom and right to left, into lines read left to right and top to bottom;
  the same code then serves both.
* Which cut first. Cutting every horizontal band first would read text columns straight across
  whenever their lines happen to be level, so consecutive bands that a vertical gap runs through are
  kept together as one region (``_regions``) and cut again as a whole. When a block can be cut both
  ways, its parts are read as columns unless they line up in rows (``_columns``): a part of short
  lines (cells, prices, times) nearly all level with lines of its neighbours is a table with them
  and read by rows. Running text is never taken for cells: short columns of it may well be level all
  the way down (lines on a common grid), but its lines are long.
* Ruled rows. Horizontal rules that run across all the lines (``_ruled_bands``, found in the image
  by ``model.inference.reader.rules``) cut the page into bands before anything else: the rows of a form, whose
  label sits centred beside several lines of its value and level with none, stay together.
* Headings and footers. A heading over columns is read first, whether it reaches across a gutter
  (``_bridging``) or sits centred over the middle one of three columns (``_headings``); a short
  centred footer (a page number) under columns is read last.

The rules were tuned on the synthetic pages of ``model/synth/pages`` (see ``tests/model/test_order.py``
for the measured accuracy); every step only regroups indices, so the result is always a permutation
of ``range(len(boxes))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.inference.config import ReaderConfig


def reading_order(
    boxes: np.ndarray, vertical: Sequence[bool], settings: ReaderConfig, rules: np.ndarray | None = None
) -> list[int]:
    """The permutation of line indices in reading order.

    ``boxes``: (N, 4, 2) quadrilaterals in page pixels (x right, y down) on an upright page, clockwise
    from corner 0 where the text starts; ``vertical[i]``: line i is a column of upright characters;
    ``rules``: (M, 2, 2) segments of ruled lines on the same page (``model.inference.reader.rules``), if known.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4, 2)
    flags = np.asarray(vertical, bool).reshape(-1)
    if len(flags) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but {len(flags)} vertical flags")
    rules = np.zeros((0, 2, 2)) if rules is None else np.asarray(rules, np.float64)
    bands = _ruled_bands(boxes, rules, settings)
    return [i for band in bands for i in _order(boxes, flags, band, settings)]


def _ruled_bands(boxes: np.ndarray, rules: np.ndarray, settings: ReaderConfig) -> list[np.ndarray]:
    """The lines in bands between horizontal rules that run across all of them (``rule_span`` of
    their width) without crossing any, top to bottom: a form's rows, a table's, the header and footer
    of a page. A label centred beside several lines of its value is read with them, however level."""
    everything = [np.arange(len(boxes))]
    if not len(boxes) or not len(rules):
        return everything
    left, right = boxes[..., 0].min(), boxes[..., 0].max()
    slack = (1 - settings.rule_span) * (right - left)
    (x0, y0), (x1, y1) = rules[:, 0].T, rules[:, 1].T
    across = (np.abs(y1 - y0) <= settings.max_slope_rule * np.abs(x1 - x0)) & (np.minimum(x0, x1) <= left + slack)
    across &= np.maximum(x0, x1) >= right - slack
    if not across.any():
        return everything
    (x0, y0), (x1, y1) = rules[across, 0].T, rules[across, 1].T
    cx, top, bottom = boxes[..., 0].mean(axis=1), boxes[..., 1].min(axis=1), boxes[..., 1].max(axis=1)
    # Each rule's height under each line's centre: (lines, rules).
    at = y0 + (cx[:, None] - x0) * (y1 - y0) / np.where(x1 != x0, x1 - x0, 1.0)
    crossed = ((top[:, None] < at) & (at < bottom[:, None])).any(axis=0)
    above = (at[:, ~crossed] < ((top + bottom) / 2)[:, None]).sum(axis=1)
    return [np.flatnonzero(above == band) for band in np.unique(above)]


def _order(boxes: np.ndarray, vertical: np.ndarray, idx: np.ndarray, settings: ReaderConfig) -> list[int]:
    """The lines ``idx`` of one block in reading order: cut, then each part in turn."""
    if len(idx) < 2:
        return [int(i) for i in idx]
    block = _Block(boxes[idx], vertical[idx], settings)
    bands = _split(block.y0, block.y1, block.thick, settings.order_shrink)  # stacked parts, top to bottom
    parts = _split(block.x0, block.x1, block.thick, settings.order_shrink)  # side-by-side parts, left to right
    if len(bands) == 1 and len(parts) == 1:
        return [int(idx[k]) for k in _rows(block)]
    if len(bands) == 1:
        cut = parts
    elif top := _bridging(bands, len(parts), block):
        cut = [*bands[:top], np.concatenate(bands[top:])]
    elif len(parts) == 1:
        cut = _regions(bands, block)
    else:
        cut = _headings(bands, parts, block)
        if len(cut) == 1:
            cut = _columns(parts, block)
            if sum(len(column) > 1 or bool(block.crosswise[column].all()) for column in cut) < 2:
                # Parts that line up in rows, or hardly any column (more than one line, or a line
                # set across the block's lines, as a horizontal title over vertical columns): read
                # by rows, which follow the lines' slope where the bands of a skewed table do not.
                return [int(idx[k]) for k in _rows(block)]
    return [i for group in cut for i in _order(boxes, vertical, idx[group], settings)]


def _deskew(boxes: np.ndarray) -> np.ndarray:
    """The corners in the block's own frame. Every box edge runs roughly along the page's x or its y
    (the page is upright): the edges nearer x, turned to point right, are summed into the page's x
    axis, the others, turned to point down, into its y axis (sums, so long edges weigh most and the
    corners' order does not matter); the boxes are then mapped so that these axes become x and y.
    A frame more than 30 degrees off, or a degenerate one, leaves the boxes as they are."""
    edges = (np.roll(boxes, -1, axis=1) - boxes).reshape(-1, 2)
    along_x = np.abs(edges[:, 0]) >= np.abs(edges[:, 1])
    across = (edges[along_x] * np.sign(edges[along_x, :1])).sum(axis=0)
    down = (edges[~along_x] * np.sign(edges[~along_x, 1:])).sum(axis=0)
    lengths = np.hypot(*across), np.hypot(*down)
    if min(lengths) <= 1e-6:
        return boxes
    across, down = across / lengths[0], down / lengths[1]
    limit = np.cos(np.deg2rad(30))
    if across[0] < limit or down[1] < limit:
        return boxes
    return boxes @ np.linalg.inv(np.stack([across, down], axis=1)).T


class _Block:
    """The geometry of a block's lines in the block's reading frame: deskewed by the block's own
    boxes, and for a block of mostly vertical lines turned a quarter (x, y -> y, -x), so that its
    columns read right to left become lines read top to bottom. Per line: extents (x0, x1, y0, y1),
    centre (cx, cy), slope dy/dx of the text (0 for a line across the block's direction, ``crosswise``),
    length and thickness (height of a horizontal line, width of a vertical one)."""

    def __init__(self, boxes: np.ndarray, vertical: np.ndarray, settings: ReaderConfig) -> None:
        self.settings = settings
        points = _deskew(boxes)
        turned = 2 * np.count_nonzero(vertical) > len(vertical)
        if turned:
            points = np.stack([points[..., 1], -points[..., 0]], axis=-1)
        self.x0, self.y0 = points.min(axis=1).T
        self.x1, self.y1 = points.max(axis=1).T
        self.cx, self.cy = points.mean(axis=1).T
        rightwards = (points[:, 1] - points[:, 0] + points[:, 2] - points[:, 3]) / 2  # edges 0-1, 3-2
        downwards = (points[:, 3] - points[:, 0] + points[:, 2] - points[:, 1]) / 2  # edges 0-3, 1-2
        # Along the text: rightwards for a horizontal line, downwards (before turning) for a column.
        along = np.where(vertical[:, None], downwards, rightwards)
        across = np.where(vertical[:, None], rightwards, downwards)
        self.length = np.hypot(along[:, 0], along[:, 1])
        self.thick = np.maximum(np.hypot(across[:, 0], across[:, 1]), 1e-6)
        self.crosswise = vertical != turned  # a horizontal line in a block of columns, or vice versa
        lengthwise = ~self.crosswise & (np.abs(along[:, 0]) > 1e-6)
        self.slope = np.where(lengthwise, along[:, 1] / np.where(lengthwise, along[:, 0], 1.0), 0.0)
        self.slope = np.clip(self.slope, -settings.max_slope, settings.max_slope)

    def offset(self, k: int, others: np.ndarray) -> np.ndarray:
        """How far line ``k`` lies below each of ``others`` across the text: the difference of their
        centres measured along the slope of the longer line of each pair (skew and perspective tilt
        lines that sit side by side; neither comparison of extents nor of plain centres is fair)."""
        slope = np.where(self.length[others] >= self.length[k], self.slope[others], self.slope[k])
        return self.cy[k] - self.cy[others] - slope * (self.cx[k] - self.cx[others])

    def overlap(self, k: int, others: np.ndarray) -> np.ndarray:
        """How far line ``k`` and each of ``others``, brought level (``offset``), overlap across the
        text, as a share of the thinner one's thickness (1: one spans the other; 0 or less: apart)."""
        thick = self.thick[others]
        room = (self.thick[k] + thick) / 2 - np.abs(self.offset(k, others))
        return np.minimum(room, np.minimum(self.thick[k], thick)) / np.minimum(self.thick[k], thick)

    def level(self, k: int, others: np.ndarray, share: float) -> np.ndarray:
        """Which of ``others`` are level with line ``k``: overlapping by ``share`` (``overlap``)."""
        return self.overlap(k, others) >= share


def _split(low: np.ndarray, high: np.ndarray, thick: np.ndarray, shrink: float) -> list[np.ndarray]:
    """The lines grouped by the gaps in their extents' projection onto one axis, in ascending order;
    one group when no gap crosses the block. Extents are shrunk first (``ReaderConfig.order_shrink``)."""
    margin = np.minimum(shrink * thick, 0.45 * (high - low))
    low, high = low + margin, high - margin
    sort = np.argsort(low, kind="stable")
    reach = np.maximum.accumulate(high[sort])
    breaks = np.flatnonzero(low[sort][1:] > reach[:-1]) + 1
    return np.split(sort, breaks)


def _bridging(bands: list[np.ndarray], count: int, block: _Block) -> int:
    """How many top bands (at most ``header_lines`` lines in all) hold a heading that reaches across
    a gutter of the columns below it: without them the rest falls into more than ``count`` parts,
    and one of their lines runs well into two neighbouring ones. Such a heading would join the columns'
    first lines into a region of their own (``_regions``), or make a sidebar and the main column one
    part, unless it is cut off first."""
    lines = 0
    for top in range(1, len(bands)):
        lines += len(bands[top - 1])
        if lines > block.settings.header_lines:
            break
        rest = np.concatenate(bands[top:])
        parts = _split(block.x0[rest], block.x1[rest], block.thick[rest], block.settings.order_shrink)
        if len(parts) <= count:
            continue
        # Reaching across: a line of the heading runs a line's height into the parts on both sides.
        reach = np.median(block.thick[rest])
        right = np.asarray([block.x1[rest[part]].max() for part in parts[:-1]]) - reach
        left = np.asarray([block.x0[rest[part]].min() for part in parts[1:]]) + reach
        for k in np.concatenate(bands[:top]):
            if np.any((block.x0[k] <= right) & (left <= block.x1[k])):
                return top
    return 0


def _regions(bands: list[np.ndarray], block: _Block) -> list[np.ndarray]:
    """Consecutive bands merged, from the top, into regions that a vertical gap runs through: the
    rows of a table, or the lines of text columns that happen to be level, stay together (and are
    cut again as a whole) instead of being read straight across the columns."""
    regions = [bands[0]]
    for band in bands[1:]:
        union = np.concatenate([regions[-1], band])
        if len(_split(block.x0[union], block.x1[union], block.thick[union], block.settings.order_shrink)) > 1:
            regions[-1] = union
        else:
            regions.append(band)
    return regions


def _rows(block: _Block) -> list[int]:
    """Lines that no gap separates, read by rows. Taken top to bottom by centre, a line joins the
    row (of the last few) holding the nearest line level with it (``row_level``), unless it overlaps
    one of the row's lines side to side; rows top to bottom, each left to right."""
    rows: list[list[int]] = []
    for k in np.argsort(block.cy, kind="stable"):
        best, distance = None, np.inf
        for row in rows[-block.settings.row_lookback :]:
            members = np.asarray(row)
            margin = block.settings.order_shrink * np.minimum(block.thick[k], block.thick[members])
            apart = (block.x1[k] - margin <= block.x0[members]) | (block.x1[members] - margin <= block.x0[k])
            if not apart.all():
                continue
            nearest = members[np.argmin(np.abs(block.cx[members] - block.cx[k]))]
            offset = abs(float(block.offset(int(k), np.asarray([nearest]))[0]))
            if block.level(int(k), np.asarray([nearest]), block.settings.row_level)[0] and offset < distance:
                best, distance = row, offset
        if best is None:
            rows.append([int(k)])
        else:
            best.append(int(k))
    # Rows top to bottom by where their lines cross the block's middle, along each line's slope.
    middle = (block.x0.min() + block.x1.max()) / 2
    height = block.cy + block.slope * (middle - block.cx)
    rows.sort(key=lambda row: float(np.mean(height[row])))
    return [k for row in rows for k in sorted(row, key=lambda j: float(block.x0[j]))]


def _columns(parts: list[np.ndarray], block: _Block) -> list[np.ndarray]:
    """Side-by-side parts grouped into columns read one after the other: parts whose lines line up
    in rows (a table's columns, a receipt's prices beside its items, a list's times beside its
    titles) belong together and are read row by row; independent columns (running text, a
    sidebar) stay apart. A part joins the parts it lines up with, and all parts between, when it
    holds cells (not running text) of which at least ``table_share`` are level (``table_level``)
    with lines of those parts, or ``cells_share`` when those parts hold cells too. Running text
    (``_running_text``) is left out because short columns of it may well be level all along; short
    lines level with another part's nearly every time are rare by chance. Every table has a column
    of short cells (numbers, prices, dates, codes)."""
    owner = np.empty(len(block.x0), int)
    for p, part in enumerate(parts):
        owner[part] = p
    running = [_running_text(part, block) for part in parts]
    joined = np.zeros(len(parts), bool)  # joined[p]: part p is read together with part p + 1
    for p, part in enumerate(parts):
        if running[p]:
            continue
        if len(part) < 2:
            continue  # a lone line (a label, a speck in a picture) shows no rows to line up with
        others = np.flatnonzero(owner != p)
        # Each line's partner in the nearest part that has one (a chance partner further away, in a
        # sidebar say, must not pull that in too).
        hosts = []
        for k in part:
            found = owner[others[block.level(int(k), others, block.settings.table_level)]]
            if len(found):
                hosts.append(int(found[np.argmin(np.abs(found - p))]))
        share = block.settings.table_share if any(running[host] for host in hosts) else block.settings.cells_share
        if len(hosts) >= share * len(part):
            joined[min(p, *hosts) : max(p, *hosts)] = True
    columns = [parts[0]]
    for p in range(1, len(parts)):
        if joined[p - 1]:
            columns[-1] = np.concatenate([columns[-1], parts[p]])
        else:
            columns.append(parts[p])
    return columns


def _running_text(lines: np.ndarray, block: _Block) -> bool:
    """Whether most of the lines' text, in thicknesses, is in lines ``text_line`` thicknesses or
    longer, set one under the other as a paragraph's are (at most ``paragraph_pitch`` thicknesses
    apart, median): long lines far apart are the dates or titles beside a list's entries."""
    size = block.length[lines] / block.thick[lines]
    if size[size >= block.settings.text_line].sum() < block.settings.running_share * size.sum():
        return False
    if len(lines) < 2:
        return True
    centres = np.sort(block.cy[lines])
    return bool(np.median(np.diff(centres)) <= block.settings.paragraph_pitch * np.median(block.thick[lines]))


def _centred(lines: np.ndarray, block: _Block) -> bool:
    """Whether lines are centred on the block: their middles within ``centred`` of its width."""
    left, right = block.x0.min(), block.x1.max()
    middles = (block.x0[lines] + block.x1[lines]) / 2
    return bool(np.all(np.abs(middles - (left + right) / 2) <= block.settings.centred * (right - left)))


def _footer(lines: np.ndarray, block: _Block) -> bool:
    """Whether lines could be a page's footer (a page number): centred and short (at most
    ``footer_width`` of the block's width)."""
    short = block.x1[lines] - block.x0[lines] <= block.settings.footer_width * (block.x1.max() - block.x0.min())
    return _centred(lines, block) and bool(np.all(short))


def _headings(bands: list[np.ndarray], parts: list[np.ndarray], block: _Block) -> list[np.ndarray]:
    """Headings and footers cut off a block of columns: from the top, centred bands that each lie
    within one column, at most ``header_lines`` lines in all, while some column starts below them
    (a short title over the middle one of three columns); from the bottom, bands of at most
    ``footer_lines`` lines in all that could be a footer (``_footer``) while some column ends above
    them (a page number under the middle column). Each such band on its own, the rest as one band."""
    column = np.empty(len(block.x0), int)
    for p, part in enumerate(parts):
        column[part] = p
    top, lines, held = 0, 0, set()
    while top + 1 < len(bands):
        band = bands[top]
        lines, held = lines + len(band), held | set(column[band])
        if (
            lines > block.settings.header_lines
            or len(set(column[band])) > 1
            or not _centred(band, block)
            or len(held) == len(parts)
        ):
            break
        top += 1
    bottom, lines, held = len(bands), 0, set()
    while bottom - 1 > top:
        band = bands[bottom - 1]
        lines, held = lines + len(band), held | set(column[band])
        if lines > block.settings.footer_lines or not _footer(band, block) or len(held) == len(parts):
            break
        bottom -= 1
    return [*bands[:top], np.concatenate(bands[top:bottom]), *bands[bottom:]]
