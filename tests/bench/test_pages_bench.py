"""The scoring of `make bench-pages`: the fast edit distance, whole-page accuracy with the shared
normalisation, rows per category and set, and the table. No engine, page or font is needed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from model.training.metrics import edit_distance as reference_distance
from tests.bench.pages import (
    BOOKS,
    DOCUMENTS,
    REAL,
    SYNTHETIC,
    PageMeter,
    PageSample,
    edit_distance,
    format_per_page,
    format_table,
    read_document_pages,
    read_real_pages,
    score_pages,
    table_rows,
)

SAMPLES = [
    PageSample(Path("/p/zh.png"), "第一行。\n第二行，“引号”", "printed_zh", REAL),
    PageSample(Path("/p/en.tif"), "Hello world\nsecond line", "printed_en", REAL),
    PageSample(Path("/s/doc.png"), "abcd\nefgh", "synthetic document", SYNTHETIC),
    PageSample(Path("/s/turned.png"), "wxyz", "synthetic table", SYNTHETIC, turned=True),
]


@pytest.mark.parametrize("alphabet", ["ab", "abc ", "发票金额12", "abcdefghijklmnop"])
def test_edit_distance_matches_the_reference(alphabet: str) -> None:
    rng = random.Random(alphabet)
    for _ in range(500):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert edit_distance(a, b) == reference_distance(a, b), (a, b)


def test_edit_distance_on_page_length_text() -> None:
    rng = random.Random(1)
    a = "".join(rng.choice("发票金额合计abc123") for _ in range(300))
    b = "".join(rng.choice("发票金额合计abc123") for _ in range(250))
    assert edit_distance(a, b) == reference_distance(a, b)
    assert edit_distance(a, "") == 300
    assert edit_distance("", b) == 250


def test_page_meter_normalises_and_sums_over_pages() -> None:
    meter = PageMeter()
    meter.add('第一行.\n  第二行,"引号"', "第一行。\n第二行，“引号”")  # full-width and CJK marks folded, breaks ignored
    assert (meter.distance, meter.length) == (0, 12)
    meter.add("abXd", "abcd")  # 1 error in 4
    meter.add("", "ab")  # 2 errors in 2
    assert meter.pages == 3
    assert meter.accuracy == pytest.approx(1 - 3 / 18)  # sums, not a mean of per-page ratios


def test_score_pages_rows_missing_pages_and_timings() -> None:
    texts = {"/p/zh.png": "第一行。第二行，“引号”", "/p/en.tif": "Hello world second line", "/s/doc.png": "abcd"}
    ms = {"/p/zh.png": 1500.0, "/p/en.tif": 500.0, "/s/doc.png": 250.0}  # turned.png failed: untimed, empty
    result = score_pages("Peer", "about", SAMPLES, texts, ms, failed=1)
    assert result.meters["all real"].accuracy == 1.0
    assert result.meters["printed_en"].pages == 1
    assert result.meters["synthetic document"].accuracy == 0.5
    assert result.meters["synthetic table"].accuracy == 0.0
    assert result.meters["all synthetic"].accuracy == pytest.approx(1 - 8 / 12)
    assert result.meters["all synthetic, upright only"].pages == 1  # the turned page is left out
    assert result.seconds["all real"] == [1.5, 0.5]
    assert "synthetic table" not in result.seconds
    assert result.failed == 1


def test_table_rows_and_format() -> None:
    rows = table_rows(SAMPLES)
    assert rows == [
        "printed_en",
        "printed_zh",
        "all real",
        "synthetic document",
        "synthetic table",
        "all synthetic",
        "all synthetic, upright only",
    ]
    result = score_pages("Peer", "", SAMPLES, {"/p/en.tif": "Hello world second line"}, {"/p/en.tif": 1234.0}, 0)
    table = format_table(rows, [result]).splitlines()
    assert table[0] == "| category | pages | Peer acc | Peer order-free | Peer s/page |"
    assert table[2] == "| printed_en | 1 | 100.0 % | 100.0 % | 1.23 |"
    assert table[3] == "| printed_zh | 1 | 0.0 % | 0.0 % | - |"
    assert table[5].startswith("| synthetic document | 1 |")
    assert len(table) == 2 + len(rows)


def test_read_real_pages(tmp_path: Path) -> None:
    (tmp_path / "labels.tsv").write_text("file\tgt_file\tcategory\na.png\ta.txt\tprinted_zh\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("甲\n乙\n", encoding="utf-8")
    [sample] = read_real_pages(tmp_path)
    assert sample == PageSample(tmp_path / "a.png", "甲\n乙\n", "printed_zh", REAL)
    assert sample.rows == ("printed_zh", "all real")


def test_per_page_scores() -> None:
    result = score_pages("Peer", "", SAMPLES, {"/s/doc.png": "abcd"}, {"/s/doc.png": 250.0}, 0)
    assert result.per_page["/s/doc.png"] == (0.5, 0.25)
    assert result.per_page["/p/zh.png"] == (0.0, None)
    table = format_per_page(SAMPLES, [result]).splitlines()
    assert table[4] == "| doc.png | synthetic document | 50.0 % · 0.25 |"


def test_order_free_scoring_forgives_order_only() -> None:
    meter = PageMeter()
    meter.add("second line\nfirst line", "first line\nsecond line", order_free=True)
    assert meter.distance == 0
    meter.add("first lime", "first line", order_free=True)  # a wrong character still counts
    assert meter.distance == 1  # one "m" in excess, one "n" missed: one substitution
    meter.add("ab", "bcd", order_free=True)  # "a" in excess; "c" and "d" missed
    assert meter.distance == 1 + 2
    ordered = PageMeter()
    ordered.add("second line\nfirst line", "first line\nsecond line")
    # In order the swap costs; without order it does not: an order error, not a recognition error.
    assert ordered.distance > 0 and ordered.free_distance == 0
    assert ordered.accuracy < ordered.free_accuracy == 1.0


def test_sets_print_in_order_and_document_pages_score_without_order(tmp_path: Path) -> None:
    samples = [
        PageSample(Path("/d/a.png"), "乙\n甲", "document zh", DOCUMENTS, order_free=True),
        PageSample(Path("/b/b.tif"), "a book", "book_en", BOOKS),
        *SAMPLES,
    ]
    assert table_rows(samples)[:6] == ["printed_en", "printed_zh", "all real", "book_en", "all books", "document zh"]
    result = score_pages("Peer", "", samples, {"/d/a.png": "甲乙"}, {}, 0)
    assert result.meters["all documents"].accuracy == 1.0


def test_read_document_pages(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, split, text in [("x_p0000", "validation", "第一行汉字"), ("y_p0000", "validation", "plain text"),
                              ("z_p0000", "train", "训练")]:  # fmt: skip
        line = {"text": text, "box": [[0, 0], [9, 0], [9, 9], [0, 9]], "vertical": False, "order": 0,
                "kind": "pdf", "dropped": None, "text_line": True}  # fmt: skip
        meta = {"image": f"{name}.png", "split": split, "lines": [line]}
        (pages / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    samples = read_document_pages(tmp_path, 10)
    assert [(s.path.name, s.category, s.subset, s.order_free) for s in samples] == [
        ("x_p0000.png", "document zh", DOCUMENTS, True),
        ("y_p0000.png", "document en", DOCUMENTS, True),
    ]
    assert samples[0].reference == "第一行汉字"
