"""Real training material from the text layers of born-digital PDFs (``../shared/data/pdfs``).

A PDF made by a word processor carries its own labels: render a page and take each text line's
characters and boxes from the same page. The layer is not trusted blindly: a line is kept only where
the text is one the recogniser can learn (no unmapped, private-use or control characters, nothing
outside the charset) and the pixels agree with it (ink inside its box, little ink around it that it
does not account for). Every line that is dropped is counted by reason.

Documents are split into train and validation by a hash of the seed and each document's sha256, so
a validation PDF is never trained on, whichever documents are added or left out.

Writes under ``--out``:

- ``lines/<doc>/p<page>_l<line>.png`` (grayscale line crops, cut and trimmed to the ink as the page
  reader cuts a detected line) and ``lines.tsv`` (file, text, document, page, split) for the
  recogniser;
- ``pages/<doc>_p<page>.png`` (the rendered page, BGR, as displayed: a page with /Rotate is turned
  and its boxes with it) and ``.json`` (every line of the layer in its order: text, 4-point box in
  page pixels, why it was dropped or null, its crop) for the detector and reading order; lines
  dropped for their text still mark real text lines (``text_line``), those dropped for their pixels
  are places a detector should neither learn from nor be punished for;
- ``manifest.json``: the seed, the settings, counts per split and per drop reason, and the documents
  of each split.

``python -m model.training.documents --out DIR [--data DIR] [--seed N] [--max-pages-per-doc N]
[--limit-docs N] [--validation-share F]``; the data folder is ``--data``, else ``$OCR_DATA_DIR``, else
``<repo>/../shared/data``.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import hashlib
import json
import logging
import math
import os
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from model.inference.charset import Charset, is_hanzi, latin_marks
from model.inference.config import ReaderConfig
from model.inference.reader.crops import straighten, trim_to_ink
from model.synth import alphabet
from model.training.paths import DEFAULT_DATA

log = logging.getLogger("documents")

DATA_ENV = "OCR_DATA_DIR"
# A line or page counts as Chinese ("zh") in the measurements when at least this share of its
# (normalised) characters are hanzi, else as Latin ("en").
HANZI_SHARE = 0.3
TRAIN, VALIDATION = "train", "validation"

# Why a page is skipped whole.
PAGE_PICTURES = "pictures"  # mostly pictures: a scan or a slide on a picture, whose text the layer may not hold
PAGE_NO_TEXT = "no_text"  # no characters in the layer
PAGE_NO_LINES = "no_lines"  # characters, but no line survived the checks
# Why a line is dropped, in the order they are checked (a line counts under the first that applies).
EMPTY = "empty"  # only whitespace after cleaning
ROTATED = "rotated"  # characters not upright: the crops and boxes here are for horizontal text
DEGENERATE = "degenerate_box"  # too small or thin to crop, or off the page
UNMAPPED = "unmapped"  # glyphs the layer cannot map to Unicode (U+FFFD, surrogates, PDFium's map errors)
PRIVATE_USE = "private_use"  # private-use code points: symbol fonts, icons, formula pieces
CONTROL = "control"  # control characters: bytes of a broken map, not anything drawn
OUTSIDE_CHARSET = "outside_charset"  # a character the recogniser cannot output
OVER_PICTURE = "over_picture"  # over a picture, whose pixels could be anything
NO_INK = "no_ink"  # the box is (nearly) blank: invisible or clipped text, white on white
INK_OUTSIDE = "ink_outside_box"  # the crop holds ink the line does not account for: a misplaced layer, missing glyphs
DUPLICATE = "duplicate"  # the same text drawn again over itself (shadows, fake bold)
OVERLAP = "overlap"  # two different lines over each other: neither crop is one line
# Dropped for its characters alone: the box still surrounds one visible text line.
TEXT_REASONS = (UNMAPPED, PRIVATE_USE, CONTROL, OUTSIDE_CHARSET)
# PDFium reports a hyphen that ends a line as U+0002 (or as the soft hyphen the document stores).
LINE_END_HYPHENS = ("\x02", "\xad")
# Characters the charset lacks that print as one it has (NFKC folds many more, see clean_text).
FOLD = str.maketrans({"\u2212": "-", "\u2010": "-", "\u2011": "-"})  # minus sign, hyphens


@dataclass(frozen=True)
class DocumentsConfig:
    """Every threshold of the extraction; written into ``manifest.json`` with the counts it gave."""

    # Rendering: each page at a resolution drawn from this range (seeded), so line heights vary as
    # in scans and photos; 150-200 dpi puts body text at 20-40 px, the recogniser's range.
    dpi: tuple[int, int] = (150, 200)
    # ... but no side longer than this many pixels (drawings and posters on A2 and larger).
    max_side: int = 4000
    validation_share: float = 0.1
    # Pictures: a page they cover more than this share of is skipped (a scan, a slide on a picture);
    # a line they cover more than ``max_picture_overlap`` of is dropped.
    max_picture_share: float = 0.5
    max_picture_overlap: float = 0.3
    # Grouping characters into lines (in units of the line's height): a character continues the line
    # when its vertical extent overlaps the line's by this share of the smaller height, and it starts
    # no further than ``max_gap`` to the right (table cells further apart are separate lines) or
    # ``max_backstep`` to the left (kerning, overprinted accents) of the line's last character.
    min_vertical_overlap: float = 0.5
    max_gap: float = 1.5
    max_backstep: float = 0.3
    # A gap this wide (of the line height) across one of PDFium's line breaks becomes a space.
    space_gap: float = 0.25
    # The same character over itself (this share of the smaller box) is one character drawn twice.
    duplicate_overlap: float = 0.7
    # Box for the detector: the characters' tight boxes grown by this share of the font height, as
    # the synthetic pages grow the ink's extent (model.synth.pages.core).
    box_pad: float = 0.06
    min_height_px: int = 6
    min_width_px: int = 3
    # Pixels: ink is what differs from the median of the box and its surroundings (``ink_margin`` of
    # its height above/below and left/right) by ``ink_contrast`` grey levels, table rules left out. A
    # line needs ``min_ink_share`` of its box inked and ink in ``min_ink_columns`` of its columns, and
    # at most ``max_outside_ink`` of the ink around it may lie outside its box (grown by
    # ``ink_slack`` px for anti-aliasing): more is a misplaced layer or glyphs it does not hold.
    ink_margin: tuple[float, float] = (0.12, 0.3)
    ink_contrast: int = 40
    min_ink_share: float = 0.03
    min_ink_columns: float = 0.3
    max_outside_ink: float = 0.15
    ink_slack: int = 2
    # Two lines overlapping by this share of the smaller box cannot both be cropped cleanly.
    max_line_overlap: float = 0.3
    # Line crops are cut as the page reader cuts a detected line (``reader.crops``: straightened
    # with ``crop_margin``, trimmed to the ink with ``trim_margin``), with these settings.
    reader: ReaderConfig = field(default_factory=ReaderConfig)


class DocumentsError(RuntimeError):
    """Raised for a missing data folder or manifest, or an output folder that is not empty."""


@dataclass(frozen=True)
class Document:
    """One PDF of the manifest: ``doc_id`` names its outputs, ``path`` is under the data folder."""

    doc_id: str
    path: str
    sha256: str
    source_repo: str
    licence: str


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels, y down


@dataclass(frozen=True)
class Frame:
    """Where PDF user space lands on the rendered page: the crop box (left, bottom, right, top in
    PDF units), the page's /Rotate (clockwise degrees, as PDFium renders it) and the scale."""

    crop: tuple[float, float, float, float]
    rotation: int
    scale: float

    @classmethod
    def of(cls, page: pdfium.PdfPage, dpi: int) -> Frame:
        return cls(tuple(page.get_cropbox()), page.get_rotation() % 360, dpi / 72)

    def point(self, x: float, y: float) -> tuple[float, float]:
        """A point of user space in page pixels."""
        left, bottom, right, top = self.crop
        u, v = (x - left) * self.scale, (top - y) * self.scale  # the page unturned, y down
        width, height = (right - left) * self.scale, (top - bottom) * self.scale
        if self.rotation == 90:
            return height - v, u
        if self.rotation == 180:
            return width - u, height - v
        if self.rotation == 270:
            return v, width - u
        return u, v

    def box(self, left: float, bottom: float, right: float, top: float) -> Box:
        """A rectangle of user space (PDFium's left, bottom, right, top) in page pixels."""
        (x0, y0), (x1, y1) = self.point(left, bottom), self.point(right, top)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


