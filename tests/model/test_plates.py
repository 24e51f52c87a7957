"""Plate lines for the recogniser (``model.training.plates``): the labelled plates of a data folder
read from its manifest, and each plate's registration found by reading it with the committed models,
on made-up plates that also print other text."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model.inference.assemble import Checkpoints, load_reader
from model.inference.reader.pipeline import PageReader
from model.synth import alphabet
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from model.training.plates import PlatesConfig, PlatesError, build, read_plates, region, registration_crop
from model.training.real_lines import RealLines
from tests.helpers import render_plate

HEADER = "kind\tdataset\tsource_repo\tcommit\tpath_in_repo\tsha256\tbytes\tlicence\tnotes"


@pytest.fixture(scope="module")
def reader() -> PageReader:
    torch.set_num_threads(2)
    return load_reader(Checkpoints(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM))


def write_data(folder: Path) -> Path:
    """A data folder with a street photo (its plate boxed in a label file), a tight crop (labelled in
    ``groundtruth.csv``), a PDF row and a listed photo that is missing."""
    rows = [HEADER]

    def add(dataset: str, local: str, content: bytes) -> None:
        if content:
            (folder / local).parent.mkdir(parents=True, exist_ok=True)
            (folder / local).write_bytes(content)
        sha = hashlib.sha256(content or local.encode()).hexdigest()
        rows.append(f"B\t{dataset}\tsome/repo\t0\t{local}\t{sha}\t1\tMIT\tlocal={local}; a photo")

    street = np.full((400, 600, 3), 90, np.uint8)
    street[150:306, 150:470] = render_plate("KJ482T", "OREGON")
    add("openalpr_eu_plates", "images/openalpr_eu_plates/car1.jpg", cv2.imencode(".jpg", street)[1].tobytes())
    (folder / "images/openalpr_eu_plates/car1.txt").write_text("car1.jpg\t150\t150\t320\t156\tKJ482T\n")
    add(
        "openalpr_us_plate_crops",
        "images/openalpr_us_plate_crops/or1.png",
        cv2.imencode(".png", render_plate("7QX305", "NEVADA"))[1].tobytes(),
    )
    (folder / "images/openalpr_us_plate_crops/groundtruth.csv").write_text("or1.png,or,7QX305\nor2.png,or,AAA111\n")
    add("openalpr_us_plate_crops", "images/openalpr_us_plate_crops/or2.png", b"")  # listed, not present
    add("pdf:some/repo", "pdfs/a.pdf", b"%PDF-1.4")
    (folder / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_the_manifest_gives_each_present_photo_its_labelled_plates(tmp_path):
    plates = read_plates(write_data(tmp_path))
    assert [(p.name, p.text, p.box) for p in plates] == [
        ("openalpr_eu_plates/car1", "KJ482T", (150, 150, 320, 156)),
        ("openalpr_us_plate_crops/or1", "7QX305", None),
    ]
    assert plates[0].licence == "MIT" and len(plates[0].sha256) == 64
    with pytest.raises(PlatesError, match="MANIFEST"):
        read_plates(tmp_path / "nowhere")


def test_a_boxed_plate_is_read_with_a_margin_and_enlarged(tmp_path):
    data = write_data(tmp_path)
    street, crop = read_plates(data)
    photo = cv2.imread(str(data / street.image))
    config = PlatesConfig(margin=0.25, min_height=312)
    part = region(photo, street, config)
    # 156 px and a quarter above and below (39 px each), enlarged to 312 rows.
    assert part.shape[0] == 312 and part.shape[1] == pytest.approx((320 + 2 * 80) * 312 / 234, abs=2)
    whole = cv2.imread(str(data / crop.image))
    assert region(whole, crop, PlatesConfig(min_height=64)).shape == whole.shape  # never shrunk


def test_the_line_read_nearest_the_label_is_cut_and_other_text_is_not(reader):
    image = render_plate("7QX305", "NEVADA")
    crop, reading = registration_crop(image, "7QX305", reader, PlatesConfig())
    assert crop is not None and "7QX305" in reading.replace(" ", "")
    # The registration's line, not the state's: as tall as its 64-px glyphs, none of the name's rows.
    assert 40 <= crop.shape[0] <= 90 and crop.shape[1] > 3 * crop.shape[0]
    none, nearest = registration_crop(image, "ZZZZZZ", reader, PlatesConfig())
    assert none is None and nearest


def test_make_plates_writes_a_lines_folder_the_recogniser_reads(tmp_path, reader):
    data = write_data(tmp_path / "data")
    manifest = build(tmp_path / "out", data, seed=0, reader=reader, charset=alphabet.current())
    kept = manifest["counts"].get("kept_train", 0) + manifest["counts"].get("kept_validation", 0)
    assert kept == 2 and manifest["sources"] == ["some/repo (MIT)"]
    with (tmp_path / "out" / "lines.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert sorted(row["text"] for row in rows) == ["7QX305", "KJ482T"]
    split = {row["split"] for row in rows}
    lines = RealLines(tmp_path / "out", split.pop(), alphabet.current(), "plate")
    assert lines.sample(0, reader.recogniser.config)[3] == "plate"
    with pytest.raises(PlatesError, match="not empty"):
        build(tmp_path / "out", data, seed=0, reader=reader, charset=alphabet.current())
