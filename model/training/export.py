"""Turn training checkpoints into serving artefacts.

``publish`` / ``publish-detector``: store a checkpoint's weights compactly (float16) as the committed
``model/weights/crnn.pt`` / ``detector.pt``. ``serving``: write the archive folder that
``model.inference.assemble`` reads (the handler, and evaluation through it): both networks in
TorchScript (float32 and bfloat16), the charset, the language model, and the settings of the
network, preprocessing, beam search, detector and page reader, taken from the checkpoints and
``ReaderConfig``, so they can never disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

from model.inference import assemble
from model.inference.checkpoint import load_checkpoint, load_detector
from model.inference.config import BeamConfig, ReaderConfig
from model.inference.language import CharLanguageModel
from model.inference.torchscript import detector_torchscript, to_torchscript
from model.training.checkpoint import save_checkpoint, save_detector
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS


def export_serving(
    recogniser: str | Path,
    detector: str | Path,
    lm: str | Path,
    out_dir: str | Path,
    reader_config: ReaderConfig | None = None,
) -> Path:
    """Write the archive folder of two checkpoints and the language model ``lm`` into ``out_dir``
    (the files ``model.inference.assemble`` names) with the page reader's thresholds
    (``reader_config``, by default the current ``ReaderConfig``); returns the recogniser's
    TorchScript path, the archive's serialized file."""
    model, charset, payload = load_checkpoint(recogniser)
    if CharLanguageModel.load(Path(lm)).vocabulary != charset.num_classes:
        raise ValueError(f"{lm} was not built for charset {charset.version}")
    dbnet, detector_payload = load_detector(detector)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Both precisions: the handler chooses by the CPU it serves on, not the one that built the archive.
    for precision, name in assemble.RECOGNISER_FILES.items():
        to_torchscript(model, precision=precision).save(str(out / name))
    for precision, name in assemble.DETECTOR_FILES.items():
        detector_torchscript(dbnet, precision).save(str(out / name))
    charset.save(out / assemble.CHARSET_FILE)
    shutil.copyfile(lm, out / assemble.LM_FILE)
    meta = {
        "config": payload["config"],
        "charset_version": charset.version,
        "trained_steps": payload.get("step"),
        "beam": BeamConfig().to_dict(),
    }
    _write_json(out / assemble.CONFIG_FILE, meta)
    _write_json(
        out / assemble.DETECTOR_CONFIG_FILE,
        {"config": detector_payload["config"], "trained_steps": detector_payload.get("step")},
    )
    _write_json(out / assemble.READER_CONFIG_FILE, (reader_config or ReaderConfig()).to_dict())
    return out / assemble.RECOGNISER_FILE


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def publish(checkpoint: str | Path, target: str | Path = DEFAULT_WEIGHTS) -> None:
    """Copy weights, config, charset and step count (no optimiser state) in float16."""
    model, charset, payload = load_checkpoint(checkpoint)
    extra = {k: payload[k] for k in ("step", "best_char_accuracy", "documents", "plates") if k in payload}
    save_checkpoint(target, model, charset, extra, half=True)


def publish_detector(checkpoint: str | Path, target: str | Path = DEFAULT_DETECTOR_WEIGHTS, **inference: float) -> None:
    """Store the detector in float16; ``inference`` replaces inference settings of its config
    (``long_side``, ``binarise``, ``min_score``), which are chosen after training, on real pages."""
    model, payload = load_detector(checkpoint)
    model.config = dataclasses.replace(model.config, **inference)
    save_detector(target, model, {k: payload[k] for k in ("step", "best_f1", "documents") if k in payload}, half=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("publish", help="store a run's recogniser checkpoint as the committed weights")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    d = commands.add_parser("publish-detector", help="store a run's detector checkpoint as the committed weights")
    d.add_argument("checkpoint", type=Path)
    d.add_argument("--out", type=Path, default=DEFAULT_DETECTOR_WEIGHTS)
    d.add_argument("--long-side", type=int, help="inference: the input's long side is scaled to this")
    d.add_argument("--binarise", type=float, help="inference: kernel probability threshold")
    t = commands.add_parser("serving", help="write the archive folder the handler reads")
    t.add_argument("--checkpoint", type=Path, default=DEFAULT_WEIGHTS)
    t.add_argument("--detector", type=Path, default=DEFAULT_DETECTOR_WEIGHTS)
    t.add_argument("--lm", type=Path, default=DEFAULT_LM)
    t.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "publish":
        publish(args.checkpoint, args.out)
    elif args.command == "publish-detector":
        settings = {"long_side": args.long_side, "binarise": args.binarise}
        publish_detector(args.checkpoint, args.out, **{k: v for k, v in settings.items() if v is not None})
    else:
        export_serving(args.checkpoint, args.detector, args.lm, args.out_dir)


if __name__ == "__main__":
    main()
