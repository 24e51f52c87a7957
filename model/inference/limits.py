"""How much one page may cost, set by the deployment (the handler reads them from the archive's
``model-config.yaml``; evaluation sets none). They bound a request, they do not change a reading: a
page within them reads exactly as without them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from model.inference.contract import InputError


@dataclass(frozen=True)
class PageLimits:
    # Text lines read from one image at most (None: no limit); a page with more is refused whole.
    max_lines: int | None = None
    # ``time.monotonic()`` by which the page must be read (None: no deadline). TorchServe kills a
    # worker whose batch outlives its response timeout, and with it every request it holds: a page
    # that would is given up instead.
    deadline: float | None = None

    def check_lines(self, count: int) -> None:
        if self.max_lines is not None and count > self.max_lines:
            raise InputError(
                "too_many_lines",
                f"the image has {count} text lines; at most {self.max_lines} are read in one request: send it in parts",
            )

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise InputError("page_timeout", "the page could not be read in the time one request may take")


# Evaluation and the benchmarks read whatever they are given.
NO_LIMITS = PageLimits()