@dataclass
class Char:
    """One character of the layer in page pixels: its tight box (the glyph) and loose box (the
    font's ascent to descent, steadier for grouping), and whether it stands upright."""

    text: str
    tight: Box
    loose: Box
    upright: bool


@dataclass
class LayerLine:
    """A text line of the layer: ``box`` is the union of its glyphs, ``height`` the font's (the
    loose boxes'), both in page pixels."""

    raw: str = ""
    chars: list[Char] = field(default_factory=list)
    text: str = ""
    box: Box = (0.0, 0.0, 0.0, 0.0)
    height: float = 0.0
    reason: str | None = None

    @property
    def band(self) -> tuple[float, float]:
        """Vertical extent (top, bottom) of the loose boxes."""
        return min(c.loose[1] for c in self.chars), max(c.loose[3] for c in self.chars)


@dataclass
class Tally:
    """Counts of one document or one split."""

    documents: int = 0
    pages: int = 0
    lines: int = 0
    skipped_pages: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.documents += other.documents
        self.pages += other.pages
        self.lines += other.lines
        self.skipped_pages.update(other.skipped_pages)
        self.dropped.update(other.dropped)

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "pages": self.pages,
            "lines": self.lines,
            "skipped_pages": dict(sorted(self.skipped_pages.items())),
            "dropped": dict(sorted(self.dropped.items())),
        }


