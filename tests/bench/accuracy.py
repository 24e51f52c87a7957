"""Our model next to Tesseract and RapidOCR on the same real lines (`make bench-accuracy`).

Prints one markdown table for ``../shared/eval/lines`` and one for a seeded choice of real-document
validation lines (``make documents``' validation split, PDFs never trained on; skipped with a note
where the folder is missing): per category, character accuracy, exact-line accuracy and median
milliseconds per line of every engine, all scored by `model.training.metrics.AccuracyMeter`, so the numbers
are comparable with `make eval`. Our model runs here (in `.venv`); the peers run one after another as
`tests.bench.peers` subprocesses in `.venv-peers`, so they are never dependencies of the service.
Every engine gets the same number of CPU threads (one by default) and is warmed up before timing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from model.training.evaluate import (
    DEFAULT_LINES,
    DOCUMENT_LINES,
    DOCUMENT_SEED,
    Labels,
    document_labels,
    evaluate_lines,
    read_labels,
)
from model.training.metrics import AccuracyMeter
from model.training.paths import DEFAULT_DOCUMENTS, DEFAULT_LM, DEFAULT_WEIGHTS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
PEER_ENGINES = ("tesseract", "rapidocr", "rapidocr3")
WARMUP_LINES = 3


class PeerUnavailable(RuntimeError):
    """The peer never got as far as loading its engine (not installed, import error, ...)."""


@dataclass
class EngineResult:
    """Scores and per-line timings of one engine, per category and for "all"."""

    name: str
    about: str  # version and what the milliseconds cover
    meters: dict[str, AccuracyMeter]
    latencies: dict[str, list[float]]
    failed: int


def score(
    name: str, about: str, labels: Labels, texts: dict[str, str], ms: dict[str, float], failed: int
) -> EngineResult:
    """Score predictions keyed by image path; a line without a prediction counts as empty output."""
    meters: dict[str, AccuracyMeter] = defaultdict(AccuracyMeter)
    latencies: dict[str, list[float]] = defaultdict(list)
    for path, reference, category in labels:
        for key in (category, "all"):
            meters[key].add(texts.get(str(path), ""), reference)
            if str(path) in ms:
                latencies[key].append(ms[str(path)])
    return EngineResult(name, about, dict(meters), dict(latencies), failed)


def parse_peer_output(stdout: str) -> tuple[dict | None, dict[str, dict]]:
    """The meta object and the per-image records of a peer run; stray non-JSON lines (a library
    printing to stdout) are skipped rather than trusted."""
    meta, records = None, {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("meta"), dict):
            meta = item["meta"]
        elif isinstance(item, dict) and isinstance(item.get("file"), str):
            records[item["file"]] = item
    return meta, records


def run_peer_process(command: list[str], paths: list[str], threads: int) -> tuple[dict, dict[str, dict], list[str]]:
    """Run a `tests.bench.peers` command over ``paths`` (one per line on stdin). If its native code
    crashes on a file, that file counts as crashed and the peer is restarted on the rest, so one bad
    image never ends a benchmark. Returns the peer's meta, its records by path, and the crashed paths."""
    env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}
    meta: dict | None = None
    records: dict[str, dict] = {}
    crashed: list[str] = []
    remaining = paths
    while remaining:
        process = subprocess.run(
            command, input="\n".join(remaining), capture_output=True, text=True, cwd=REPO, env=env, check=False
        )
        run_meta, run_records = parse_peer_output(process.stdout)
        if run_meta is None:
            if meta is None:
                tail = process.stderr.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
                raise PeerUnavailable(tail[0])
            crashed.extend(remaining)  # it died while loading again: give up on the rest
            break
        meta = run_meta
        records.update(run_records)
        remaining = [path for path in remaining if path not in records]
        if remaining:  # it died on the first file it did not answer
            crashed.append(remaining.pop(0))
    assert meta is not None
    return meta, records, crashed


def run_peer(python: Path, engine: str, labels: Labels, threads: int) -> EngineResult:
    """Run one peer over every line (see ``run_peer_process``)."""
    command = [str(python), "-m", "tests.bench.peers", "--engine", engine, "--threads", str(threads)]
    meta, records, crashed = run_peer_process(command, [str(path) for path, _, _ in labels], threads)
    errors = sum(1 for record in records.values() if record.get("error"))
    texts = {path: str(record.get("text") or "") for path, record in records.items()}
    ms = {path: float(record["ms"]) for path, record in records.items() if not record.get("error")}
    about = f"{meta['version']}; timed: {meta['timing']}; warm-up: {meta['warmup']}"
    return score(meta["name"], about, labels, texts, ms, errors + len(crashed))


