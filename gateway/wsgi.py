"""WSGI entry point for gunicorn, run from the repository root::

    gunicorn --bind 127.0.0.1:5000 --workers 2 --timeout 60 gateway.wsgi:app

``--timeout`` must exceed ``OCR_UPSTREAM_TIMEOUT_S`` (30 s by default), or
gunicorn kills a worker that is still waiting on a slow model.

The only module that builds an app at import time, and the only place logging
is configured, because both are deployment decisions rather than library ones.
"""

import logging

from gateway.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
