"""Every setting of the models and the page reader, in one place.

``ModelConfig`` (with its ``PreprocessConfig``) and ``DetectorConfig`` are stored inside their
checkpoints, so the handler and evaluation rebuild exactly the preprocessing and networks that
training used. ``BeamConfig`` and ``ReaderConfig`` hold what was tuned with the weights; the archive
build writes them next to the model configs and the handler reads them back, so a retrained model
ships its own settings. Serving limits (pixels, body size, timeouts) are not here: they belong to
the deployment (``archive/model-config.yaml``, the gateway's environment).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PreprocessConfig:
    """How an image becomes the network's input tensor."""

    height: int = 32
    min_width: int = 32
    # Long lines are squeezed rather than cut, so nothing is silently lost.
    max_width: int = 1600
    # Width is padded to a multiple of the network's horizontal stride.
    width_multiple: int = 4
    # Percentiles used to stretch contrast; robust to a few specks of dirt.
    contrast_low_pct: float = 1.0
    contrast_high_pct: float = 99.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelConfig:
    """CRNN hyper-parameters; the charset size is added at build time."""

    # Output channels of the six 3x3 convolutions of the VGG-style feature extractor.
    conv_channels: tuple[int, ...] = (32, 64, 96, 96, 160, 160)
    lstm_hidden: int = 128
    lstm_layers: int = 2
    dropout: float = 0.1
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        data["conv_channels"] = tuple(data["conv_channels"])
        preprocess = dict(data.get("preprocess", {}))
        # Checkpoints up to session 7 carried the serving pixel limit here; it is the deployment's now.
        preprocess.pop("max_pixels", None)
        data["preprocess"] = PreprocessConfig(**preprocess)
        return cls(**data)


@dataclass(frozen=True)
class BeamConfig:
    """CTC beam search with the character language model (``model.inference.decoding.BeamDecoder``): how much
    the language model's opinion weighs against the network's. The weights were chosen on the
    seeded synthetic validation set, never on the real lines (see the model card)."""

    # Weight of the language model's log probability (shallow fusion).
    lm_weight: float = 0.2
    # Bonus per character read: without it the language model would favour dropping characters.
    length_bonus: float = 1.0
    # Bonus for each English word of the language model's lexicon that a reading completes, per unit
    # of the word's Zipf frequency ("is" 7.1, "surface" 4.8, "ls" 3.7; unknown words 0).
    word_bonus: float = 0.5
    # Prefixes kept after each frame ...
    beam_width: int = 8
    # ... unless they trail the best by more than this (natural log): confident lines keep one or two.
    beam_gap: float = 6.0
    # Classes a frame offers: those at least this probable. With the weights above, a class under
    # a hundredth of its frame's mass practically never wins, and every class offered costs time.
    min_prob: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DetectorConfig:
    """The DB (differentiable binarisation) text-line detector: network widths, training targets and
    how probability maps become boxes. Stored in the detector's checkpoint like ``ModelConfig``."""

    # Output channels of the stem and the four stages (strides 2, 4, 8, 16, 32) of the backbone.
    channels: tuple[int, ...] = (16, 24, 40, 80, 128)
    # Width of the feature pyramid; each of its four levels contributes a quarter at stride 4.
    pyramid_channels: int = 64
    # Maps come out at half the input resolution: thin lines of small print keep a few pixels.
    output_stride: int = 2
    # A line's target kernel is its box shrunk by D = area * (1 - r^2) / perimeter; 0.6 rather than
    # DB's 0.4 because the maps are at half resolution and small print would shrink to nothing.
    shrink_ratio: float = 0.6
    # Threshold-map targets lie in [low, high] near box borders (DB's values).
    threshold_low: float = 0.3
    threshold_high: float = 0.7
    # Inference: the input's long side is scaled to this (a multiple of 32; small images are not
    # enlarged), pixels above ``binarise`` form kernels, kernels scoring under ``min_score`` or
    # thinner than ``min_size`` map pixels are dropped.
    long_side: int = 1280
    binarise: float = 0.3
    min_score: float = 0.5
    min_size: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        data = dict(data)
        data["channels"] = tuple(data["channels"])
        return cls(**data)


