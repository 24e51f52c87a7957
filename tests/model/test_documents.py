"""Real-document data from PDF text layers (model/training/documents.py): the lines and boxes of a
hand-written PDF, the drop reasons, the text cleaning, the split by document, and the CLI's output."""

import json
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from model.synth import alphabet
from model.training import documents
from model.training.documents import DocumentsConfig
from tests.pdfs import text_page, text_pdf, write_pdf

# A ToUnicode map that gives three codes of a second font what broken layers give: "A" a
# private-use code point, "B" a letter outside the charset (Cyrillic Zhe), "C" a control character.
CMAP = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <00> <FF> endcodespacerange
3 beginbfchar <41> <E000> <42> <0416> <43> <0007> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""
GOOD = ["Hello World 2024", "Second line, here."]
DPI = 144


def two_font_pdf() -> bytes:
    """One 360 x 240 pt page: two clean lines in Helvetica (F1), a line for each broken code of F2,
    two table cells on one baseline far apart, and a word drawn twice a point or so apart (bold
    faked by overprinting)."""
    ops = b"BT /F1 18 Tf 20 200 Td 22 TL (%s) Tj T* (%s) Tj ET " % tuple(t.encode() for t in GOOD)
    ops += b"BT /F2 18 Tf 20 156 Td 22 TL (xAx) Tj T* (yBy) Tj T* (zCz) Tj ET "
    ops += b"BT /F1 14 Tf 20 60 Td (Name) Tj ET BT /F1 14 Tf 240 60 Td (Value) Tj ET "
    ops += b"BT /F1 14 Tf 20 24 Td (Shadow) Tj ET BT /F1 14 Tf 21 25.5 Td (Shadow) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 360 240] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(CMAP), CMAP),
    ]
    return write_pdf(objects, b"/Root 1 0 R")


def extract(data: bytes, charset) -> tuple[np.ndarray, list[documents.LayerLine]]:
    """The first page rendered at DPI (grayscale) and its lines, as the extraction sees them."""
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    textpage = page.get_textpage()
    try:
        image = documents.render(page, DPI)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        frame = documents.Frame.of(page, DPI)
        return gray, documents.page_lines(page, textpage, frame, gray, charset, DocumentsConfig())
    finally:
        textpage.close()
        page.close()
        pdf.close()


def assert_boxes_cover_the_ink(gray: np.ndarray, lines: list[documents.LayerLine]) -> None:
    ink = gray < 128
    covered = np.zeros_like(ink)
    for line in lines:
        x0, y0, x1, y1 = (round(v) for v in line.box)
        box_ink = ink[max(0, y0 - 1) : y1 + 2, max(0, x0 - 1) : x1 + 2]
        assert box_ink.mean() > 0.05, line.raw  # every box holds ink ...
        covered[max(0, y0 - 2) : y1 + 3, max(0, x0 - 2) : x1 + 3] = True
    assert ink.any() and ink[~covered].sum() <= 0.01 * ink.sum()  # ... and every stroke is in some box


@pytest.fixture(scope="module")
def charset():
    return alphabet.current()


@pytest.fixture(scope="module")
def extracted(charset):
    return extract(two_font_pdf(), charset)


def test_lines_and_texts_follow_the_layer(extracted):
    _, lines = extracted
    assert [line.text for line in lines if line.reason is None] == [*GOOD, "Name", "Value", "Shadow"]
    assert [line.raw for line in lines][2:5] == ["x\ue000x", "y\u0416y", "z\x07z"]


def test_broken_characters_are_dropped_with_their_reason(extracted):
    _, lines = extracted
    reasons = {line.raw: line.reason for line in lines}
    assert reasons["x\ue000x"] == documents.PRIVATE_USE
    assert reasons["y\u0416y"] == documents.OUTSIDE_CHARSET
    assert reasons["z\x07z"] == documents.CONTROL


def test_text_drawn_over_itself_is_kept_once(extracted):
    _, lines = extracted
    assert [line.reason for line in lines if line.raw == "Shadow"] == [None]


