"""WSGI entry point for gunicorn, run from the repository root::

    gunicorn --config gateway/gunicorn.conf.py --bind 127.0.0.1:5000 gateway.wsgi:app

Workers and their timeout are set in ``gateway/gunicorn.conf.py``.

The only module that builds an app at import time, and the only place logging
is configured, because both are deployment decisions rather than library ones.
"""

import logging

from gateway.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