class _WarningCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def run_ours(weights: Path, labels: Labels, threads: int, lm: Path | None = DEFAULT_LM) -> EngineResult:
    """Our model through `model.training.evaluate.evaluate_lines`, after a warm-up over the first lines: as served
    (beam search with the language model ``lm``), or with greedy decoding where ``lm`` is None."""
    torch.set_num_threads(threads)
    counter = _WarningCounter()
    logging.getLogger().addHandler(counter)  # evaluate_lines logs each unreadable image and scores it empty
    try:
        meters, latencies = evaluate_lines(weights, labels, warmup=WARMUP_LINES, lm=lm)
    finally:
        logging.getLogger().removeHandler(counter)
    per_category: dict[str, list[float]] = defaultdict(list)
    for (_, _, category), ms in zip(labels, latencies, strict=True):
        per_category[category].append(ms)
        per_category["all"].append(ms)
    try:
        shown = weights.resolve().relative_to(REPO)
    except ValueError:
        shown = weights
    decoding = "greedy CTC decoding" if lm is None else f"CTC beam search with the language model {lm.name}"
    about = (
        f"weights {shown}, torch {torch.__version__}; timed: read + preprocessing + forward pass + {decoding} "
        f"(model.training.evaluate), {threads} torch thread(s); warm-up: one pass over the first {WARMUP_LINES} lines"
    )
    return EngineResult("ours" if lm else "ours greedy", about, meters, dict(per_category), counter.count)


def format_comparison(results: list[EngineResult]) -> str:
    """Markdown table: one row per category (then "all"), three columns per engine."""
    header = ["category", "lines"]
    align = ["---", "---:"]
    for result in results:
        header += [f"{result.name} char", f"{result.name} line", f"{result.name} ms"]
        align += ["---:"] * 3
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for category in sorted(results[0].meters, key=lambda name: (name == "all", name)):
        cells = [category, str(results[0].meters[category].lines)]
        for result in results:
            meter = result.meters[category]
            times = result.latencies.get(category)
            cells += [
                f"{100 * meter.char_accuracy:.1f} %",
                f"{100 * meter.line_accuracy:.1f} %",
                f"{statistics.median(times):.1f}" if times else "-",
            ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def compare(args: argparse.Namespace, labels: Labels, described: str) -> None:
    """Every engine on ``labels``; prints the table and what each number means."""
    load = os.getloadavg()[0]
    # As served, and without the language model to show what it adds.
    results = [run_ours(args.weights, labels, args.threads, lm) for lm in (DEFAULT_LM, None)]
    skipped = []
    for engine in filter(None, args.engines.split(",")):
        print(f"running {engine} on {described} ...", flush=True)
        try:
            results.append(run_peer(args.peers_python, engine, labels, args.threads))
        except (PeerUnavailable, OSError) as err:
            skipped.append(f"- {engine}: not run ({err})")
    print()
    print(format_comparison(results))
    print()
    print(
        f"{len(labels)} lines: {described}; char = character accuracy, line = exact lines (model.training.metrics "
        f"normalisation); ms = median milliseconds per line of that row (failed lines left out) on "
        f"{args.threads} CPU thread(s) per engine "
        f"(1-minute load average at the start: {load:.2f} on {os.cpu_count()} cores)."
    )
    for result in results:
        print(f"- {result.name}: {result.about}; {result.failed} line(s) failed (scored as empty output).")
    for line in skipped:
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--lines", type=Path, default=DEFAULT_LINES)
    parser.add_argument("--documents", type=Path, default=DEFAULT_DOCUMENTS, help="a `make documents` folder")
    parser.add_argument("--document-lines", type=int, default=DOCUMENT_LINES, help="its validation lines (0: none)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for every engine")
    parser.add_argument("--peers-python", type=Path, default=DEFAULT_PEERS_PYTHON)
    parser.add_argument("--engines", default=",".join(PEER_ENGINES), help="peers to run, comma-separated")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    compare(args, read_labels(args.lines), f"real lines from {args.lines}")
    if args.document_lines > 0:
        print()
        if (args.documents / "lines.tsv").is_file():
            labels = document_labels(args.documents, args.document_lines)
            compare(args, labels, f"real-document validation lines from {args.documents} (seed {DOCUMENT_SEED})")
        else:
            print(f"Real-document validation lines: {args.documents} not found (`make documents` writes it)")


if __name__ == "__main__":
    main()
