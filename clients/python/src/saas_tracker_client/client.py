"""The synchronous client for `POST /v1/ingest` (CONTRACT §2), and its buffered wrapper.

Most applications want `saas_tracker_client.Tracker` (background sending, never raises); this
is the layer under it, for scripts and tools that want each answer (or exception) at once:

    from saas_tracker_client import TrackerClient

    with TrackerClient("https://tracker.example.com", APP_UUID, API_SECRET) as tracker:
        tracker.track({"event": "ai_call_completed", "customer_org_id": "acme-corp",
                       "properties": {"feature": "support_reply_generator",
                                      "provider": "openai", "model": "gpt-5.4-mini",
                                      "input_tokens": 1200, "output_tokens": 350}})

What it promises:
- The body is serialised once, signed over those exact bytes (`saas_tracker_client.signature`,
  the helper the server's verifier is built from) and those exact bytes are sent: no
  re-serialisation between signing and sending, the first cause of signature mismatches.
- Every event gets a client-side `event_id` (uuid4) before the first attempt, so a retry
  after a lost 202 repeats the same ids and the server stores each event once.
- 503 (and the 502/504 of a proxy in front), timeouts and connection errors are retried with
  exponential backoff and jitter, honouring `Retry-After`; any other answer is final:
  4xx are never retried, they raise `IngestRejected` with the status and the error body.
- Prompts, messages, completions and transcripts are dropped before the body is built
  (`saas_tracker_client.privacy`, the rule the server applies too), so they never leave the
  process.
- Batches are split into requests within the server's limits (500 events, 1 MiB).

`BufferedTracker` adds an in-memory buffer flushed from a background thread.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import httpx

from saas_tracker_client._version import __version__
from saas_tracker_client.privacy import strip_private
from saas_tracker_client.signature import sign_headers

log = logging.getLogger(__name__)

INGEST_PATH = "/v1/ingest"
# The server's default limits (Settings.max_batch_events / max_request_bytes).
MAX_BATCH_EVENTS = 500
MAX_REQUEST_BYTES = 1024 * 1024
# 503 is the server's "queue unavailable, nothing accepted"; 502 and 504 come from a proxy
# in front of it. Retrying any of them is safe because event_ids make the request idempotent.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# A Retry-After longer than this is treated as this: a client must not sleep for a day
# because a proxy said so.
MAX_RETRY_AFTER_S = 300.0
USER_AGENT = f"saas-tracker-python/{__version__}"

_BATCH_OPEN = b'{"batch":['
_BATCH_CLOSE = b"]}"
# Transient failures of the transport; UnsupportedProtocol, proxy or local protocol errors are
# mistakes that a retry would only repeat.
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

Event = Mapping[str, Any]


class TrackerError(Exception):
    """Root of the client's errors."""


class EventTooLarge(TrackerError, ValueError):
    """An event does not fit in one request even alone; nothing was sent."""


class IngestRejected(TrackerError):
    """The server refused a request (any 4xx, or a 5xx that is not retried); never retried.

    `status` and `body` are the server's answer (`body` is the parsed JSON error, e.g.
    `{"error": "validation_error", "errors": [...]}`, or the raw text); `error` is its
    `error` code. `event_ids` are the ids of the refused request, `accepted` those of the
    earlier requests of the same call, which the server did accept.
    """

    def __init__(
        self, status: int, body: Any, *, event_ids: list[str], accepted: list[str]
    ) -> None:
        self.status = status
        self.body = body
        self.error: str | None = body.get("error") if isinstance(body, dict) else None
        self.event_ids = event_ids
        self.accepted = accepted
        super().__init__(f"ingest refused the request: {status} {_describe(body)}")


