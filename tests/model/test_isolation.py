"""``model.inference`` is the package the archive ships: it must import with ``model.training``,
``model.synth`` and the training-only packages out of reach, and its contract module (which the
gateway imports) without torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFERENCE = ROOT / "model" / "inference"


def _run_blocked(blocked: list[str], code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where importing any of ``blocked`` raises ImportError."""
    prologue = f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prologue + code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_inference_imports_nothing_outside_itself():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in INFERENCE.rglob("*.py")
    )
    assert "model.inference.assemble" in modules and "model.inference.reader.pipeline" in modules
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted(m for m, v in sys.modules.items() if v and m.startswith('model')))\n"
    done = _run_blocked(["model.training", "model.synth", "fontTools", "jieba", "wordfreq", "gateway"], code)
    assert done.returncode == 0, done.stderr
    loaded = eval(done.stdout.strip().splitlines()[-1])
    assert set(loaded) == {"model", *modules}


def test_the_blocking_reaches_indirect_imports():
    """The check above can fail: a module that needs a blocked one, however indirectly, does not
    import (the page reader needs the charset through the decoder)."""
    done = _run_blocked(["model.inference.charset"], "import model.inference.reader.pipeline")
    assert done.returncode != 0 and "model.inference.charset" in done.stderr


def test_the_contract_imports_without_torch():
    done = _run_blocked(["torch", "numpy", "cv2"], "import model.inference.contract, gateway.app")
    assert done.returncode == 0, done.stderr
