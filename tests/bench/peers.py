"""Peer OCR engines for `make bench-accuracy` (lines) and `make bench-pages` (whole pages), run as a
subprocess inside `.venv-peers`.

They live in their own virtualenv so that none of them (onnxruntime, a second OpenCV, Tesseract) ever
becomes a dependency of the service; this module therefore imports nothing from `model` and nothing
outside the standard library at module level. Tesseract needs no Python package at all: it is Debian's
library, called through its C API.

Reads image paths from stdin, one per line. Prints one JSON object per line on stdout: first
``{"meta": {...}}`` once the engine is loaded and warmed up, then ``{"file", "text", "ms", "error"}``
per image, flushed at once so that results survive a crash of the engine's native code. ``ms`` covers
reading the file, decoding the image and recognising the line (the span `model.training.evaluate` times for our
model), never loading the engine. An image the engine fails on gives ``text: ""`` and the error.

The ``*-page`` engines read a whole page instead (detection, and for RapidOCR its direction classifier,
then recognition) and return its lines joined by newlines in the engine's own order. They decode the
file with OpenCV into a 3-channel BGR image, as `tests.bench.pages` does for our reader, so every
engine sees the same pixels; their ``ms`` covers reading, decoding and the whole page pipeline.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import ctypes.util
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Recognise = Callable[[bytes], str]
WARMUP_RUNS = 3


def tessdata_dir() -> str:
    """Folder of Debian's traineddata: $TESSDATA_PREFIX, else whatever the `tesseract` CLI reports."""
    if os.environ.get("TESSDATA_PREFIX"):
        return os.environ["TESSDATA_PREFIX"]
    if shutil.which("tesseract") is None:
        raise RuntimeError("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout
    # First line: List of available languages in "/usr/share/tesseract-ocr/5/tessdata/" (3):
    return listing.split('"')[1]


def _library(*names: str) -> str:
    for name in names:
        found = ctypes.util.find_library(name)
        if found:
            return found
    raise RuntimeError(f"lib{names[0]} not found (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")


def _tesseract_api(threads: int, psm: int):
    """Debian's libtesseract and libleptonica through ctypes, and an API handle with chi_sim+eng loaded
    and the page segmentation mode set."""
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # read by OpenMP when libtesseract loads
    tess = ctypes.CDLL(_library("tesseract"))
    lept = ctypes.CDLL(_library("leptonica", "lept"))
    tess.TessVersion.restype = ctypes.c_char_p
    tess.TessBaseAPICreate.restype = ctypes.c_void_p
    tess.TessBaseAPIInit3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    tess.TessBaseAPISetPageSegMode.argtypes = [ctypes.c_void_p, ctypes.c_int]
    tess.TessBaseAPISetImage.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_int] * 4
    tess.TessBaseAPISetImage2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    tess.TessBaseAPIGetUTF8Text.argtypes = [ctypes.c_void_p]
    tess.TessBaseAPIGetUTF8Text.restype = ctypes.c_void_p  # freed with TessDeleteText, so not c_char_p
    tess.TessDeleteText.argtypes = [ctypes.c_void_p]
    lept.pixReadMem.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lept.pixReadMem.restype = ctypes.c_void_p
    lept.pixDestroy.argtypes = [ctypes.POINTER(ctypes.c_void_p)]

    tessdata = tessdata_dir()
    api = tess.TessBaseAPICreate()
    if tess.TessBaseAPIInit3(api, tessdata.encode(), b"chi_sim+eng") != 0:
        raise RuntimeError(f"cannot load chi_sim+eng from {tessdata}")
    tess.TessBaseAPISetPageSegMode(api, psm)
    tess.TessBaseAPIDelete.argtypes = [ctypes.c_void_p]
    atexit.register(tess.TessBaseAPIDelete, api)  # else Tesseract reports its dictionaries as leaked
    return tess, lept, api, tessdata


def _utf8_text(tess, api) -> str:
    """Recognise the image set on ``api`` and return its text."""
    text = tess.TessBaseAPIGetUTF8Text(api)
    if not text:
        raise RuntimeError("recognition failed")
    try:
        return ctypes.string_at(text).decode("utf-8", errors="replace")
    finally:
        tess.TessDeleteText(text)


