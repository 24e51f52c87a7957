"""Gunicorn settings of the gateway: the one place for `make run`, the Docker image and the tests
(they add only where to bind and where the logs go)."""

import os
import shutil
import tempfile

# The workers' metrics meet in one folder, added up by any worker's /metrics (gateway/metrics.py). A
# fresh one per start unless ops name one (it must then be empty when the gateway starts).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir = tempfile.mkdtemp(prefix="ocr-gateway-metrics-")
else:
    _metrics_dir = None

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
# Each worker is replaced after this many requests (spread by the jitter, so not both at once): what
# a library holds on to (PDFium's caches, allocator fragmentation) is given back to the system.
max_requests = 5000
max_requests_jitter = 500
# Seconds gunicorn waits for a silent worker before restarting it. A threaded worker keeps signalling
# while its threads serve, so this does not bound a request: the gateway's own deadlines do
# (OCR_UPSTREAM_TIMEOUT_S for one call to TorchServe, OCR_PDF_TIMEOUT_S for a whole PDF).
timeout = 60


def child_exit(server, worker) -> None:
    """A worker gone: its in-flight gauge no longer counts."""
    # Imported here, not above: prometheus_client picks its shared-folder mode when first imported,
    # which must happen after the folder is set, and in the workers (forked after this file ran).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