class IngestUnavailable(TrackerError):
    """Still unavailable (503, timeout, connection error) after every retry.

    `status` is the last HTTP status (None when the last attempt got no answer); the events
    may or may not have been accepted (a 202 can be lost), so sending them again later with
    the same `event_ids` is safe. `accepted` are the ids of earlier requests of the same call.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None,
        attempts: int,
        event_ids: list[str],
        accepted: list[str],
    ) -> None:
        self.status = status
        self.attempts = attempts
        self.event_ids = event_ids
        self.accepted = accepted
        super().__init__(f"ingest unavailable after {attempts} attempts: {reason}")


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        details = {k: v for k, v in body.items() if k != "error"}
        return f"{body.get('error')} {json.dumps(details, ensure_ascii=False)}"
    return str(body)[:500]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # json cannot write a Decimal as a number: the nearest float keeps 17 significant
        # digits, which is more than any cost has. NaN/Infinity then fail allow_nan=False.
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The compact UTF-8 JSON of one event, as it goes into a request body."""
    # allow_nan=False: the server rejects NaN/Infinity, better to fail here with a traceback.
    text = json.dumps(
        event,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
        default=_json_default,
    )
    return text.encode("utf-8")


def prepare_event(event: Event) -> dict[str, Any]:
    """A copy of `event` that is safe to send: private fields dropped, an `event_id` set.

    The id is assigned here, before any attempt, so that every retry repeats it.
    """
    if not isinstance(event, Mapping):
        raise TypeError(f"an event is a mapping, not {type(event).__name__}")
    prepared: dict[str, Any] = strip_private(dict(event))
    if prepared.get("event_id") is None:
        prepared["event_id"] = str(uuid.uuid4())
    return prepared


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class TrackerClient:
    """Send signed events to `POST /v1/ingest`. Thread-safe; close it (or use `with`).

    `max_retries` counts the attempts after the first; `backoff` is the first delay in
    seconds, doubled at each retry up to `max_backoff`, with jitter. `timestamped` adds
    `x-timestamp` (replay protection; needs a clock within 300 s of the server's).
    `http_client` replaces the internal `httpx.Client` (it is then not closed by `close`).
    """

    def __init__(
        self,
        base_url: str,
        app_uuid: str | uuid.UUID,
        api_secret: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timestamped: bool = True,
        max_batch_events: int = MAX_BATCH_EVENTS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not api_secret:
            raise ValueError("api_secret is required (the app's API secret, shown once).")
        if max_retries < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("max_retries, backoff and max_backoff must not be negative.")
        if max_batch_events < 1 or max_request_bytes <= len(_BATCH_OPEN + _BATCH_CLOSE):
            raise ValueError("max_batch_events and max_request_bytes are too small.")
        self.url = base_url.rstrip("/") + INGEST_PATH
        self.app_uuid = str(uuid.UUID(str(app_uuid)))  # fails early on a typo
        self._secret = api_secret
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timestamped = timestamped
        self.max_batch_events = max_batch_events
        self.max_request_bytes = max_request_bytes
        # What a batch request leaves for its events once the envelope is counted.
        self._batch_room = max_request_bytes - len(_BATCH_OPEN) - len(_BATCH_CLOSE)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=timeout, headers={"user-agent": USER_AGENT}
        )
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:  # never the secret
        return f"TrackerClient(url={self.url!r}, app_uuid={self.app_uuid!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def track(self, event: Event) -> list[str]:
        """Send one event (as a single-event body); returns `[event_id]` once accepted."""
        prepared = prepare_event(event)
        body = encode_event(prepared)
        if len(body) > self.max_request_bytes:
            raise EventTooLarge(
                f"the event takes {len(body)} bytes; a request may take {self.max_request_bytes}"
            )
        return self._send(body, [prepared["event_id"]], accepted=[])

    def track_batch(
        self, events: Iterable[Event], *, give_up_after_s: float | None = None
    ) -> list[str]:
        """Send events in as few requests as the limits allow; returns every event_id, in order.

        Each request is all-or-nothing on the server. When one fails, the exception carries
        the ids of the requests accepted before it (`accepted`); later ones are not sent.
        `give_up_after_s` bounds the time spent waiting between retries (see `send_encoded`).
        """
        prepared = [prepare_event(event) for event in events]
        # Every event is checked before anything is sent, so that nothing is sent when one
        # cannot be.
        encoded = [self.encode_for_batch(event, index) for index, event in enumerate(prepared)]
        ids = [str(event["event_id"]) for event in prepared]
        return self.send_encoded(ids, encoded, give_up_after_s=give_up_after_s)

    def encode_for_batch(self, prepared: Mapping[str, Any], index: int = 0) -> bytes:
        """`encode_event(prepared)`, or EventTooLarge when it cannot fit in any request."""
        data = encode_event(prepared)
        if len(data) > self._batch_room:
            raise EventTooLarge(
                f"event {index} takes {len(data)} bytes; a request may take "
                f"{self.max_request_bytes} with its envelope"
            )
        return data

    def send_encoded(
        self,
        event_ids: list[str],
        encoded: list[bytes],
        *,
        give_up_after_s: float | None = None,
    ) -> list[str]:
        """Send events already prepared and encoded (`encode_for_batch`), split into requests.

        `event_ids[i]` is the `event_id` inside `encoded[i]`. With `give_up_after_s`, a retry
        whose wait would end past that many seconds from now is not made: the call raises
        IngestUnavailable instead (a shutdown must not wait for a long Retry-After).
        """
        give_up_at = None if give_up_after_s is None else time.monotonic() + give_up_after_s
        accepted: list[str] = []
        for start, end in self._chunks(encoded, self._batch_room):
            body = _BATCH_OPEN + b",".join(encoded[start:end]) + _BATCH_CLOSE
            accepted.extend(
                self._send(
                    body,
                    event_ids[start:end],
                    accepted=accepted,
                    compress=True,
                    give_up_at=give_up_at,
                )
            )
        return accepted

    def _chunks(self, encoded: list[bytes], limit: int) -> Iterable[tuple[int, int]]:
        """[start, end) ranges of at most max_batch_events events and `limit` bytes."""
        start, size = 0, 0
        for index, data in enumerate(encoded):
            extra = len(data) + (1 if index > start else 0)  # the comma
            if index > start and (index - start >= self.max_batch_events or size + extra > limit):
                yield start, index
                start, extra, size = index, len(data), 0
            size += extra
        if start < len(encoded):
            yield start, len(encoded)

    def _send(
        self,
        body: bytes,
        event_ids: list[str],
        *,
        accepted: list[str],
        compress: bool = False,
        give_up_at: float | None = None,
    ) -> list[str]:
        """POST `body` until accepted; the bytes never change, only the signature headers.

        `compress` sends it gzipped (batches: JSON of many similar events shrinks several
        times); the signature covers the JSON before compression, as the server checks it."""
        wire = gzip.compress(body, compresslevel=5, mtime=0) if compress else body
        encoding = {"content-encoding": "gzip"} if compress else {}
        attempt = 0
        while True:
            # A fresh timestamp per attempt: a retry after a long Retry-After must not be
            # refused as a replay. The signature covers the same body bytes every time.
            timestamp = int(time.time()) if self.timestamped else None
            headers = {
                "content-type": "application/json",
                **encoding,
                **sign_headers(self._secret, body, timestamp, app_uuid=self.app_uuid),
            }
            status: int | None = None
            retry_after: float | None = None
            try:
                response = self._http.post(self.url, content=wire, headers=headers)
            except _RETRYABLE_ERRORS as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 202:
                    return list(response.json()["event_ids"])
                error_body = _response_body(response)
                if status not in RETRYABLE_STATUSES:
                    raise IngestRejected(
                        status, error_body, event_ids=event_ids, accepted=list(accepted)
                    )
                reason = f"{status} {_describe(error_body)}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            delay = retry_after if retry_after is not None else self._backoff_delay(attempt)
            out_of_time = give_up_at is not None and time.monotonic() + delay > give_up_at
            if attempt >= self.max_retries or out_of_time:
                raise IngestUnavailable(
                    reason,
                    status=status,
                    attempts=attempt + 1,
                    event_ids=event_ids,
                    accepted=list(accepted),
                )
            log.warning(
                "ingest attempt %d failed (%s); retrying in %.2f s", attempt + 1, reason, delay
            )
            self._sleep(delay)
            attempt += 1

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": never 0, never in lockstep with others."""
        ceiling = min(self.max_backoff, self.backoff * 2.0**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)