def load_tesseract(threads: int) -> tuple[Recognise, dict[str, str]]:
    """Debian's own libtesseract through its C API (ctypes), so the engine is the one the `tesseract`
    CLI runs, with the chi_sim+eng model loaded once instead of once per line as a CLI call would.
    (The tesserocr wheel bundles a different libtesseract, 5.5, which reads these lines less well.)"""
    tess, lept, api, tessdata = _tesseract_api(threads, 7)  # PSM_SINGLE_LINE, as `--psm 7`

    def recognise(data: bytes) -> str:
        pix = ctypes.c_void_p(lept.pixReadMem(data, len(data)))  # the decoder the CLI uses
        if not pix:
            raise ValueError("leptonica cannot decode the image")
        try:
            tess.TessBaseAPISetImage2(api, pix)
            return _utf8_text(tess, api)
        finally:
            lept.pixDestroy(ctypes.byref(pix))

    meta = {
        "name": "Tesseract",
        "version": f"Debian libtesseract {tess.TessVersion().decode()} (C API), traineddata {tessdata}, "
        "chi_sim+eng, psm 7 (single line)",
        "timing": f"read + leptonica decode + SetImage + GetUTF8Text, model loaded once; OMP_THREAD_LIMIT={threads}",
    }
    return recognise, meta