# --- documents and the split ---


def data_dir(explicit: Path | None = None) -> Path:
    """The data folder: ``explicit``, else ``$OCR_DATA_DIR``, else ``shared/data`` beside the repository."""
    if explicit is not None:
        return explicit
    return Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else DEFAULT_DATA


def manifest_rows(data: Path) -> list[tuple[str, dict[str, str]]]:
    """Every row of ``data/MANIFEST.tsv`` with the file's path under ``data`` (the ``local=`` that
    opens its notes)."""
    manifest = data / "MANIFEST.tsv"
    if not manifest.is_file():
        raise DocumentsError(f"no MANIFEST.tsv in {data}")
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row["notes"].split(";")[0].strip().removeprefix("local="), row) for row in rows]


def read_manifest(data: Path) -> list[Document]:
    """The PDFs listed in ``data/MANIFEST.tsv`` (data set ``pdf:...``), ordered by checksum so that
    ``--limit-docs`` takes an arbitrary but fixed sample rather than one repository's files."""
    documents = []
    for local, row in manifest_rows(data):
        if row["dataset"].startswith("pdf:") and local.lower().endswith(".pdf"):
            sha = row["sha256"].strip().lower()
            documents.append(Document(sha[:12], local, sha, row["source_repo"], row["licence"]))
    return sorted(documents, key=lambda d: d.sha256)


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``: the same on every machine and Python (unlike hash())."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(sha256: str, seed: int, validation_share: float = DocumentsConfig.validation_share) -> str:
    """The split of a document, by its checksum alone: adding or removing other documents never moves it."""
    return VALIDATION if unit_hash("split", seed, sha256) < validation_share else TRAIN


def page_dpi(document: Document, page: int, size: tuple[float, float], seed: int, config: DocumentsConfig) -> int:
    """The resolution a page of ``size`` (PDF units) is rendered at: drawn from ``config.dpi`` by
    seed, document and page, lowered where the page would exceed ``config.max_side`` pixels."""
    low, high = config.dpi
    dpi = low + math.floor(unit_hash("dpi", seed, document.sha256, page) * (high - low + 1))
    return max(1, min(dpi, math.floor(config.max_side * 72 / max(*size, 1.0))))


# --- the text layer ---


def page_skip_reason(page: pdfium.PdfPage, config: DocumentsConfig) -> str | None:
    """Why a whole page is unusable, or None."""
    width, height = page.get_size()
    pictures = sum(_area(_pdf_box(obj.get_bounds())) for obj in _pictures(page))
    if width * height <= 0 or pictures > config.max_picture_share * width * height:
        return PAGE_PICTURES
    return None


def _pictures(page: pdfium.PdfPage) -> Iterator[pdfium.PdfObject]:
    return page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])


def picture_boxes(page: pdfium.PdfPage, frame: Frame) -> list[Box]:
    """Where the page's pictures lie, in page pixels."""
    return [frame.box(*_pdf_box(obj.get_bounds())) for obj in _pictures(page)]


