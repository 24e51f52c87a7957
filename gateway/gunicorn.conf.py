"""Gunicorn settings of the gateway: the one place for `make run` and the Docker image (they add only
where to bind and where the logs go)."""

# Two synchronous workers: one request each, on the reference 2-core host.
workers = 2
# Seconds a worker may spend on one request before gunicorn kills it. Above the gateway's own PDF
# deadline (OCR_PDF_TIMEOUT_S, 50 s), so a long PDF is answered 504 instead of losing its worker.
timeout = 60