def _decode_bgr(data: bytes):
    """A file's bytes as OpenCV decodes them: H x W x 3 uint8, BGR (grey and bi-level scans expanded)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("OpenCV cannot decode the image")
    return image


def load_tesseract_page(threads: int) -> tuple[Recognise, dict[str, str]]:
    """The same libtesseract reading a whole page with automatic page segmentation (psm 3, as the CLI's
    default), from the OpenCV-decoded image handed over as RGB pixels. Those carry no resolution, so
    Tesseract estimates one from the text height, as it does for any image without a dpi tag."""
    import cv2

    tess, _, api, tessdata = _tesseract_api(threads, 3)  # PSM_AUTO: layout analysis, no OSD

    def recognise(data: bytes) -> str:
        rgb = cv2.cvtColor(_decode_bgr(data), cv2.COLOR_BGR2RGB)  # 3 bytes per pixel means RGB to Tesseract
        height, width = rgb.shape[:2]
        tess.TessBaseAPISetImage(api, rgb.ctypes.data, width, height, 3, rgb.strides[0])
        return _utf8_text(tess, api)

    meta = {
        "name": "Tesseract",
        "version": f"Debian libtesseract {tess.TessVersion().decode()} (C API), traineddata {tessdata}, "
        "chi_sim+eng, psm 3 (automatic page segmentation, no OSD)",
        "timing": f"read + OpenCV decode + SetImage + GetUTF8Text, model loaded once; OMP_THREAD_LIMIT={threads}",
    }
    return recognise, meta


def load_rapidocr(threads: int) -> tuple[Recognise, dict[str, str]]:
    """RapidOCR 1.4.4 (PP-OCRv4 recogniser), recognition only: no detection, no angle classifier."""
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def recognise(data: bytes) -> str:
        result, _ = engine(data, use_det=False, use_cls=False, use_rec=True)
        return "".join(text for text, _score in result or [])

    meta = {
        "name": "RapidOCR 1.4",
        "version": f"rapidocr_onnxruntime {importlib.metadata.version('rapidocr_onnxruntime')}, PP-OCRv4 rec, "
        f"onnxruntime {importlib.metadata.version('onnxruntime')}",
        "timing": f"read + decode + recognition only (no det, no cls), {threads} onnxruntime thread(s)",
    }
    return recognise, meta


def _rapidocr3_engine(threads: int):  # returns rapidocr.RapidOCR, importable in .venv-peers only
    from rapidocr import RapidOCR

    return RapidOCR(
        params={
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def load_rapidocr3(threads: int) -> tuple[Recognise, dict[str, str]]:
    """RapidOCR 3 with its bundled PP-OCRv6 small recogniser, recognition only."""
    engine = _rapidocr3_engine(threads)

    def recognise(data: bytes) -> str:
        result = engine(data, use_det=False, use_cls=False, use_rec=True)
        return "".join(result.txts or ())

    meta = {
        "name": "RapidOCR 3",
        "version": f"rapidocr {importlib.metadata.version('rapidocr')}, PP-OCRv6 small rec, "
        f"onnxruntime {importlib.metadata.version('onnxruntime')}",
        "timing": f"read + decode + recognition only (no det, no cls), {threads} onnxruntime thread(s)",
    }
    return recognise, meta


def load_rapidocr_page(threads: int) -> tuple[Recognise, dict[str, str]]:
    """RapidOCR 1.4.4's whole pipeline with its default settings: PP-OCRv4 detection, the text
    direction classifier, recognition; lines in its own order (boxes sorted top to bottom, then left
    to right)."""
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def recognise(data: bytes) -> str:
        result, _ = engine(_decode_bgr(data), use_det=True, use_cls=True, use_rec=True)
        return "\n".join(text for _box, text, _score in result or [])

    meta = {
        "name": "RapidOCR 1.4",
        "version": f"rapidocr_onnxruntime {importlib.metadata.version('rapidocr_onnxruntime')}, PP-OCRv4 det + "
        f"mobile v2.0 cls + PP-OCRv4 rec, default settings, onnxruntime {importlib.metadata.version('onnxruntime')}",
        "timing": f"read + OpenCV decode + det + cls + rec, {threads} onnxruntime thread(s)",
    }
    return recognise, meta


def load_rapidocr3_page(threads: int) -> tuple[Recognise, dict[str, str]]:
    """RapidOCR 3's whole pipeline with its bundled default models and settings (detection, direction
    classifier, recognition); lines in its own order."""
    engine = _rapidocr3_engine(threads)

    def recognise(data: bytes) -> str:
        result = engine(_decode_bgr(data), use_det=True, use_cls=True, use_rec=True)
        return "\n".join(result.txts or ())

    meta = {
        "name": "RapidOCR 3",
        "version": f"rapidocr {importlib.metadata.version('rapidocr')}, bundled PP-OCRv6 small det + mobile v2.0 cls + "
        f"PP-OCRv6 small rec, default settings, onnxruntime {importlib.metadata.version('onnxruntime')}",
        "timing": f"read + OpenCV decode + det + cls + rec, {threads} onnxruntime thread(s)",
    }
    return recognise, meta


ENGINES: dict[str, Callable[[int], tuple[Recognise, dict[str, str]]]] = {
    "tesseract": load_tesseract,
    "rapidocr": load_rapidocr,
    "rapidocr3": load_rapidocr3,
    "tesseract-page": load_tesseract_page,
    "rapidocr-page": load_rapidocr_page,
    "rapidocr3-page": load_rapidocr3_page,
}


def recognise_file(recognise: Recognise, path: str) -> dict[str, object]:
    """One timed line; any exception becomes an empty text with the error, so one bad image costs one line."""
    start = time.perf_counter()
    try:
        text, error = recognise(Path(path).read_bytes()).strip(), None
    except Exception as err:  # noqa: BLE001 - a peer's failure on one image must not end the run
        text, error = "", f"{type(err).__name__}: {err}"
    return {"file": path, "text": text, "ms": (time.perf_counter() - start) * 1000, "error": error}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES), required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=WARMUP_RUNS, help="untimed runs on the first image")
    args = parser.parse_args(argv)
    paths = [line.strip() for line in sys.stdin if line.strip()]
    recognise, meta = ENGINES[args.engine](args.threads)
    for _ in range(args.warmup if paths else 0):  # first calls allocate buffers and pick kernels
        recognise_file(recognise, paths[0])
    image = "page" if args.engine.endswith("-page") else "line"
    print(json.dumps({"meta": {**meta, "warmup": f"{args.warmup} run(s) on the first {image}"}}), flush=True)
    for path in paths:
        print(json.dumps(recognise_file(recognise, path), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