def _pdf_box(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    left, bottom, right, top = bounds
    return min(left, right), min(bottom, top), max(left, right), max(bottom, top)


def _area(box: tuple[float, ...]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def read_chars(textpage: pdfium.PdfTextPage, frame: Frame) -> Iterator[Char | str]:
    """The layer's characters in its order, placed on the page by ``frame``; whitespace (PDFium's
    generated spaces included) and line breaks come as the plain strings " " and "\\n", since their
    boxes mean nothing. A glyph PDFium could not map comes as U+FFFD."""
    codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, index) for index in range(textpage.count_chars())]
    for index in range(len(codes)):
        char = _code_point(codes, index)
        if char is None:
            continue  # the second half of a surrogate pair, already read with the first
        if char in "\r\n":
            yield "\n"
        elif char.isspace():
            yield " "
        else:
            tight, loose = _char_box(textpage, index, loose=False), _char_box(textpage, index, loose=True)
            if tight is None and loose is None:
                continue  # nowhere on the page: nothing to crop or box
            if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, index) == 1:
                char = "\ufffd"
            elif char in LINE_END_HYPHENS and pdfium_c.FPDFText_IsHyphen(textpage.raw, index) == 1:
                char = "-"  # what the page shows
            tight_px = frame.box(*(tight or loose))
            loose_px = frame.box(*(_usable(loose) or tight or loose))
            yield Char(char, tight_px, loose_px, _upright(textpage, index, frame, loose_px))


def _upright(textpage: pdfium.PdfTextPage, index: int, frame: Frame, loose: Box) -> bool:
    """Whether a glyph stands upright on the page.

    PDFium's character matrix and angle do not always describe the glyph as drawn (text in a form
    of an IRS test file reads as turned by 180 degrees, and the angle counts an italic's slant as
    a turn), but a baseline off the axes (a diagonal watermark) does show in the matrix. Which of
    the four quarter turns a glyph is in is judged on the page: its origin, the start of its
    baseline, lies in the left half and the lower half of its font box only when it is upright
    (halves, not the corner, leave room for italic overhangs).
    """
    matrix = pdfium_c.FS_MATRIX()
    if pdfium_c.FPDFText_GetMatrix(textpage.raw, index, matrix):
        angle = math.atan2(matrix.b, matrix.a)
        if abs((angle + math.pi / 4) % (math.pi / 2) - math.pi / 4) > 0.035:  # 2 degrees off the axes
            return False
    x, y = ctypes.c_double(), ctypes.c_double()
    width, height = loose[2] - loose[0], loose[3] - loose[1]
    if not pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, x, y) or width <= 0 or height <= 0:
        return True  # nothing to judge by: the pixel checks still judge the line
    ox, oy = frame.point(x.value, y.value)
    return (ox - loose[0]) / width < 0.5 and (loose[3] - oy) / height < 0.5


def _code_point(codes: list[int], index: int) -> str | None:
    """Character ``index`` of the layer: PDFium gives UTF-16 code units, so a character outside the
    BMP (mathematical letters) is a surrogate pair over two indices; None for the pair's second half."""
    code = codes[index]
    if 0xDC00 <= code < 0xE000 and index > 0 and 0xD800 <= codes[index - 1] < 0xDC00:
        return None
    if 0xD800 <= code < 0xDC00 and index + 1 < len(codes) and 0xDC00 <= codes[index + 1] < 0xE000:
        return chr(0x10000 + ((code - 0xD800) << 10) + codes[index + 1] - 0xDC00)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else "\ufffd"


def _char_box(textpage: pdfium.PdfTextPage, index: int, loose: bool) -> tuple[float, float, float, float] | None:
    try:
        box = textpage.get_charbox(index, loose=loose)
    except pdfium.PdfiumError:
        return None
    return _pdf_box(box)


