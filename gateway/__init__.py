"""HTTP gateway in front of the TorchServe ``crnn_ocr`` model.

The gateway validates requests at the edge (JSON shape, base64, image magic
numbers, body size, reading mode), forwards each image and its mode to
TorchServe through the single client in :mod:`gateway.torchserve`, renders PDFs
page by page into images (:mod:`gateway.pdf`), and serves the static web UI. It
never imports torch: everything model-related lives behind TorchServe. Of the
model package it imports only the API contract it shares with the handler
(:mod:`model.inference.contract`: reading modes, the image field, the result
shape and confidence), which is plain Python.
"""
