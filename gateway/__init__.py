"""HTTP gateway in front of the TorchServe ``crnn_ocr`` model.

The gateway validates requests at the edge (JSON shape, base64, image magic
numbers, body size, reading mode), forwards each image and its mode to
TorchServe through the single client in :mod:`gateway.torchserve`, renders PDFs
page by page into images (:mod:`gateway.pdf`), and serves the static web UI. It
never imports torch: everything model-related lives behind TorchServe.
"""
