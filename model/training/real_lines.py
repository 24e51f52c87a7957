"""Real line crops from a lines folder (``make documents``, ``make plates``) for the
recogniser: one split of its ``lines.tsv`` as samples shaped like the synthetic ones, and a training
stream that mixes a share of them into the synthetic lines.

Kept apart from ``line_data`` (synthetic lines only) because this side reads files: a folder, a TSV,
PNG crops and the extraction's manifest. It imports ``line_data``, never the other way round, so the
synthetic stream stays as it was. A real crop in training goes through the renderer's own capture
artefacts (``model.synth.render.degrade``, the same function and strength as for rendered lines) and
then the one ``preprocess``; its label is encoded with the charset as ``make_sample`` encodes a
rendered line's.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from model.inference.charset import Charset
from model.inference.config import PreprocessConfig
from model.inference.preprocessing import preprocess
from model.synth.corpus import Corpus
from model.synth.fonts import FontFace
from model.synth.render import LineRenderer, degrade
from model.training.line_data import Sample, SyntheticBatches, sorted_batches, worker_id

log = logging.getLogger("train")

# The kind of a real line in a Sample (the synthetic ones carry their corpus generator's name): a
# document's line (the documents' page JSON calls its lines the same) or a plate's registration.
REAL_KIND = "pdf"
PLATE_KIND = "plate"
# Columns of ``lines.tsv`` that are read (it has ``document`` and ``page`` too).
COLUMNS = ("file", "text", "split")
# A stream gives up after this many real lines in a row too wide for a batch: the folder cannot feed it.
MAX_WIDE_DRAWS = 1000


class RealLinesError(RuntimeError):
    """Raised for a documents folder without ``lines.tsv`` (or with other columns), an unreadable crop,
    or a split with no line the stream can use."""


@dataclass(frozen=True)
class RealLine:
    """One row of ``lines.tsv``: the crop's path (absolute, so that a worker needs no folder) and its label."""

    path: str
    text: str


class RealLines:
    """The lines of one split of a documents folder that the charset can encode.

    Rows with a character outside ``charset`` are skipped and counted (``skipped``): the folder may
    have been written under another alphabet than the one being trained.
    """

    def __init__(self, folder: Path, split: str, charset: Charset, kind: str = REAL_KIND) -> None:
        self.folder = folder
        self.split = split
        self.charset = charset
        self.kind = kind
        self.lines: list[RealLine] = []
        self.skipped = 0
        table = folder / "lines.tsv"
        if not table.is_file():
            raise RealLinesError(f"{table} not found: write the folder with `make documents`")
        # Unquoted: documents.py writes labels as they are, and a label may hold a quotation mark.
        with table.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = set(COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise RealLinesError(f"{table} lacks the columns {sorted(missing)}")
            for row in reader:
                if row["split"] != split:
                    continue
                if all(c in charset for c in row["text"]):
                    self.lines.append(RealLine(str(folder / row["file"]), row["text"]))
                else:
                    self.skipped += 1

    def __len__(self) -> int:
        return len(self.lines)

    def sample(
        self, index: int, config: PreprocessConfig, rng: random.Random | None = None, degradation: float = 1.0
    ) -> Sample:
        """Line ``index`` as a Sample; with ``rng``, through the synthetic lines' capture artefacts at
        ``degradation`` first (a clean crop of a born-digital page is easier than the lines the
        recogniser meets), without it as cut (validation)."""
        line = self.lines[index]
        gray = cv2.imread(line.path, cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise RealLinesError(f"cannot read the crop {line.path}")
        image = gray
        if rng is not None:
            # degrade works on BGR, as the renderer draws; the crop is gray, so its three channels agree.
            image = degrade(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), rng, degradation)
        return preprocess(image, config), self.charset.encode(line.text), line.text, self.kind


def read_manifest(folder: Path) -> dict[str, Any]:
    """What a checkpoint keeps of the folder's ``manifest.json``: the extraction seed, its charset and
    counts per split (``{}`` where the folder has no manifest)."""
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return {key: manifest[key] for key in ("seed", "charset", "counts") if key in manifest}


def fixed_real_samples(lines: RealLines, config: PreprocessConfig, seed: int, count: int) -> list[Sample]:
    """A reproducible subset of at most ``count`` lines, undegraded, sorted by width (so that the
    validation batches pad little; each line's reading does not depend on its batch)."""
    indices = sorted(random.Random(seed).sample(range(len(lines)), min(count, len(lines))))
    samples = [lines.sample(i, config) for i in indices]
    return sorted(samples, key=lambda s: s[0].shape[-1])


class MixedBatches(SyntheticBatches):
    """``SyntheticBatches`` with a share of each pool's lines drawn from real line folders instead.

    ``real`` pairs each folder's lines with its share: each pool of ``batch_size * pool`` lines holds
    ``round(share * size)`` lines of every folder and the rest rendered ones, sorted by width
    together, so padding stays as small as in the synthetic stream. The synthetic lines and the
    batch order come from the same per-worker seeded stream as ``SyntheticBatches``', the real lines
    (which line, its artefacts) from a second one per worker: shares of 0 therefore give exactly
    ``SyntheticBatches``' batches.
    """

    def __init__(
        self,
        charset: Charset,
        fonts: list[FontFace],
        preprocess_config: PreprocessConfig,
        seed: int,
        batch_size: int,
        real: Sequence[tuple[RealLines, float]],
        pool: int = 8,
        max_width: int = 1024,
        degradation: float = 1.0,
    ) -> None:
        super().__init__(charset, fonts, preprocess_config, seed, batch_size, pool, max_width, degradation)
        for lines, share in real:
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"a real share must be within [0, 1], not {share}")
            if share and not len(lines):
                raise RealLinesError(f"no usable {lines.split} line in {lines.folder}")
        if sum(share for _, share in real) > 1.0:
            raise ValueError("the real shares add up to more than 1")
        self.real = list(real)

    def __iter__(self) -> Iterator[dict]:
        worker = worker_id()
        rng = random.Random(self.seed * 1000 + worker)
        # A string seed is hashed with SHA-512: stable across runs and never one of the synthetic seeds.
        real_rng = random.Random(f"real-lines:{self.seed}:{worker}")
        corpus = Corpus(self.charset)
        renderer = LineRenderer(self.fonts, self.degradation)
        size = self.batch_size * self.pool
        counts = [(lines, round(share * size)) for lines, share in self.real]
        synthetic = size - sum(count for _, count in counts)
        while True:
            samples = self.synthetic_pool(corpus, renderer, rng, synthetic)
            for lines, count in counts:
                samples += self.real_pool(lines, real_rng, count)
            yield from sorted_batches(samples, self.batch_size, rng)

    def real_pool(self, lines: RealLines, rng: random.Random, count: int) -> list[Sample]:
        """``count`` degraded lines of ``lines`` no wider than ``max_width``, drawn with replacement from ``rng``."""
        samples: list[Sample] = []
        too_wide = 0
        while len(samples) < count:
            sample = lines.sample(rng.randrange(len(lines)), self.preprocess_config, rng, self.degradation)
            if sample[0].shape[-1] <= self.max_width:
                samples.append(sample)
                too_wide = 0
            else:
                too_wide += 1
                if too_wide >= MAX_WIDE_DRAWS:
                    raise RealLinesError(f"{lines.folder}: {too_wide} lines in a row wider than {self.max_width}")
        return samples
