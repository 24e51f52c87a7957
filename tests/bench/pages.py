"""Whole pages: our page reader next to Tesseract and RapidOCR (`make bench-pages`).

Four page sets: (a) the real pages in ``../shared/eval/pages`` (``labels.tsv``: file, gt_file, category),
(b) the scanned book pages in ``../shared/eval/books`` (the same layout), (c) real-document
validation pages: a seeded choice of the validation split of ``make documents`` (PDFs never trained
on; ``model.training.real_pages``), reference = the text layer's lines, and (d) a seeded synthetic
set from ``model.synth.pages.PageRenderer`` with its training mix of layouts and captures, the empty
layout left out; ground truth = the page's lines joined by newlines in reading order. The renderer
turns some pages by 90, 180 or 270 degrees and the peers have no page orientation step, so the
upright synthetic pages also get a total of their own. Every engine reads every page from
the same file, decoded by OpenCV into a 3-channel BGR image, and returns the page's text in its own
reading order; that text is scored as a whole as ``../shared/eval/README.md`` says (NFKC, CJK
punctuation folded, whitespace removed: ``model.training.metrics.normalise``): character accuracy =
1 - sum of edit distances / sum of reference lengths, per category and per set; and beside it the
same without order (``PageMeter``: the characters read in excess or missed, as multisets), so that
what order costs shows as the gap between the two. The document pages are scored without order
only: a PDF's layer is often not in reading order (running footers first, table cells by column),
so an order-aware score there would judge the producer, not the reader; reading order is measured on
the other sets.

Printed: one markdown table with, per category and engine, the accuracy and the median seconds per
page (reading the file, decoding it, the whole page pipeline; loading the engine and a warm-up on the
first page excluded). Ours (``model.inference.reader.pipeline.PageReader``) runs in this process; each peer runs
in its own `tests.bench.peers` subprocess in ``.venv-peers`` (Tesseract chi_sim+eng with automatic page
segmentation, psm 3; RapidOCR 1.4 and 3 with detection, direction classifier and recognition), and all
get the same number of CPU threads: the core count unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from model.synth import alphabet
from model.training.documents import VALIDATION, script_category
from model.training.metrics import normalise
from model.training.paths import DEFAULT_DOCUMENTS
from model.training.real_pages import RealPages
from tests.bench.accuracy import PeerUnavailable, run_peer_process
from tests.bench.peers import recognise_file

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PAGES = REPO.parent / "shared" / "eval" / "pages"
DEFAULT_PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
DEFAULT_RECOGNISER = REPO / "model" / "weights" / "crnn.pt"
DEFAULT_DETECTOR = REPO / "model" / "weights" / "detector.pt"
# "ours" as served; "ours-greedy" without the language model, to show what it adds. The peers run as
# `tests.bench.peers --engine NAME-page`.
ENGINES = ("ours", "ours-greedy", "tesseract", "rapidocr", "rapidocr3")
SYNTHETIC_PAGES = 40
SYNTHETIC_SEED = "bench-pages"  # page i is random.Random(f"{seed}:{i}"); no training stream uses string seeds
WARMUP_PAGES = 1
REAL, BOOKS, DOCUMENTS, SYNTHETIC = "real", "books", "documents", "synthetic"
SET_ORDER = (REAL, BOOKS, DOCUMENTS, SYNTHETIC)
DEFAULT_BOOKS = REPO.parent / "shared" / "eval" / "books"
DOCUMENT_PAGES = 60
DOCUMENT_SEED = 20261206


# --- scoring -------------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, the same number as ``model.training.metrics.edit_distance`` (the unit tests check
    it) but bit-parallel (Myers 1999, in Hyyrö's formulation): one pass over the longer string with
    the shorter one's positions as bits of Python integers, so a 4,000-character page takes
    milliseconds instead of seconds."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    m = len(b)
    mask, last = (1 << m) - 1, 1 << (m - 1)
    positions: dict[str, int] = {}
    for i, char in enumerate(b):
        positions[char] = positions.get(char, 0) | (1 << i)
    plus, minus, score = mask, 0, m  # vertical deltas of the current column (+1 / -1 bits); D[m][j]
    for char in a:
        eq = positions.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        h_plus = (minus | ~(xh | plus)) & mask
        h_minus = plus & xh
        if h_plus & last:
            score += 1
        elif h_minus & last:
            score -= 1
        h_plus = ((h_plus << 1) | 1) & mask  # row 0 grows by one per column: global distance
        h_minus = (h_minus << 1) & mask
        plus = (h_minus | ~(xv | h_plus)) & mask
        minus = h_plus & xv
    return score


@dataclass
class PageMeter:
    """Character accuracy over whole pages: 1 - sum distance / sum reference length, after
    ``model.training.metrics.normalise`` on both sides; and the same without order, so that order
    errors and recognition errors are told apart. Without order, the distance is the larger of the
    characters read in excess and those missed (as multisets): what an edit distance would be if
    order cost nothing, and never more than the ordered distance."""

    distance: int = 0
    free_distance: int = 0
    length: int = 0
    pages: int = 0

    def add(self, prediction: str, reference: str, order_free: bool = False) -> None:
        """``order_free``: the page's reference has no trustworthy order, so its order-aware
        distance is its order-free one."""
        p, r = normalise(prediction), normalise(reference)
        read, expected = Counter(p), Counter(r)
        free = max(sum((read - expected).values()), sum((expected - read).values()))
        self.distance += free if order_free else edit_distance(p, r)
        self.free_distance += free
        self.length += len(r)
        self.pages += 1

    def merge(self, other: PageMeter) -> None:
        self.distance += other.distance
        self.free_distance += other.free_distance
        self.length += other.length
        self.pages += other.pages

    @property
    def accuracy(self) -> float:
        return 1.0 - self.distance / max(1, self.length)

    @property
    def free_accuracy(self) -> float:
        return 1.0 - self.free_distance / max(1, self.length)


@dataclass(frozen=True)
class PageSample:
    path: Path
    reference: str
    category: str  # a row of the table: the real page's category, or "synthetic <layout>"
    subset: str  # REAL or SYNTHETIC
    turned: bool = False  # a synthetic page turned by 90, 180 or 270 degrees
    order_free: bool = False  # scored without reading order (a document page's layer order is the producer's)

    @property
    def rows(self) -> tuple[str, ...]:
        """The table rows this page counts in: its category, its set's total and, for an upright
        synthetic page, the upright total (the peers have no page orientation step)."""
        rows = (self.category, total_row(self.subset))
        return rows + (upright_row(self.subset),) if self.subset == SYNTHETIC and not self.turned else rows


def total_row(subset: str) -> str:
    return f"all {subset}"


def upright_row(subset: str) -> str:
    return f"all {subset}, upright only"


def table_rows(samples: Iterable[PageSample]) -> list[str]:
    """Rows in print order: per set (real first), its categories sorted, then its totals."""
    by_subset: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        by_subset[sample.subset] += [row for row in sample.rows if row not in by_subset[sample.subset]]
    rows = []
    for subset in sorted(
        by_subset, key=lambda name: (SET_ORDER.index(name) if name in SET_ORDER else len(SET_ORDER), name)
    ):
        totals = [total_row(subset), upright_row(subset)]
        rows += sorted(set(by_subset[subset]) - set(totals)) + [row for row in totals if row in by_subset[subset]]
    return rows


@dataclass
class EngineResult:
    """Meters and per-page seconds of one engine, per table row."""

    name: str
    about: str  # versions and what the seconds cover
    meters: dict[str, PageMeter]
    seconds: dict[str, list[float]]
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    per_page: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # path: accuracy, seconds


def score_pages(
    name: str, about: str, samples: list[PageSample], texts: dict[str, str], ms: dict[str, float], failed: int
) -> EngineResult:
    """Score predictions keyed by image path. A page without a prediction counts as empty output; a
    page without a time (it failed) is left out of the timings."""
    meters: dict[str, PageMeter] = defaultdict(PageMeter)
    seconds: dict[str, list[float]] = defaultdict(list)
    per_page: dict[str, tuple[float, float | None]] = {}
    for sample in samples:
        key = str(sample.path)
        page = PageMeter()
        page.add(texts.get(key, ""), sample.reference, sample.order_free)
        per_page[key] = (page.accuracy, ms[key] / 1000 if key in ms else None)
        for row in sample.rows:
            meters[row].merge(page)
            if key in ms:
                seconds[row].append(ms[key] / 1000)
    return EngineResult(name, about, dict(meters), dict(seconds), failed, per_page=per_page)


def format_per_page(samples: list[PageSample], results: list[EngineResult]) -> str:
    """Markdown: accuracy and seconds of every page and engine, to see which pages drive a row."""
    header = ["page", "category"] + [f"{result.name} acc · s" for result in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * len(results)) + "|"]
    for sample in samples:
        cells = [sample.path.name, sample.category]
        for result in results:
            accuracy, seconds = result.per_page.get(str(sample.path), (0.0, None))
            cells.append(f"{100 * accuracy:.1f} % · " + (f"{seconds:.2f}" if seconds is not None else "-"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_table(rows: list[str], results: list[EngineResult]) -> str:
    """Markdown: one row per category (then each set's total), accuracy in the order read, accuracy
    without order and median s/page per engine."""
    header, align = ["category", "pages"], ["---", "---:"]
    for result in results:
        header += [f"{result.name} acc", f"{result.name} order-free", f"{result.name} s/page"]
        align += ["---:", "---:", "---:"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in rows:
        pages = next((r.meters[row].pages for r in results if row in r.meters), 0)
        cells = [row, str(pages)]
        for result in results:
            meter, times = result.meters.get(row), result.seconds.get(row)
            cells.append(f"{100 * meter.accuracy:.1f} %" if meter else "-")
            cells.append(f"{100 * meter.free_accuracy:.1f} %" if meter else "-")
            cells.append(f"{statistics.median(times):.2f}" if times else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- page sets -----------------------------------------------------------------------------------


def read_real_pages(folder: Path, subset: str = REAL) -> list[PageSample]:
    with (folder / "labels.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        PageSample(folder / row["file"], (folder / row["gt_file"]).read_text(encoding="utf-8"), row["category"], subset)
        for row in rows
    ]


def read_document_pages(folder: Path, count: int, seed: int = DOCUMENT_SEED) -> list[PageSample]:
    """A seeded choice of ``count`` validation pages of a ``make documents`` folder (those whose layer
    agrees with its pixels), scored order-free; category "document zh" or "document en" by the
    reference's script (``model.training.documents.script_category``)."""
    pages = RealPages(folder, VALIDATION)
    samples = []
    for index in pages.fixed(count, seed):
        reference = pages.reference(index)
        category = script_category(normalise(reference))
        samples.append(PageSample(pages.entries[index].image, reference, category, DOCUMENTS, order_free=True))
    return samples


def render_synthetic_pages(out: Path, count: int, seed: str = SYNTHETIC_SEED) -> list[PageSample]:
    """``count`` seeded pages written losslessly as PNG into ``out``. Empty pages are skipped (no
    reference text, so no accuracy) and the next seed is drawn instead, so the set is always the same."""
    import cv2

    from model.synth.corpus import Corpus
    from model.synth.fonts import discover_fonts
    from model.synth.pages import PageRenderer

    charset = alphabet.current()
    renderer = PageRenderer(discover_fonts(charset), Corpus(charset))
    samples: list[PageSample] = []
    index = 0
    while len(samples) < count:
        page = renderer.render(random.Random(f"{seed}:{index}"))
        if page.lines:
            path = out / f"synthetic_{index:03d}_{page.layout}.png"
            if not cv2.imwrite(str(path), page.image):
                raise OSError(f"cannot write {path}")
            reference = "\n".join(line.text for line in sorted(page.lines, key=lambda line: line.order))
            samples.append(PageSample(path, reference, f"synthetic {page.layout}", SYNTHETIC, page.rotation != 0))
        index += 1
    return samples


# --- engines -------------------------------------------------------------------------------------


def run_peer(python: Path, engine: str, samples: list[PageSample], threads: int, warmup: int) -> EngineResult:
    """One peer over every page in a `tests.bench.peers` subprocess. If its native code crashes on a
    page, that page counts as failed and the peer is restarted on the rest."""
    command = [str(python), "-m", "tests.bench.peers", "--engine", f"{engine}-page"]
    command += ["--threads", str(threads), "--warmup", str(warmup)]
    meta, records, crashed = run_peer_process(command, [str(sample.path) for sample in samples], threads)
    errors = [f"{Path(path).name}: {record['error']}" for path, record in records.items() if record.get("error")]
    texts = {path: str(record.get("text") or "") for path, record in records.items()}
    ms = {path: float(record["ms"]) for path, record in records.items() if not record.get("error")}
    about = f"{meta['version']}; timed: {meta['timing']}; warm-up: {meta['warmup']}"
    result = score_pages(meta["name"], about, samples, texts, ms, len(errors) + len(crashed))
    result.notes = errors + [f"{Path(path).name}: the engine crashed" for path in crashed]
    return result


def run_ours(
    recogniser: Path, detector: Path, samples: list[PageSample], threads: int, warmup: int, greedy: bool = False
) -> EngineResult:
    """Our page reader in this process, timed over the same span as the peers' (read, OpenCV decode,
    the whole pipeline); as served, or with greedy decoding."""
    import cv2
    import numpy as np
    import torch

    try:
        from model.inference.assemble import Checkpoints, load_reader
    except ImportError as err:
        raise PeerUnavailable(f"model.inference is not importable ({err})") from err
    for weights in (recogniser, detector):
        if not weights.is_file():
            raise PeerUnavailable(f"{weights} does not exist")
    from model.training.paths import DEFAULT_LM

    torch.set_num_threads(threads)
    reader = load_reader(Checkpoints(recogniser, detector, None if greedy else DEFAULT_LM))

    def read(data: bytes) -> str:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("OpenCV cannot decode the image")
        return str(reader.read(image, mode="page")["text"])

    paths = [str(sample.path) for sample in samples]
    for _ in range(warmup if paths else 0):
        recognise_file(read, paths[0])
    records = {path: recognise_file(read, path) for path in paths}
    errors = [f"{Path(path).name}: {record['error']}" for path, record in records.items() if record["error"]]
    texts = {path: str(record["text"]) for path, record in records.items()}
    ms = {path: float(record["ms"]) for path, record in records.items() if not record["error"]}
    about = (
        f"model.inference.reader.pipeline.PageReader, recogniser {shown(recogniser)}, detector {shown(detector)}, "
        f"{'greedy decoding' if greedy else 'beam search with the language model'}, torch {torch.__version__}; "
        f"timed: read + OpenCV decode + PageReader.read(mode='page'), {threads} thread(s); warm-up: {warmup} run(s) "
        f"on the first page"
    )
    result = score_pages("ours greedy" if greedy else "ours", about, samples, texts, ms, len(errors))
    result.notes = errors
    return result


def shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --- command line --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="real pages with labels.tsv")
    parser.add_argument("--limit", type=int, help="only the first N real pages (a quick check)")
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS, help="book pages with labels.tsv (none: skip)")
    parser.add_argument("--documents", type=Path, default=DEFAULT_DOCUMENTS, help="a `make documents` folder")
    parser.add_argument("--document-pages", type=int, default=DOCUMENT_PAGES, help="its validation pages (0: none)")
    parser.add_argument("--synthetic", type=int, default=SYNTHETIC_PAGES, help="synthetic pages (0: none)")
    parser.add_argument("--seed", default=SYNTHETIC_SEED, help="seed of the synthetic pages")
    parser.add_argument("--synthetic-dir", type=Path, help="keep the synthetic pages here (default: a temp folder)")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {','.join(ENGINES)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for every engine")
    parser.add_argument("--warmup", type=int, default=WARMUP_PAGES, help="untimed runs on the first page")
    parser.add_argument("--peers-python", type=Path, default=DEFAULT_PEERS_PYTHON)
    parser.add_argument("--recogniser", type=Path, default=DEFAULT_RECOGNISER)
    parser.add_argument("--detector", type=Path, default=DEFAULT_DETECTOR)
    parser.add_argument("--per-page", action="store_true", help="also print every page's accuracy and time")
    args = parser.parse_args(argv)
    engines = [name for name in args.engines.split(",") if name]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")

    load = os.getloadavg()[0]
    samples = read_real_pages(args.pages)[: args.limit]
    notes = []
    if args.books.is_dir():
        samples += read_real_pages(args.books, BOOKS)[: args.limit]
    else:
        notes.append(f"- books: {args.books} not found, not measured")
    if args.document_pages > 0:
        if (args.documents / "pages").is_dir():
            samples += read_document_pages(args.documents, args.document_pages)[: args.limit]
        else:
            notes.append(f"- documents: {args.documents} not found (`make documents` writes it), not measured")
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        synthetic_dir = args.synthetic_dir or Path(tmp)
        synthetic_dir.mkdir(parents=True, exist_ok=True)
        if args.synthetic > 0:
            print(f"rendering {args.synthetic} synthetic pages (seed {args.seed!r}) ...", flush=True)
            samples += render_synthetic_pages(synthetic_dir, args.synthetic, args.seed)
        results: list[EngineResult] = []
        skipped: list[str] = []
        for engine in engines:
            print(f"running {engine} on {len(samples)} pages ...", flush=True)
            try:
                if engine in ("ours", "ours-greedy"):
                    greedy = engine == "ours-greedy"
                    results.append(run_ours(args.recogniser, args.detector, samples, args.threads, args.warmup, greedy))
                else:
                    results.append(run_peer(args.peers_python, engine, samples, args.threads, args.warmup))
            except (PeerUnavailable, OSError) as err:
                skipped.append(f"- {engine}: not run ({err})")
    print()
    if results:
        print(format_table(table_rows(samples), results))
        print()
        if args.per_page:
            print(format_per_page(samples, results))
            print()
    count = {name: sum(sample.subset == name for sample in samples) for name in SET_ORDER}
    turned = sum(sample.turned for sample in samples)
    print(
        f"{count[REAL]} real pages from {args.pages}, {count[BOOKS]} book pages from {args.books}, "
        f"{count[DOCUMENTS]} real-document validation pages from {args.documents} (seed {DOCUMENT_SEED}) and "
        f"{count[SYNTHETIC]} synthetic pages (PageRenderer, seed "
        f"{args.seed!r}, empty pages skipped, {turned} of them turned by 90, 180 or 270 degrees); acc = character "
        f"accuracy on the whole page text in the order returned (model.training.metrics normalisation; the "
        f"document pages without order: their layer's order is not reading order); "
        "s/page = median "
        f"seconds per page of that row (failed pages left out) on {args.threads} CPU thread(s) per engine "
        f"(1-minute load average at the start: {load:.2f} on {os.cpu_count()} cores)."
    )
    for result in results:
        print(f"- {result.name}: {result.about}; {result.failed} page(s) failed (scored as empty output).")
        for note in result.notes:
            print(f"  - {note}")
    for line in skipped + notes:
        print(line)


if __name__ == "__main__":
    main()
