"""One log line per refused ingest request: the app, the status, the reason and the request id.

The troubleshooting guide sends users to the server's log for a 401, 404, 400 or 413, so each
refusal is logged once, with the error the client was answered (our own words: they never
quote the request's content) and never the body. A flood of bad requests must not flood the
log: at most `per_second` lines a second, then one line saying how many were left out.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger("app.ingest.rejected")

# A client's own request id is kept if it is short and plain; anything else is replaced.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id(header: str | None) -> str:
    """The client's `x-request-id` if it is a plain token, else a new one."""
    if header is not None and _CLIENT_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RejectionLog:
    def __init__(self, per_second: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._window = 0.0
        self._logged = 0
        self._left_out = 0

    def rejected(self, *, status: int, error: dict[str, Any], app: str, request: str) -> None:
        with self._lock:
            now = self._clock()
            if now - self._window >= 1.0:
                left_out, self._left_out = self._left_out, 0
                self._window, self._logged = now, 0
                if left_out:
                    log.warning("%d more refused ingest requests were not logged", left_out)
            if self._logged >= self.per_second:
                self._left_out += 1
                return
            self._logged += 1
        detail = error.get("detail") or "; ".join(
            f"{e.get('field') or 'body'}: {e.get('message')}" for e in error.get("errors", ())
        )
        log.warning(
            "ingest refused: %s %s (%s)",
            status,
            error.get("error"),
            detail,
            extra={
                "status": status,
                "reason": error.get("error"),
                "app": app,
                "request_id": request,
            },
        )