def test_lines_over_one_another_are_dropped():
    def line(raw, box, reason=None):
        return documents.LayerLine(raw=raw, box=box, reason=reason)

    copy, again = line("Total", (10, 10, 80, 30)), line("Total", (11, 11, 81, 31))
    a, b = line("left", (10, 50, 80, 70)), line("right", (40, 52, 120, 72))
    hidden, shown = line("Sum", (10, 100, 60, 120), documents.NO_INK), line("Sum", (10, 100, 60, 120))
    apart = line("apart", (90, 10, 150, 30))
    number, point = line("77", (10, 150, 40, 170)), line(".", (24, 166, 27, 170), documents.DEGENERATE)
    lines = [copy, again, a, b, hidden, shown, apart, number, point]
    documents.mark_overlaps(lines, DocumentsConfig())
    assert [x.reason for x in lines] == [
        None,
        documents.DUPLICATE,  # a second copy of a kept line
        documents.OVERLAP,  # two different lines over each other: neither crop is one line
        documents.OVERLAP,
        documents.NO_INK,
        None,  # the copy that can be seen is kept
        None,
        documents.OVERLAP,  # "7.7" on the page: the point is a line of its own, stored after the number
        documents.DEGENERATE,
    ]


def test_boxes_cover_the_ink(extracted):
    gray, lines = extracted
    assert_boxes_cover_the_ink(gray, lines)
    heights = [line.box[3] - line.box[1] for line in lines]
    assert all(12 <= h <= 40 for h in heights), heights  # 14-18 pt at 144 dpi: glyphs, not the whole page


# Pages with /Rotate as slides are made: the content drawn turned the other way, so that it reads
# upright once the page is turned (Tm for each turn; two lines, the first at the top as displayed).
TURNED = {
    90: (b"[0 0 120 300]", b"0 1 -1 0 40 20 Tm (%s) Tj 0 1 -1 0 62 20 Tm (%s) Tj"),
    180: (b"[0 0 300 120]", b"-1 0 0 -1 280 40 Tm (%s) Tj -1 0 0 -1 280 62 Tm (%s) Tj"),
    270: (b"[0 0 120 300]", b"0 -1 1 0 80 280 Tm (%s) Tj 0 -1 1 0 58 280 Tm (%s) Tj"),
}


@pytest.mark.parametrize("rotate", sorted(TURNED))
def test_turned_pages_are_read_in_the_turned_image(charset, rotate):
    box, ops = TURNED[rotate]
    ops = b"BT /F1 18 Tf " + ops % tuple(t.encode() for t in GOOD) + b" ET"
    gray, lines = extract(text_pdf((b"/MediaBox " + box, ops), page_extra=b"/Rotate %d" % rotate), charset)
    assert gray.shape == (240, 600)  # rendered as displayed: landscape
    assert [line.text for line in lines if line.reason is None] == GOOD
    assert_boxes_cover_the_ink(gray, lines)
    assert lines[0].box[1] < lines[1].box[1]  # the first line on top


def test_text_turned_by_the_page_is_dropped(charset):
    gray, lines = extract(text_pdf(text_page(GOOD, width=300, height=120), page_extra=b"/Rotate 90"), charset)
    assert [line.reason for line in lines] and all(line.reason == documents.ROTATED for line in lines)
    assert_boxes_cover_the_ink(gray, lines)


def test_turned_text_is_dropped_and_upright_text_is_kept(charset):
    ops = b"BT /F1 16 Tf 0 1 -1 0 330 20 Tm (Turned) Tj ET "  # runs up the page
    ops += b"q 1 0 0 -1 0 240 cm BT /F1 16 Tf 1 0 0 -1 20 40 Tm (Flipped twice) Tj ET Q "  # upright on the page
    ops += b"BT /F1 16 Tf 0.7 0.7 -0.7 0.7 150 60 Tm (Watermark) Tj ET "  # diagonal
    ops += b"BT /F1 16 Tf 1 0 0.3 1 20 120 Tm (Oblique) Tj ET"  # slanted, as italics are made
    gray, lines = extract(text_pdf((b"/MediaBox [0 0 360 240]", ops)), charset)
    reasons = {line.raw: line.reason for line in lines}
    upright = ("Flipped twice", "Oblique")
    assert all(reason == documents.ROTATED for raw, reason in reasons.items() if raw not in upright), reasons
    assert [reasons[raw] for raw in upright] == [None, None]
    assert "".join(raw for raw in reasons if raw not in upright) == "TurnedWatermark"  # one line per letter


