"""Licence-plate lines for the recogniser from the labelled plate photos of the real training material
(``images/openalpr_*`` of ``../shared/data``), written as a lines folder that ``RealLines`` reads
like ``make documents``' (``lines.tsv`` with ``file``, ``text``, ``split``; grayscale crops).

A label names a plate's registration only, not the rest of what a plate prints (a state's name, a
slogan, a sticker's month): a whole plate under its registration's label would teach the recogniser
to skip text. So the registration's line is found by reading: the plate's region (a street photo's
labelled box, grown by ``margin``; a tight plate crop whole), enlarged to ``min_height``, is read
by the page reader of the committed models, and the detected line whose reading is nearest the label
is kept when at most ``max_distance`` of the label's characters differ; it is cut as the page reader
cuts a detected line, so training crops look like the serving crops. A plate with no such line is
counted, not kept: the reading chooses the crop, never the label, which stays the photo's own.

Plates are split by photo checksum with ``documents.split_of`` (about 10 % validation). ``python -m
model.training.plates --out data/plates`` (``make plates``) writes them; the recogniser mixes them in
with ``--plates DIR --plate-share F``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from model.inference.assemble import Checkpoints, load_reader
from model.inference.charset import Charset
from model.inference.preprocessing import to_gray
from model.inference.reader.crops import straighten, trim_to_ink
from model.inference.reader.pipeline import PageReader
from model.synth import alphabet
from model.training.documents import DocumentsError, data_dir, manifest_rows, split_of
from model.training.metrics import edit_distance, normalise
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS

log = logging.getLogger(__name__)

# The data sets of the manifest that hold plate photos, and how each labels them: a street photo has
# a ``<stem>.txt`` beside it (``file x y w h PLATE``), a tight crop a row of ``groundtruth.csv``.
PHOTOS = ("openalpr_eu_plates", "openalpr_us_plates_scene")
CROPS = "openalpr_us_plate_crops"
CROP_LABELS = "groundtruth.csv"
COLUMNS = ("file", "text", "split", "document", "page")


@dataclass(frozen=True)
class PlatesConfig:
    """Every setting of the extraction; written into ``manifest.json`` with the counts it gave."""

    # A street photo's box is drawn around the plate loosely or tightly by hand: reading a margin
    # around it lets the detector see the whole plate.
    margin: float = 0.25
    # Regions are enlarged to at least this height, so a plate of 30 px in a street photo reaches the
    # detector at the size of the text it was trained on.
    min_height: int = 128
    # The nearest reading may differ from the label in this share of its letters and digits and still
    # mark the registration's line (a misread 0/O); further off is another line, or a crop that cut
    # off part of the registration. Separators are not compared: labels leave out the hyphens,
    # spaces and dots plates print (as the evaluation's plate labels do).
    max_distance: float = 0.25
    validation_share: float = 0.1


@dataclass(frozen=True)
class Plate:
    """One labelled plate: ``image`` under the data folder, ``box`` (x, y, w, h) in the photo or None
    for a tight crop, ``text`` the registration."""

    name: str
    image: str
    sha256: str
    text: str
    box: tuple[int, int, int, int] | None
    source_repo: str
    licence: str


class PlatesError(RuntimeError):
    """Raised for a data folder without plate photos, or an output folder that is not empty."""


def read_plates(data: Path) -> list[Plate]:
    """The labelled plates of the manifest's plate data sets that are present under ``data``."""
    try:
        rows = manifest_rows(data)
    except DocumentsError as error:
        raise PlatesError(str(error)) from error
    images = {
        local: row
        for local, row in rows
        if row["dataset"] in (*PHOTOS, CROPS) and local.lower().endswith((".jpg", ".png"))
    }
    plates = []
    for local, row in sorted(images.items()):
        path = data / local
        if not path.is_file():
            continue
        labels = _labels(path, row["dataset"])
        for index, (text, box) in enumerate(labels):
            plates.append(
                Plate(
                    f"{row['dataset']}/{path.stem}" + (f"_{index}" if len(labels) > 1 else ""),
                    local,
                    row["sha256"].strip().lower(),
                    text,
                    box,
                    row["source_repo"],
                    row["licence"],
                )
            )
    if not plates:
        raise PlatesError(f"no labelled plate photo under {data}")
    return plates