def _usable(box: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
    """A box with height, else None (some fonts declare no ascent or descent)."""
    return box if box is not None and box[3] - box[1] > 1e-3 else None


def group_lines(items: Iterator[Char | str], config: DocumentsConfig) -> list[LayerLine]:
    """Characters grouped into lines by position, in the layer's order.

    PDFium's own line breaks are a hint, not the rule: it breaks at every raised or lowered piece
    (a superscript degree sign splits "80 °C" into three lines), and it runs the cells of a table
    row into one line. A character continues the current line when it sits on the same band and
    just to the right of the line's last character; otherwise it starts a new line.
    """
    lines: list[LayerLine] = []
    current: LayerLine | None = None
    space = crossed_break = False
    for item in items:
        if item == "\n":
            crossed_break = True
            continue
        if item == " ":
            space = True
            continue
        assert isinstance(item, Char)
        if current is not None and _same_glyph(current.chars[-1], item, config):
            continue  # drawn twice over itself (fake bold): one character on the page
        gap = _continues(current, item, crossed_break, config) if current is not None else None
        if current is None or gap is None:
            current = LayerLine()
            lines.append(current)
        elif space or (crossed_break and gap > config.space_gap):
            current.raw += " "
        current.raw += item.text
        current.chars.append(item)
        space = crossed_break = False
    return lines


def _continues(line: LayerLine, char: Char, crossed_break: bool, config: DocumentsConfig) -> float | None:
    """The gap from ``line`` to ``char`` in line heights when ``char`` continues it, else None."""
    last = line.chars[-1]
    if not (char.upright and last.upright):
        # Turned text: the layer's own breaks are the only lines we can trust; such lines are dropped anyway.
        return None if crossed_break or char.upright != last.upright else 0.0
    top, bottom = line.band
    height = bottom - top
    char_height = char.loose[3] - char.loose[1]
    overlap = min(bottom, char.loose[3]) - max(top, char.loose[1])
    if overlap < config.min_vertical_overlap * min(height, char_height):
        return None
    # Ink to ink: loose boxes of full-width punctuation overlap what follows (compressed CJK punctuation).
    gap = (char.tight[0] - last.tight[2]) / max(height, 1e-6)
    return gap if -config.max_backstep <= gap <= config.max_gap else None


def _same_glyph(a: Char, b: Char, config: DocumentsConfig) -> bool:
    if a.text != b.text:
        return False
    inter = _area(_intersection(a.tight, b.tight))
    smaller = min(_area(a.tight), _area(b.tight))
    return smaller > 0 and inter >= config.duplicate_overlap * smaller


# --- text ---


def clean_text(raw: str, charset: Charset) -> tuple[str, str | None]:
    """The label for a line's raw layer text, and why it cannot be one (None when it can).

    Format characters (zero-width spaces and joiners, soft hyphens inside a line) draw nothing and
    are left out. A character the charset lacks is replaced by its compatibility form where that
    is in the charset (ligatures, full-width Latin, Kangxi radicals that some CJK fonts map to,
    no-break spaces) — the same folding scoring applies (``model.training.metrics``) — or by the
    character it prints as (``FOLD``). Spaces between two wide (CJK) characters are layout, not
    text; a line without hanzi reads 。 and 、 as . and ,, as the synthetic labels do (``latin_marks``).
    """
    reason = _bad_character(raw)
    if reason is not None:
        return "", reason
    out = []
    for char in raw.translate(FOLD):
        if unicodedata.category(char) == "Cf":
            continue
        if char in charset:
            out.append(char)
            continue
        folded = unicodedata.normalize("NFKC", char)
        if not folded or any(c not in charset for c in folded):
            return "", OUTSIDE_CHARSET
        out.append(folded)
    text = " ".join("".join(out).split())
    text = "".join(c for i, c in enumerate(text) if not (c == " " and _wide(text[i - 1]) and _wide(text[i + 1])))
    return (latin_marks(text), None) if text else ("", EMPTY)


def _bad_character(raw: str) -> str | None:
    categories = [unicodedata.category(c) for c in raw]
    if "\ufffd" in raw or "Cs" in categories or "Cn" in categories:
        return UNMAPPED
    if "Co" in categories:
        return PRIVATE_USE
    if "Cc" in categories:
        return CONTROL
    return None


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


# --- pixels ---


def render(page: pdfium.PdfPage, dpi: int) -> np.ndarray:
    """The page as BGR uint8 (H, W, 3), without annotations or form fields: the layer does not hold
    their text, so drawing them would put unlabelled text on the page."""
    bitmap = page.render(scale=dpi / 72, draw_annots=False, may_draw_forms=False)
    try:
        image = bitmap.to_numpy()
        return np.ascontiguousarray(image[:, :, :3] if image.ndim == 3 else np.dstack([image] * 3))
    finally:
        bitmap.close()


def place(line: LayerLine) -> None:
    """Sets ``line.box`` (the union of its glyphs) and ``line.height`` (the font's height)."""
    boxes = [c.tight for c in line.chars if _area(c.tight) > 0] or [c.loose for c in line.chars]
    line.box = min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
    top, bottom = line.band
    line.height = bottom - top


def geometry_reason(line: LayerLine, size: tuple[int, int], config: DocumentsConfig) -> str | None:
    """Why a placed line cannot be boxed or cropped: turned, too small, or off the page."""
    if not all(c.upright for c in line.chars):
        return ROTATED
    x0, y0, x1, y1 = line.box
    width, height = size
    if y1 - y0 < config.min_height_px or x1 - x0 < config.min_width_px:
        return DEGENERATE
    if x0 < -1 or y0 < -1 or x1 > width + 1 or y1 > height + 1:
        return DEGENERATE
    return None


def line_crop(gray: np.ndarray, line: LayerLine, config: DocumentsConfig) -> np.ndarray:
    """The recogniser's crop of a line: its detector box cut and trimmed as the page reader cuts a
    detected line, so real crops look like the ones the recogniser is given when serving."""
    corners = np.float32(quad(line.box, config.box_pad * line.height))
    return trim_to_ink(straighten(gray, corners, config.reader.crop_margin), config.reader)


def ink_reason(gray: np.ndarray, box: Box, config: DocumentsConfig) -> str | None:
    """Whether the pixels agree with a line: ink inside its box, and little ink around it outside it."""
    height, width = gray.shape
    x0, y0, x1, y1 = max(0, round(box[0])), max(0, round(box[1])), min(width, round(box[2])), min(height, round(box[3]))
    pad_y, pad_x = (round(share * (y1 - y0)) for share in config.ink_margin)
    rx0, ry0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
    region = gray[ry0 : y1 + pad_y, rx0 : x1 + pad_x].astype(np.int16)
    # Ink is whatever differs from the background (the median), dark on light or light on dark.
    ink = np.abs(region - int(np.median(region))) > config.ink_contrast
    inner = ink[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
    if inner.size == 0 or inner.mean() < config.min_ink_share or inner.any(axis=0).mean() < config.min_ink_columns:
        return NO_INK
    # Table rules beside a cell are not missing text (the page reader leaves them out too).
    ink[:, ink.mean(axis=0) > config.reader.rule_fill] = False
    ink[ink.mean(axis=1) > config.reader.rule_fill, :] = False
    slack = config.ink_slack
    near = ink[max(0, y0 - ry0 - slack) : y1 - ry0 + slack, max(0, x0 - rx0 - slack) : x1 - rx0 + slack]
    outside = int(ink.sum()) - int(near.sum())
    return INK_OUTSIDE if outside > config.max_outside_ink * ink.sum() else None


def picture_reason(box: Box, pictures: list[Box], config: DocumentsConfig) -> str | None:
    """A line over a picture: its ink check would pass on the picture's pixels whatever they show."""
    covered = sum(_area(_intersection(box, picture)) for picture in pictures)
    return OVER_PICTURE if covered > config.max_picture_overlap * _area(box) else None


def _intersection(a: Box, b: Box) -> Box:
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def mark_overlaps(lines: list[LayerLine], config: DocumentsConfig) -> None:
    """Drops lines that lie over one another: a repeat of the same text (shadow, fake bold) is a
    duplicate, two different lines are both unusable (neither crop holds one line). Lines dropped
    already count too: a decimal point the layer stores after its number is a tiny line of its own
    inside the number's box, which then does not say what its crop shows. Turned text does not:
    its upright box is no outline (a diagonal watermark's spans half the page) and its strokes
    across a line leave the line's text as it is."""
    placed = [line for line in lines if line.reason not in (EMPTY, ROTATED)]
    placed.sort(key=lambda line: line.box[1])  # top to bottom, so each line meets only those beside it
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if b.box[1] >= a.box[3]:
                break
            smaller = min(_area(a.box), _area(b.box))
            if smaller <= 0 or _area(_intersection(a.box, b.box)) <= config.max_line_overlap * smaller:
                continue
            if a.raw == b.raw:
                if a.reason is None:  # keep the copy that passed its checks
                    b.reason = b.reason or DUPLICATE
            else:
                a.reason = a.reason or OVERLAP
                b.reason = b.reason or OVERLAP


def quad(box: Box, pad: float) -> list[list[float]]:
    """4 corners clockwise from the top-left, grown by ``pad`` pixels, as the synthetic pages write them."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    return [[round(x, 2), round(y, 2)] for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


# --- one page, one document, the whole set ---


def page_lines(
    page: pdfium.PdfPage,
    textpage: pdfium.PdfTextPage,
    frame: Frame,
    gray: np.ndarray,
    charset: Charset,
    config: DocumentsConfig,
) -> list[LayerLine]:
    """Every line of a page's layer with its label, page-pixel box and drop reason (None: kept);
    ``gray`` is the page rendered in ``frame``."""
    lines = group_lines(read_chars(textpage, frame), config)
    size = (gray.shape[1], gray.shape[0])
    pictures = picture_boxes(page, frame)
    for line in lines:
        place(line)
        line.text, reason = clean_text(line.raw, charset)
        if reason == EMPTY:
            line.reason = EMPTY
            continue
        line.reason = (
            geometry_reason(line, size, config)
            or reason
            or picture_reason(line.box, pictures, config)
            or ink_reason(gray, line.box, config)
        )
    mark_overlaps(lines, config)
    return lines


def line_name(document: Document, page: int, order: int) -> str:
    """A line crop's path under the output folder; ``order`` is the line's index in the layer."""
    return f"lines/{document.doc_id}/p{page:04d}_l{order:04d}.png"


class Writer:
    """The output folder: line crops and ``lines.tsv`` (tab-separated, unquoted: a label never holds
    a tab or a line break), page images and their JSON."""

    def __init__(self, out: Path) -> None:
        if out.exists() and any(out.iterdir()):
            raise DocumentsError(f"{out} is not empty: write each extraction to a fresh folder")
        (out / "pages").mkdir(parents=True, exist_ok=True)
        (out / "lines").mkdir(exist_ok=True)
        self.out = out
        self._tsv = (out / "lines.tsv").open("w", encoding="utf-8")
        self._tsv.write("file\ttext\tdocument\tpage\tsplit\n")

    def line(self, crop: np.ndarray, document: Document, page: int, order: int, text: str, split: str) -> None:
        name = line_name(document, page, order)
        (self.out / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(self.out / name), crop)
        self._tsv.write(f"{name}\t{text}\t{document.doc_id}\t{page}\t{split}\n")

    def page(self, image: np.ndarray, record: dict) -> None:
        stem = self.out / "pages" / Path(record["image"]).stem
        cv2.imwrite(str(stem.with_suffix(".png")), image)
        stem.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")

    def close(self) -> None:
        self._tsv.close()


@dataclass
class Run:
    """What every page of one extraction shares."""

    writer: Writer
    charset: Charset
    config: DocumentsConfig
    seed: int
    max_pages: int | None


def extract_page(run: Run, page: pdfium.PdfPage, document: Document, number: int, split: str, tally: Tally) -> None:
    """Renders one page, writes its kept line crops, and its image and JSON when any line was kept."""
    textpage = page.get_textpage()
    try:
        skip = page_skip_reason(page, run.config) or (PAGE_NO_TEXT if textpage.count_chars() == 0 else None)
        if skip is not None:
            tally.skipped_pages[skip] += 1
            return
        dpi = page_dpi(document, number, page.get_size(), run.seed, run.config)
        image = render(page, dpi)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        lines = page_lines(page, textpage, Frame.of(page, dpi), gray, run.charset, run.config)
    finally:
        textpage.close()
    tally.dropped.update(line.reason for line in lines if line.reason is not None)
    kept = [(order, line) for order, line in enumerate(lines) if line.reason is None]
    if not kept:
        tally.skipped_pages[PAGE_NO_LINES] += 1
        return
    size = (image.shape[1], image.shape[0])
    for order, line in kept:
        run.writer.line(line_crop(gray, line, run.config), document, number, order, line.text, split)
    tally.pages += 1
    tally.lines += len(kept)
    run.writer.page(image, page_record(lines, document, number, split, dpi, size, run.config))


def page_record(
    lines: list[LayerLine],
    document: Document,
    number: int,
    split: str,
    dpi: int,
    size: tuple[int, int],
    config: DocumentsConfig,
) -> dict:
    """A page's JSON, shaped like the synthetic pages' (``model.synth.pages``) plus, per line, why
    it was dropped (null: kept) and ``text_line``: whether its box surely holds one visible text
    line (kept, or dropped only for its characters), which a detector may learn from; ``text`` is
    the label where the line was kept, the layer's raw text otherwise."""
    return {
        "image": f"{document.doc_id}_p{number:04d}.png",
        "document": document.doc_id,
        "page": number,
        "split": split,
        "dpi": dpi,
        "width": size[0],
        "height": size[1],
        "layout": "pdf",
        "rotation": 0,
        "lines": [
            {
                "text": line.text if line.reason is None else line.raw,
                "box": quad(line.box, config.box_pad * line.height),
                "vertical": False,
                "order": order,
                "kind": "pdf",
                "dropped": line.reason,
                "text_line": line.reason in (None, *TEXT_REASONS),
                "crop": line_name(document, number, order) if line.reason is None else None,
            }
            for order, line in enumerate(lines)
            if line.reason != EMPTY
        ],
    }


def extract_document(run: Run, pdf: pdfium.PdfDocument, document: Document, split: str) -> Tally:
    """Extracts the first ``run.max_pages`` pages of one PDF, and closes it; returns its counts."""
    tally = Tally(documents=1)
    try:
        for number in range(min(len(pdf), run.max_pages) if run.max_pages else len(pdf)):
            page = pdf[number]
            try:
                extract_page(run, page, document, number, split, tally)
            finally:
                page.close()
    finally:
        pdf.close()
    return tally


def build(
    out: Path,
    data: Path | None = None,
    seed: int = 0,
    max_pages_per_doc: int | None = None,
    limit_docs: int | None = None,
    config: DocumentsConfig | None = None,
) -> dict:
    """Extracts the PDFs of the manifest into ``out``; returns what ``manifest.json`` holds."""
    config = config or DocumentsConfig()
    data = data_dir(data)
    documents = read_manifest(data)
    documents = documents[:limit_docs] if limit_docs else documents
    tallies = {TRAIN: Tally(), VALIDATION: Tally()}
    listed: dict[str, list[dict]] = {TRAIN: [], VALIDATION: []}
    unreadable: list[str] = []
    run = Run(Writer(out), alphabet.current(), config, seed, max_pages_per_doc)
    try:
        for document in documents:
            split = split_of(document.sha256, seed, config.validation_share)
            try:
                pdf = pdfium.PdfDocument(data / document.path)
            except (pdfium.PdfiumError, OSError) as err:
                log.warning("%s: unreadable (%s)", document.path, err)
                unreadable.append(document.path)
                continue
            tally = extract_document(run, pdf, document, split)
            tallies[split].add(tally)
            counts = {key: value for key, value in tally.to_json().items() if key != "documents"}
            listed[split].append({**asdict(document), **counts})
            log.info(
                "%s %s: %d lines on %d pages (%s)", split, document.doc_id, tally.lines, tally.pages, document.path
            )
    finally:
        run.writer.close()
    manifest = {
        "seed": seed,
        "charset": run.charset.version,
        "max_pages_per_doc": max_pages_per_doc,
        "limit_docs": limit_docs,
        "config": asdict(config),
        "counts": {split: tally.to_json() for split, tally in tallies.items()},
        "unreadable": unreadable,
        "documents": listed,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def script_category(text: str, kind: str = "document") -> str:
    """``"<kind> zh"`` or ``"<kind> en"``: how measurements split real-document text by script."""
    hanzi = sum(is_hanzi(char) for char in text if not char.isspace())
    return f"{kind} zh" if hanzi >= HANZI_SHARE * max(1, sum(not c.isspace() for c in text)) else f"{kind} en"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; must be empty)")
    parser.add_argument(
        "--data", type=Path, help=f"data folder with MANIFEST.tsv (default: ${DATA_ENV} or {DEFAULT_DATA})"
    )
    parser.add_argument("--seed", type=int, default=0, help="fixes the split and each page's resolution")
    parser.add_argument("--max-pages-per-doc", type=int, help="only the first N pages of each PDF")
    parser.add_argument("--limit-docs", type=int, help="only the first N PDFs (by checksum)")
    parser.add_argument("--validation-share", type=float, default=DocumentsConfig.validation_share)
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = DocumentsConfig(validation_share=args.validation_share)
    manifest = build(args.out, args.data, args.seed, args.max_pages_per_doc, args.limit_docs, config)
    for split, counts in manifest["counts"].items():
        log.info("%s: %s", split, json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    main(parse_args())