def test_far_apart_cells_on_one_baseline_are_two_lines(extracted):
    _, lines = extracted
    name, value = (line for line in lines if line.text in ("Name", "Value"))
    assert value.box[0] - name.box[2] > 100  # PDFium runs them into one line; the gap splits them
    assert abs(name.box[1] - value.box[1]) < 2


def test_a_hyphen_that_ends_a_line_is_kept_as_drawn(charset):
    """PDFium reports it as U+0002 and joins the word across the break; the page shows "-"."""
    _, lines = extract(text_pdf(text_page(["A line that ends in a hyph-", "enated word"])), charset)
    assert [(line.text, line.reason) for line in lines] == [
        ("A line that ends in a hyph-", None),
        ("enated word", None),
    ]


@pytest.mark.parametrize(
    ("raw", "text", "reason"),
    [
        ("Hello  World ", "Hello World", None),
        ("ﬁle", "file", None),  # a ligature, as its letters
        ("⼀二三", "一二三", None),  # a Kangxi radical some CJK fonts map to, as the hanzi
        ("ＡＢＣ１", "ABC1", None),  # full-width Latin, as scoring folds it
        ("中 文 text", "中文 text", None),  # no spaces between hanzi: layout, not text
        ("end。", "end.", None),  # 。 without hanzi is a full stop, as in the synthetic labels
        ("zero\u200bwidth", "zerowidth", None),  # format characters draw nothing
        ("x \u2212 1", "x - 1", None),  # a minus sign prints as the hyphen-minus
        ("a\ufffdb", "", documents.UNMAPPED),
        ("a\ue000b", "", documents.PRIVATE_USE),
        ("a\x07b", "", documents.CONTROL),
        ("aЖb", "", documents.OUTSIDE_CHARSET),
        ("   ", "", documents.EMPTY),
    ],
)
def test_clean_text(charset, raw, text, reason):
    assert documents.clean_text(raw, charset) == (text, reason)


def test_split_is_by_document_deterministic_and_about_the_share():
    shas = [f"{i:064x}" for i in range(2000)]
    splits = [documents.split_of(sha, seed=7) for sha in shas]
    assert splits == [documents.split_of(sha, seed=7) for sha in shas]
    assert 0.07 < splits.count(documents.VALIDATION) / len(shas) < 0.13
    assert splits != [documents.split_of(sha, seed=8) for sha in shas]  # the seed draws another split


def test_page_resolution_is_seeded_and_bounded():
    config = DocumentsConfig()
    doc = documents.Document("d", "pdfs/d.pdf", "ab" * 32, "test/d", "MIT")
    a4 = (595.0, 842.0)
    dpis = [documents.page_dpi(doc, page, a4, 0, config) for page in range(200)]
    assert dpis == [documents.page_dpi(doc, page, a4, 0, config) for page in range(200)]
    assert min(dpis) >= config.dpi[0] and max(dpis) <= config.dpi[1] and len(set(dpis)) > 20
    poster = (2384.0, 3370.0)  # A0: at most max_side pixels long
    assert documents.page_dpi(doc, 0, poster, 0, config) * 3370 / 72 <= config.max_side


def test_data_folder_from_argument_environment_or_beside_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv(documents.DATA_ENV, raising=False)
    repository = Path(documents.__file__).resolve().parents[2]
    assert documents.data_dir() == repository.parent / "shared" / "data"
    monkeypatch.setenv(documents.DATA_ENV, str(tmp_path))
    assert documents.data_dir() == tmp_path
    assert documents.data_dir(tmp_path / "x") == tmp_path / "x"
    with pytest.raises(documents.DocumentsError):
        documents.read_manifest(tmp_path)


