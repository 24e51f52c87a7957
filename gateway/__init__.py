"""HTTP gateway in front of the TorchServe ``crnn_ocr`` model.

The gateway validates requests at the edge (JSON shape, base64, image magic
numbers, body size), forwards raw image bytes to TorchServe through the single
client in :mod:`gateway.torchserve`, and serves the static web UI. It never
imports torch: everything model-related lives behind TorchServe.
"""