@dataclass(frozen=True)
class ReaderConfig:
    """Every threshold of the page reader (``model.inference.reader``) and of the detector's box
    post-processing (``model.inference.detection``). They were tuned with the committed weights, on
    synthetic pages and the real validation pages; each line says why a value is what it is. Lengths
    are shares of a line's height (its thickness) unless a comment says otherwise."""

    # --- mode and orientation (reader.pipeline) ---
    # In "auto" mode an image at most this high is one line ...
    line_max_height: int = 48
    # ... and so is one at most line_shape[0] px high and line_shape[1] times as wide as high.
    line_shape: tuple[int, float] = (160, 2.5)
    # A box at least this elongated in the upright frame is a column of upright characters.
    vertical_aspect: float = 1.5
    # Boxes this elongated count as wide or tall when the page's turn is guessed: mostly wide, the
    # page is upright or upside down; mostly tall, vertical text or a quarter-turned page.
    orientation_aspect: float = 2.0
    # A reading is expected to hold this many characters per line thickness of its length: a turned
    # or mirrored line decodes to a few confident characters, or none, and scores in proportion.
    chars_per_thickness: float = 0.5
    # Orientation is voted by this many of the page's longest lines.
    orientation_sample: int = 8
    # Lines reading below this confidence are tried upside down too.
    retry_confidence: float = 0.6
    # Most images are upright: another turn must read better by this much (mean score) to win, so that
    # lines the detector merged, which read badly every way, do not turn a page over; a single line
    # retried upside down must win by as much.
    upright_preference: float = 0.1
    # An upright reading this good is taken without trying the other turns (they cost a reading each).
    upright_accept: float = 0.8
    # Mostly wide lines that read this badly both upright and upside down may be columns of vertical
    # text on a page turned by a quarter: the quarter turns are tried too.
    quarter_retry: float = 0.5
    # Lines of at most noise_length characters read less confidently than noise_confidence are left
    # out: nearly all are pictures, halftone and specks read as one or two random characters (0.5 is
    # RapidOCR's default text score; 0.3 let session 7's recogniser keep specks read as • and 8).
    noise_confidence: float = 0.5
    noise_length: int = 3
    # Lines of any length read less confidently than this are left out too: a reading that unsure is
    # mostly wrong characters (a halftone read as a row of rare hanzi), rarely a line worth keeping.
    unreadable_confidence: float = 0.25

    # --- recognition batches (reader.recognise) ---
    # Lines recognised in one forward pass.
    batch_size: int = 16
    # A batch's widest line is at most this many times its narrowest: batching only by count padded
    # a page's short lines to the long ones (30 lines of an A4 page: 0.73 s; these batches 0.53 s).
    width_spread: float = 1.3

    # --- line crops (reader.crops) ---
    # Context taken around a detected line, before trimming to the ink.
    crop_margin: float = 0.05
    # Background left around the ink after trimming, above/below and left/right: the recogniser was
    # trained on crops whose glyphs fill most of the height.
    trim_margin: tuple[float, float] = (0.12, 0.3)
    # Rows or columns this full of ink are rules (table borders, underlines), not text.
    rule_fill: float = 0.7
    # Between a line's body and a crop edge that ink runs into, the emptiest row is where a
    # neighbouring line touches this one if it holds under touch_neck of the fullest row's ink, and
    # the ink beyond rises again to touch_sliver of it over at least touch_spread of the body's width
    # (the bowl of a lone g under a short word does not).
    touch_neck: float = 0.1
    touch_sliver: float = 0.15
    touch_spread: float = 0.5
    # Space between the cells of a vertical column laid out as a line, in column widths.
    restack_gap: float = 0.25
    # A vertical column is cut into cells at the pitch in this range of column widths that crosses
    # the least ink (CJK cells are about square; punctuation and Latin runs make them vary) ...
    restack_pitch: tuple[float, float] = (0.8, 1.6)
    # ... and pieces shorter than this share of the width are slivers between cuts, not cells.
    restack_min_cell: float = 0.2

    # --- list markers the detector left out (reader.markers) ---
    # How far before a line a marker may stand (a tab after a bullet is about two line heights).
    marker_reach: float = 2.0
    # A marker's width and height: bigger than a full stop, smaller than a glyph.
    marker_size: tuple[float, float] = (0.15, 0.6)
    # Share of its bounding box that a marker's ink fills: solid dots and squares, not letter strokes.
    marker_fill: float = 0.5
    # How far its centre may lie from the middle of the line.
    marker_level: float = 0.25

    # --- ruled lines (reader.rules) ---
    # Rules are at least this share of the image's side long ...
    rule_min_length: float = 0.15
    # ... and at most this share of it thick: thicker runs are filled panels or pictures.
    rule_max_thickness: float = 0.01
    # Local threshold: a pixel is ink when this much darker than the mean of its window (pixels).
    rule_ink_offset: int = 15
    rule_ink_window: int = 15
    # Rules are looked for at this long side at most (a thin rule stays darker than its paper when
    # averaged down; an A4 page at full size took ~0.1 s).
    rule_long_side: int = 800

    # --- reading order (reader.order) ---
    # Each extent is shrunk by this share of its line's thickness on both sides before gaps are looked
    # for: neighbours on a skewed page that overlap by under ~40 % of a line's height count as apart.
    order_shrink: float = 0.2
    # Lines side by side are in one row when, brought level along the text's slope, they overlap
    # across the text by this share of the thinner one's thickness; a row is looked for among the
    # last row_lookback rows.
    row_level: float = 0.5
    row_lookback: int = 4
    # Side-by-side parts are rows of a table when in some part table_share of the lines are level
    # with a line of another part by the stricter table_level ...
    table_share: float = 0.8
    table_level: float = 0.7
    # ... or cells_share, when those parts hold cells too: spanning cells and receipts photographed
    # in perspective leave many lines unmatched, while a sidebar beside running text lines up with
    # its lines by chance about half the time.
    cells_share: float = 0.5
    # Running text: running_share of a part's text (in line thicknesses, about characters) is in lines
    # at least text_line thicknesses long; table cells, prices and times are mostly shorter ...
    running_share: float = 0.5
    text_line: float = 8
    # ... and its lines' centres are at most this many thicknesses apart (median): long lines far
    # apart are the dates or titles beside a list's entries.
    paragraph_pitch: float = 3
    # Steepest slope (dy/dx) believed of a line in its block's frame, after deskewing.
    max_slope: float = 0.3
    # A horizontal rule (slope at most max_slope_rule) separates rows when it spans this share of the
    # width of all the lines.
    rule_span: float = 0.9
    max_slope_rule: float = 0.05
    # Heading or footer over columns: at most this many lines above (below) the band.
    header_lines: int = 3
    footer_lines: int = 2
    # Centred lines have their middle within this share of the block's width of its middle.
    centred: float = 0.05
    # A footer (page number) is centred and at most this share of the block's width.
    footer_width: float = 0.2

    # --- detector boxes (detection) ---
    # One kernel over several lines is cut between two plateaus of rows (rows covering over
    # split_plateau of the length) where a row covers under split_depth of the lower plateau's peak;
    # rows under split_trim of a line's peak are stray pixels, not the line.
    split_depth: float = 0.35
    split_plateau: float = 0.5
    split_trim: float = 0.15
    # A box lying fragment_share inside a larger box of about its thickness (ratio over
    # fragment_thickness) is a piece of a broken kernel, read twice otherwise.
    fragment_share: float = 0.5
    fragment_thickness: float = 0.6
    # Boxes thinner than speck_thin and shorter than speck_short of the median line thickness are
    # blots between lines, which the recogniser would read as a bracket or a dot.
    speck_thin: float = 0.4
    speck_short: float = 1.0
    # Boxes meeting end to end are one line when their thicknesses agree (ratio over join_thickness),
    # centres lie within join_level of the thinner's thickness across, the gap along is under
    # join_gap of it, and the shorter runs within join_parallel degrees. Synthetic validation F1 (40
    # pages): 0.874 without joining, 0.931 joining overlaps only, 0.944 with gap 0.3, 0.940 with 0.6.
    join_level: float = 0.3
    join_thickness: float = 0.7
    join_parallel: float = 15.0
    join_gap: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReaderConfig:
        """Tuples come back from JSON as lists."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