def write_data(folder, names):
    """A data folder like shared/data: PDFs under pdfs/ and a MANIFEST.tsv listing them (and an image)."""
    (folder / "pdfs").mkdir(parents=True)
    rows = ["kind\tdataset\tsource_repo\tcommit\tpath_in_repo\tsha256\tbytes\tlicence\tnotes"]
    shas = {}
    for i, name in enumerate(names):
        data = text_pdf(text_page([f"Document {name} page one"]), text_page([f"Document {name} page two", "Done."]))
        (folder / "pdfs" / f"{name}.pdf").write_bytes(data)
        shas[name] = f"{i + 1:02x}" * 32
        fields = ["A", f"pdf:test/{name}", f"test/{name}", "abc", f"{name}.pdf", shas[name], str(len(data)), "MIT"]
        rows.append("\t".join([*fields, f"local=pdfs/{name}.pdf; pages=2"]))
    rows.append("\t".join(["B", "plates", "test/plates", "abc", "p.jpg", "ff" * 32, "1", "MIT", "local=images/p.jpg"]))
    (folder / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return shas


def test_cli_writes_lines_pages_and_manifest(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shas = write_data(data, ["alpha", "beta", "gamma", "delta"])
    seed = next(s for s in range(100) if len({documents.split_of(sha, s, 0.5) for sha in shas.values()}) == 2)
    monkeypatch.setenv(documents.DATA_ENV, str(data))  # the data folder from the environment
    out = tmp_path / "out"
    documents.main(documents.parse_args(["--out", str(out), "--seed", str(seed), "--validation-share", "0.5"]))

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    expected = {name: documents.split_of(sha, seed, 0.5) for name, sha in shas.items()}
    listed = {doc["path"]: split for split, docs in manifest["documents"].items() for doc in docs}
    assert listed == {f"pdfs/{name}.pdf": split for name, split in expected.items()}
    assert sum(c["documents"] for c in manifest["counts"].values()) == 4
    assert sum(c["lines"] for c in manifest["counts"].values()) == 4 * 3

    rows = [line.split("\t") for line in (out / "lines.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["file", "text", "document", "page", "split"]
    by_id = {sha[:12]: expected[name] for name, sha in shas.items()}
    assert all(split == by_id[doc] for _, _, doc, _, split in rows[1:])  # a document's lines stay in its split
    assert {text for _, text, *_ in rows[1:]} >= {"Document alpha page one", "Document delta page two", "Done."}
    for file, *_ in rows[1:]:
        crop = cv2.imread(str(out / file), cv2.IMREAD_UNCHANGED)
        assert crop.ndim == 2 and crop.shape[0] >= 20 and (crop < 128).any()  # grayscale, with ink

    record = json.loads((out / "pages" / f"{shas['beta'][:12]}_p0001.json").read_text(encoding="utf-8"))
    image = cv2.imread(str(out / "pages" / record["image"]))
    assert image.shape == (record["height"], record["width"], 3)
    assert [line["text"] for line in record["lines"]] == ["Document beta page two", "Done."]
    for line in record["lines"]:
        assert line["dropped"] is None and line["text_line"] and len(line["box"]) == 4
        assert [line["crop"], line["text"]] in [row[:2] for row in rows]
        xs, ys = zip(*line["box"])
        assert 0 <= min(xs) < max(xs) <= record["width"] and 0 <= min(ys) < max(ys) <= record["height"]


def test_same_seed_same_output_and_out_must_be_empty(tmp_path):
    data = tmp_path / "data"
    write_data(data, ["alpha", "beta"])
    first = documents.build(tmp_path / "a", data, seed=3)
    second = documents.build(tmp_path / "b", data, seed=3)
    assert first == second
    files = sorted(f.relative_to(tmp_path / "a") for f in (tmp_path / "a").rglob("*") if f.is_file())
    assert len(files) == 2 + 4 * 2 + 6  # lines.tsv and manifest.json, 4 pages (PNG, JSON), 6 line crops
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    with pytest.raises(documents.DocumentsError):
        documents.build(tmp_path / "a", data, seed=3)
