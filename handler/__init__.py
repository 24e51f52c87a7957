"""The TorchServe handler (``ocr_handler.py``), shipped at the root of the ``.mar``. It may import only
``model.inference`` (packed beside it) and the runtime packages: nothing else of this repository
exists where TorchServe runs it."""