def _labels(path: Path, dataset: str) -> list[tuple[str, tuple[int, int, int, int] | None]]:
    """A photo's plates: (registration, box) from its label file, or (registration, None) for a crop."""
    if dataset == CROPS:
        with (path.parent / CROP_LABELS).open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and row[0] == path.name]
        return [(rows[0][2].strip(), None)] if rows else []
    labels = path.with_suffix(".txt")
    if not labels.is_file():
        return []
    plates = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 6:
            x, y, w, h = (int(v) for v in fields[1:5])
            plates.append((" ".join(fields[5:]), (x, y, w, h)))
    return plates


def region(photo: np.ndarray, plate: Plate, config: PlatesConfig) -> np.ndarray:
    """The part of ``photo`` to read for ``plate``: its box grown by ``margin`` (or the whole crop),
    enlarged to ``min_height``."""
    if plate.box is not None:
        x, y, w, h = plate.box
        pad_x, pad_y = round(config.margin * w), round(config.margin * h)
        height, width = photo.shape[:2]
        photo = photo[max(0, y - pad_y) : min(height, y + h + pad_y), max(0, x - pad_x) : min(width, x + w + pad_x)]
    scale = config.min_height / max(1, photo.shape[0])
    if scale > 1:
        photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return photo


def registration_crop(
    image: np.ndarray, text: str, reader: PageReader, config: PlatesConfig
) -> tuple[np.ndarray | None, str]:
    """The crop of the line of ``image`` that reads nearest ``text`` and the reading, or None and the
    nearest reading where no line is within ``max_distance``."""
    result = reader.read_page(image)
    best, best_distance, best_text = None, float("inf"), ""
    for line in result["lines"]:
        distance = edit_distance(_letters_and_digits(line["text"]), _letters_and_digits(text))
        if distance < best_distance:
            best, best_distance, best_text = line, distance, line["text"]
    if best is None or best_distance > config.max_distance * len(_letters_and_digits(text)):
        return None, best_text
    crop = straighten(to_gray(image), np.float32(best["box"]), reader.settings.crop_margin)
    return trim_to_ink(crop, reader.settings), best_text


def _letters_and_digits(text: str) -> str:
    return "".join(c for c in normalise(text) if c.isalnum())


def build(
    out: Path,
    data: Path | None,
    seed: int,
    reader: PageReader,
    charset: Charset,
    config: PlatesConfig | None = None,
) -> dict:
    """Writes the plates' registration crops and ``lines.tsv`` into ``out``; returns ``manifest.json``'s content."""
    config = config or PlatesConfig()
    data = data_dir(data)
    if out.exists() and any(out.iterdir()):
        raise PlatesError(f"{out} is not empty")
    plates = read_plates(data)
    (out / "lines").mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    rows = []
    for plate in plates:
        if not all(c in charset for c in plate.text):
            counts["outside_charset"] += 1
            continue
        photo = cv2.imread(str(data / plate.image), cv2.IMREAD_COLOR)
        if photo is None:
            counts["unreadable_image"] += 1
            continue
        crop, reading = registration_crop(region(photo, plate, config), plate.text, reader, config)
        if crop is None:
            counts["no_matching_line"] += 1
            log.info("%s: no line near %r (nearest %r)", plate.name, plate.text, reading)
            continue
        split = split_of(plate.sha256, seed, config.validation_share)
        file = f"lines/{plate.name.replace('/', '_')}.png"
        cv2.imwrite(str(out / file), crop)
        rows.append({"file": file, "text": plate.text, "split": split, "document": plate.sha256[:12], "page": 0})
        counts[f"kept_{split}"] += 1
    with (out / "lines.tsv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=None)
        writer.writeheader()
        writer.writerows(rows)
    manifest = {
        "seed": seed,
        "charset": charset.version,
        "counts": dict(sorted(counts.items())),
        "settings": asdict(config),
        "sources": sorted({f"{p.source_repo} ({p.licence})" for p in plates}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; must be empty)")
    parser.add_argument("--data", type=Path, help="the real training material (default: ../shared/data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="recogniser that finds the lines")
    parser.add_argument("--detector", type=Path, default=DEFAULT_DETECTOR_WEIGHTS)
    parser.add_argument("--lm", type=Path, default=DEFAULT_LM)
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    reader = load_reader(Checkpoints(args.weights, args.detector, args.lm))
    manifest = build(args.out, args.data, args.seed, reader, alphabet.current())
    log.info("plates: %s", manifest["counts"])


if __name__ == "__main__":
    main(parse_args())
