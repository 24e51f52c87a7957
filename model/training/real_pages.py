"""Real-document pages for the detector: the pages ``make documents`` wrote (``pages/*.json`` beside
their PNGs), as ``Page``s with their text lines and the places to ignore.

Which lines teach what: a line the layer labels and whose pixels agree is a text line; a line dropped
only for its characters (outside the charset, private-use, unmapped) still surrounds one visible
text line, so it is a text line too (``text_line`` in the JSON). A line dropped for its pixels (no
ink, ink outside its box, over a picture, overlapping another, turned, too thin) is ignored: the
detector is neither taught text nor background there. So is a horizontal line whose box is no wider
than tall (a single glyph, a table cell's digit, "i1"; 13 % of the train split's text lines): it looks
the same upright as turned a quarter, and taught as text it tells the detector that a turned line is a
row of separate glyphs (session 9's first real-page run, which taught them, broke turned lines into
characters). Real pages are captured upright; turned pages come from the renderer alone.

A page where many lines disagree with their pixels has a layer that is likely off as a whole (a
shifted or scaled text layer, text drawn as outlines with an invisible layer on top): its surviving
boxes are then off too, by less than the checks catch. Such pages are left out
(``MAX_MISMATCHED_SHARE``); of the 3,166 pages of ``make documents`` (seed 0) 1,968 remain.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.synth.pages import Page, PageLine, PageRenderer

# Drops that say the layer and the pixels disagree (``model.training.documents``'s reasons).
MISMATCHED = frozenset({"no_ink", "ink_outside_box", "overlap", "degenerate_box", "duplicate"})
# A page is used only if at most this share of its layer's lines disagree with its pixels.
MAX_MISMATCHED_SHARE = 0.1
# How real pages are captured: as the renderer captures its document pages (flat, scanned, photographed).
CAPTURE_AS = "document"
LAYOUT = "pdf"


class RealPagesError(RuntimeError):
    """The documents folder is missing or holds no page of the split."""


@dataclass(frozen=True)
class PageEntry:
    image: Path
    labels: Path


class RealPages:
    """The pages of one split (``train`` or ``validation``) of a folder written by ``make documents``
    whose layer agrees with its pixels (``MAX_MISMATCHED_SHARE``); ``left_out`` counts the others."""

    def __init__(self, folder: Path, split: str) -> None:
        pages = folder / "pages"
        if not pages.is_dir():
            raise RealPagesError(f"{pages} not found: write the folder with `make documents`")
        self.entries: list[PageEntry] = []
        self.left_out = 0
        for labels in sorted(pages.glob("*.json")):
            meta = json.loads(labels.read_text(encoding="utf-8"))
            if meta["split"] != split:
                continue
            mismatched = sum(line["dropped"] in MISMATCHED for line in meta["lines"])
            if mismatched <= MAX_MISMATCHED_SHARE * len(meta["lines"]):
                self.entries.append(PageEntry(pages / meta["image"], labels))
            else:
                self.left_out += 1
        if not self.entries:
            raise RealPagesError(f"{pages} holds no {split} page")

    def __len__(self) -> int:
        return len(self.entries)

    def page(self, index: int) -> Page:
        """Page ``index`` as rendered from its PDF (BGR), its text lines in the layer's order and the
        boxes to ignore."""
        entry = self.entries[index]
        image = cv2.imread(str(entry.image), cv2.IMREAD_COLOR)
        if image is None:
            raise RealPagesError(f"cannot read {entry.image}")
        meta = json.loads(entry.labels.read_text(encoding="utf-8"))
        lines, ignore = [], []
        for line in meta["lines"]:
            box = np.float32(line["box"])
            if line["text_line"] and (line["vertical"] or _wider_than_tall(box)):
                lines.append(PageLine(line["text"], box, bool(line["vertical"]), len(lines), line["kind"]))
            else:
                ignore.append(box)
        return Page(image, lines, LAYOUT, 0, np.stack(ignore) if ignore else np.zeros((0, 4, 2), np.float32))

    def fixed(self, count: int, seed: int) -> list[int]:
        """A reproducible choice of at most ``count`` page indices (validation, benchmarks)."""
        return sorted(random.Random(seed).sample(range(len(self)), min(count, len(self))))

    def reference(self, index: int) -> str:
        """Page ``index``'s text as its layer gives it: its text lines in the layer's order, one per
        line (what a reader of the page should return, where the producer wrote in reading order)."""
        meta = json.loads(self.entries[index].labels.read_text(encoding="utf-8"))
        return "\n".join(line["text"] for line in meta["lines"] if line["text_line"])

    def captured(self, index: int, renderer: PageRenderer, rng: random.Random) -> Page:
        """Page ``index`` captured as the renderer captures a document page (lighting, a scan's skew
        or a photo's perspective, then ``degrade``), upright; every box moves with it."""
        page = self.page(index)
        boxes = np.concatenate([np.float32([line.box for line in page.lines]).reshape(-1, 4, 2), page.ignore])
        rgb = cv2.cvtColor(page.image, cv2.COLOR_BGR2RGB)
        image, boxes = renderer.capture(rgb, boxes.astype(np.float32), CAPTURE_AS, rng)
        h, w = image.shape[:2]
        boxes = np.clip(boxes, 0, [w - 1, h - 1]).astype(np.float32)
        count = len(page.lines)
        lines = [PageLine(line.text, box, line.vertical, line.order, line.kind) for line, box in zip(page.lines, boxes)]
        return Page(image, lines, LAYOUT, 0, boxes[count:])


def _wider_than_tall(box: np.ndarray) -> bool:
    """Whether a box (4 corners, clockwise from top-left) is longer along its top edge than its left."""
    return bool(np.linalg.norm(box[1] - box[0]) > np.linalg.norm(box[3] - box[0]))
