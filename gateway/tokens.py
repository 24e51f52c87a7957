"""TorchServe's bearer keys. With token authorisation on (config.properties), TorchServe writes a
key file at start, ``key_file.json`` in its working directory: one key for inference, one for
management, and an API key that renews the other two. The gateway reads the file named by
``OCR_TORCHSERVE_KEY_FILE``; when TorchServe refuses a key (it answers 400 ``InvalidKeyException``:
it restarted with new keys, or the key expired after ``token_expiration_min``), the file is read
again, and if it still holds the same key, TorchServe is asked for a new one with the API key."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import requests

logger = logging.getLogger(__name__)


def refused(response: requests.Response) -> bool:
    """Whether TorchServe refused the key a request carried."""
    if response.status_code not in (400, 401):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == "InvalidKeyException"


class TorchServeKeys:
    def __init__(self, path: str, management_url: str, session: requests.Session, timeout_s: float) -> None:
        self.path = Path(path) if path else None
        self.token_url = f"{management_url}/token"
        self.session, self.timeout_s = session, timeout_s
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def headers(self, kind: str) -> dict[str, str]:
        """The Authorization header for ``kind`` ("inference" or "management"); none without a key
        file (token authorisation off)."""
        if self.path is None:
            return {}
        with self._lock:
            if not self._keys:
                self._read()
            key = self._keys.get(kind)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def renew(self, kind: str) -> bool:
        """After TorchServe refused the ``kind`` key: whether there is another one to try."""
        if self.path is None:
            return False
        with self._lock:
            refused = self._keys.get(kind)
            self._read()
            if self._keys.get(kind) != refused:
                return True  # TorchServe restarted and wrote new keys
            api_key = self._keys.get("API")
            if not api_key:
                return False
            try:
                answer = self.session.get(
                    self.token_url,
                    params={"type": kind},
                    headers={"Authorization": f"Bearer {api_key}"},
                    timeout=self.timeout_s,
                )
            except requests.RequestException as exc:
                logger.warning("TorchServe key renewal failed: %s", exc)
                return False
            if answer.status_code != 200:
                logger.warning("TorchServe refused to renew the %s key: %d", kind, answer.status_code)
                return False
            self._read()
            return self._keys.get(kind) != refused

    def _read(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._keys = {kind: str(entry["key"]) for kind, entry in data.items() if isinstance(entry, dict)}
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("TorchServe key file %s unreadable: %s", self.path, exc)
            self._keys = {}