def _response_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class BufferFull(TrackerError):
    """`BufferedTracker.enqueue` found `max_buffer` events waiting: the event was not taken."""


class BufferedTracker:
    """Buffer events in memory and send them in batches from a background thread.

    `enqueue` returns at once with the event's id; the buffer is sent every
    `flush_interval_s`, as soon as it holds a full batch, on `flush()` and on `close()`.
    A background send that fails is logged and handed to `on_error(exc, event_ids)`; its
    events are not retried later (the client already retried them). Events are lost if the
    process dies before a flush: call `close()` (or use `with`) on shutdown.

    Events are encoded when enqueued, so that an event that cannot be sent (not JSON, too
    large) fails in the caller's hands instead of sinking the batch it would have joined.
    The thread starts with the first event: a tracker made at import time in a server that
    forks its workers gets one thread per worker, not a dead one inherited from the parent.
    """

    def __init__(
        self,
        client: TrackerClient,
        *,
        flush_interval_s: float = 1.0,
        max_buffer: int = 10_000,
        on_error: Callable[[TrackerError, list[str]], None] | None = None,
    ) -> None:
        self.client = client
        self.flush_interval_s = flush_interval_s
        self.max_buffer = max_buffer
        self.on_error = on_error
        self._ids: list[str] = []
        self._encoded: list[bytes] = []
        self._lock = threading.Lock()
        # One send at a time, so that flush() returns only after earlier events are sent.
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        """How many events wait to be sent."""
        with self._lock:
            return len(self._ids)

    def enqueue(self, event: Event) -> str:
        """Buffer one event; returns its event_id (assigned now).

        Raises EventTooLarge, TypeError or ValueError for an event that cannot be sent,
        BufferFull when `max_buffer` events wait, TrackerError once closed.
        """
        prepared = prepare_event(event)
        event_id = str(prepared["event_id"])
        data = self.client.encode_for_batch(prepared)
        with self._lock:
            if self._closed:
                raise TrackerError("the tracker is closed")
            if len(self._ids) >= self.max_buffer:
                raise BufferFull(f"{self.max_buffer} events are waiting to be sent")
            self._ids.append(event_id)
            self._encoded.append(data)
            full = len(self._ids) >= self.client.max_batch_events
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="saas-tracker-flush", daemon=True
                )
                self._thread.start()
        if full:
            self._wake.set()
        return event_id

    def flush(self, *, give_up_after_s: float | None = None) -> list[str]:
        """Send everything buffered now; returns the accepted ids, raises on failure."""
        with self._send_lock:
            ids, encoded = self._take()
            if not ids:
                return []
            return self.client.send_encoded(ids, encoded, give_up_after_s=give_up_after_s)

    def close(self, *, timeout: float | None = None) -> None:
        """Stop the thread and send what is left (raises if that last send fails).

        With `timeout`, the whole of it takes about that long at most (a retry that would
        wait past it is not made): events still unsent then are logged and dropped.
        """
        give_up_at = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(None if give_up_at is None else max(give_up_at - time.monotonic(), 0))
        # The thread may still be in a send (retrying): then the lock is not ours in time.
        if not self._send_lock.acquire(timeout=_remaining(give_up_at)):
            log.error("dropping %d events: still sending when closed", len(self))
            return
        try:
            ids, encoded = self._take()
            if ids:
                left = None if give_up_at is None else max(give_up_at - time.monotonic(), 0)
                self.client.send_encoded(ids, encoded, give_up_after_s=left)
        finally:
            self._send_lock.release()

    def _take(self) -> tuple[list[str], list[bytes]]:
        with self._lock:
            taken = self._ids, self._encoded
            self._ids, self._encoded = [], []
        return taken

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
            with self._send_lock:
                ids, encoded = self._take()
                if not ids:
                    continue
                try:
                    self.client.send_encoded(ids, encoded)
                except TrackerError as exc:
                    log.error("dropping %d events: %s", len(ids), exc)
                    if self.on_error is not None:
                        try:
                            self.on_error(exc, ids)
                        except Exception:
                            log.exception("the on_error callback failed")
                except Exception:
                    # Anything else (a bad URL scheme, a bug) must not kill the thread
                    # silently: later events would pile up unsent.
                    log.exception("dropping %d events", len(ids))


def _remaining(give_up_at: float | None) -> float:
    """Seconds left until `give_up_at` for a lock's `acquire` (-1: wait as long as needed)."""
    return -1 if give_up_at is None else max(give_up_at - time.monotonic(), 0.0)


__all__ = [
    "BufferFull",
    "BufferedTracker",
    "EventTooLarge",
    "IngestRejected",
    "IngestUnavailable",
    "TrackerClient",
    "TrackerError",
    "encode_event",
    "parse_retry_after",
    "prepare_event",
]
