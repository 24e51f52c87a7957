"""Building the ``.mar`` (``python -m archive.build``, ``make archive``) and what it packs besides the
code: TorchServe's per-model settings (``model-config.yaml``) and the handler's pinned packages
(``requirements.txt``). The build may import ``model.training`` (export) and ``model.inference``."""
