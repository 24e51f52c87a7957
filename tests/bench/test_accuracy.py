"""The pure parts of `make bench-accuracy`: reading peer output, scoring it, surviving a peer that crashes,
and the table. The peers themselves are not needed (they live in .venv-peers, outside `make test`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bench import accuracy
from tests.bench.accuracy import (
    PeerUnavailable,
    format_comparison,
    parse_peer_output,
    run_peer,
    score,
)

META = {"name": "Peer", "version": "1.0", "timing": "recognition", "warmup": "3 runs"}
LABELS = [
    (Path("/lines/a.png"), "发票 123", "receipt"),
    (Path("/lines/b.png"), "hello", "printed_en"),
    (Path("/lines/c.png"), "world", "printed_en"),
]


def test_parse_peer_output_skips_stray_lines() -> None:
    stdout = "\n".join(
        [
            "loading model...",
            json.dumps({"meta": META}),
            json.dumps({"file": "/lines/a.png", "text": "发票123", "ms": 4.0, "error": None}),
            "[1, 2]",
        ]
    )
    meta, records = parse_peer_output(stdout)
    assert meta == META
    assert list(records) == ["/lines/a.png"]


def test_score_counts_missing_lines_as_empty() -> None:
    result = score(
        "Peer", "", LABELS, {"/lines/a.png": "发票１２３", "/lines/b.png": "hello"}, {"/lines/a.png": 2.0}, 1
    )
    assert result.meters["receipt"].line_accuracy == 1.0  # full-width digits and spaces are normalised away
    assert result.meters["printed_en"].line_accuracy == 0.5
    assert result.meters["all"].lines == 3
    assert result.latencies == {"receipt": [2.0], "all": [2.0]}


def fake_peer(crash_on: set[str], error_on: set[str] = frozenset()):
    """A stand-in for the peer subprocess: it dies (like a segfault) on the images in `crash_on` and
    reports an error for those in `error_on`."""

    def run(command, input, **kwargs):  # same keywords as subprocess.run
        lines = [json.dumps({"meta": META})]
        for path in input.splitlines():
            if path in crash_on:
                return subprocess.CompletedProcess(command, -11, "\n".join(lines), "Segmentation fault")
            error = "ValueError: bad image" if path in error_on else None
            lines.append(json.dumps({"file": path, "text": "" if error else "hello", "ms": 1.0, "error": error}))
        return subprocess.CompletedProcess(command, 0, "\n".join(lines), "")

    return run


def test_run_peer_restarts_after_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accuracy.subprocess, "run", fake_peer({"/lines/a.png"}))
    result = run_peer(Path("python"), "peer", LABELS, threads=1)
    assert result.failed == 1
    assert result.meters["all"].lines == 3
    assert result.meters["printed_en"].exact == 1  # b.png ("hello"), read after the restart
    assert result.latencies["all"] == [1.0, 1.0]


def test_run_peer_counts_errors_as_failed_and_untimed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accuracy.subprocess, "run", fake_peer(set(), {"/lines/c.png"}))
    result = run_peer(Path("python"), "peer", LABELS, threads=1)
    assert result.failed == 1
    assert result.latencies["printed_en"] == [1.0]


def test_run_peer_that_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accuracy.subprocess,
        "run",
        lambda command, **kwargs: subprocess.CompletedProcess(command, 1, "", "ImportError: x"),
    )
    with pytest.raises(PeerUnavailable, match="ImportError"):
        run_peer(Path("python"), "peer", LABELS, threads=1)


def test_format_comparison_has_a_row_per_category_and_all_last() -> None:
    ours = score("Ours", "", LABELS, {"/lines/b.png": "hello"}, {"/lines/b.png": 3.0, "/lines/c.png": 5.0}, 0)
    peer = score("Peer", "", LABELS, {}, {}, 3)
    table = format_comparison([ours, peer]).splitlines()
    assert table[0] == ("| category | lines | Ours char | Ours line | Ours ms | Peer char | Peer line | Peer ms |")
    assert [row.split(" | ")[0] for row in table[2:]] == ["| printed_en", "| receipt", "| all"]
    assert table[2] == "| printed_en | 2 | 50.0 % | 50.0 % | 4.0 | 0.0 % | 0.0 % | - |"
