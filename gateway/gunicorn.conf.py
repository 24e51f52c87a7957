"""Gunicorn settings of the gateway: the one place for `make run`, the Docker image and the tests
(they add only where to bind and where the logs go)."""

# Threads, not synchronous workers: a request spends nearly all its time waiting on TorchServe, and
# TorchServe batches what arrives together, so the gateway must hold many requests at once. Two
# synchronous workers held two requests: a 21-character line went through at 49 lines/s at
# concurrency 16, against 140 straight to TorchServe; with these threads, 110 (`make bench`,
# tests/bench/throughput.py). One process of 32 threads measured the same; two keep the gateway up
# while one restarts.
# The threaded worker, answering gunicorn's own protocol errors as JSON (gateway/worker.py).
worker_class = "gateway.worker.JsonErrorWorker"
workers = 2
threads = 16
# Seconds gunicorn waits for a silent worker before restarting it. A threaded worker keeps signalling
# while its threads serve, so this does not bound a request: the gateway's own deadlines do
# (OCR_UPSTREAM_TIMEOUT_S for one call to TorchServe, OCR_PDF_TIMEOUT_S for a whole PDF).
timeout = 60
