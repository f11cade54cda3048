"""`Tracker`: the SDK's entry point (CONTRACT §8) — track from application code, never fail it.

    from saas_tracker_client import Tracker

    tracker = Tracker()  # SAAS_TRACKER_URL, SAAS_TRACKER_APP_UUID, SAAS_TRACKER_API_SECRET
    with tracker.context(customer_org_id="acme-corp", feature="support_reply_generator"):
        tracker.track("ai_call_completed", provider="openai", model="gpt-5.4-mini",
                      input_tokens=1200, output_tokens=350)

Or let it track the calls of an OpenAI or Anthropic client (`saas_tracker_client.providers`):

    client = tracker.wrap(OpenAI())
    with tracker.context(customer_org_id="acme-corp", feature="support_reply_generator"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    tracker.track("ai_output_accepted", feature="support_reply_generator",
                  ai_call_id=tracker.last_call_id())

`track` queues the event and returns its `event_id` at once; a background thread sends the
queue in gzipped, signed batches (`BufferedTracker` over `TrackerClient`: retries with backoff
on 503 and network errors, honouring Retry-After, with the same event ids). `flush()` sends
what is queued now, and so does the interpreter's exit (atexit).

Nothing here raises into the caller's code: a missing configuration, an event that cannot be
encoded, a full queue or a server that stays down are logged (logger `saas_tracker_client`)
and the events concerned dropped. Analytics must never take the application down with it.

The queue is bounded (`max_queue` events). When it is full the NEW event is refused (a
warning is logged, `dropped` counts it) rather than the oldest dropped: the events queued
first are already batched towards the server, and refusing keeps `track` O(1) and lock-light.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import httpx

from saas_tracker_client import providers
from saas_tracker_client.client import BufferedTracker, BufferFull, TrackerClient, TrackerError
from saas_tracker_client.providers import ClientT

log = logging.getLogger("saas_tracker_client")

URL_ENV = "SAAS_TRACKER_URL"
APP_UUID_ENV = "SAAS_TRACKER_APP_UUID"
API_SECRET_ENV = "SAAS_TRACKER_API_SECRET"

# Event fields of the ingest schema (CONTRACT §2) that a keyword of `track` or `context` sets
# at the top of the event; any other keyword is a property.
TOP_LEVEL_FIELDS = frozenset({"user_hash", "customer_org_id", "environment", "timestamp"})

# The defaults of `Tracker.context`, for the running thread or asyncio task: a ContextVar, so
# that concurrent requests served by threads or tasks never see each other's customer.
_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "saas_tracker_context", default=MappingProxyType({})
)


class Tracker:
    """Queue events from application code and send them in the background.

    `url`, `app_uuid` and `api_secret` default to the environment variables
    `SAAS_TRACKER_URL`, `SAAS_TRACKER_APP_UUID` and `SAAS_TRACKER_API_SECRET`. Without them
    (or with an app UUID that is not a UUID) the tracker logs a warning and stays disabled:
    `track` still returns event ids, nothing is sent.

    `flush_interval_s`: how often the queue is sent. `max_queue`: events kept while the
    server cannot take them. `shutdown_timeout_s`: how long the exit may wait for the last
    send. The other options are `TrackerClient`'s (retries, backoff, timeout, transport).
    """

    def __init__(
        self,
        url: str | None = None,
        app_uuid: str | uuid.UUID | None = None,
        api_secret: str | None = None,
        *,
        flush_interval_s: float = 1.0,
        max_queue: int = 10_000,
        shutdown_timeout_s: float = 10.0,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.shutdown_timeout_s = shutdown_timeout_s
        self.dropped = 0
        self._buffer: BufferedTracker | None = None
        url = url or os.environ.get(URL_ENV)
        app_uuid = app_uuid or os.environ.get(APP_UUID_ENV)
        api_secret = api_secret or os.environ.get(API_SECRET_ENV)
        if not (url and app_uuid and api_secret):
            given = ((URL_ENV, url), (APP_UUID_ENV, app_uuid), (API_SECRET_ENV, api_secret))
            missing = ", ".join(name for name, value in given if not value)
            log.warning("SaaS Tracker disabled: %s not set; no event is sent", missing)
            return
        try:
            client = TrackerClient(
                url,
                app_uuid,
                api_secret,
                timeout=timeout,
                max_retries=max_retries,
                backoff=backoff,
                max_backoff=max_backoff,
                http_client=http_client,
                sleep=sleep or time.sleep,
            )
        except ValueError as exc:
            log.warning("SaaS Tracker disabled: %s; no event is sent", exc)
            return
        self._buffer = BufferedTracker(
            client, flush_interval_s=flush_interval_s, max_buffer=max_queue
        )
        atexit.register(self.close)

    def __repr__(self) -> str:  # never the secret
        target = "disabled" if self._buffer is None else self._buffer.client.url
        return f"Tracker({target})"

    @property
    def enabled(self) -> bool:
        """Whether events are sent (False: configuration missing, or closed)."""
        return self._buffer is not None

    def track(self, event: str, /, **fields: Any) -> str:
        """Queue one event; returns its `event_id` (assigned now, kept by every retry).

        Keywords `user_hash`, `customer_org_id`, `environment`, `timestamp` and `event_id`
        set those event fields; `properties` (a mapping) and any other keyword are
        properties. They win over the defaults of the enclosing `context`.
        """
        return self._track(event, fields, None)

    def track_in(self, context: Mapping[str, Any], event: str, /, **fields: Any) -> str:
        """`track`, with `context` (a `current_context()` taken earlier) in place of the
        enclosing block's defaults: for an event that ends somewhere else than it began,
        such as a stream read after the request handler returned."""
        return self._track(event, fields, context)

    def _track(self, event: str, fields: dict[str, Any], context: Mapping[str, Any] | None) -> str:
        event_id = str(fields.pop("event_id", None) or uuid.uuid4())
        buffer = self._buffer
        if buffer is None:
            return event_id
        try:
            buffer.enqueue(_build(event, event_id, fields, context))
        except BufferFull:
            self.dropped += 1
            # Once per thousand drops: a server down for an hour must not flood the log.
            if self.dropped % 1000 == 1:
                log.warning(
                    "SaaS Tracker queue full (%d events): event %r dropped (%d so far)",
                    buffer.max_buffer,
                    event,
                    self.dropped,
                )
        except Exception:
            self.dropped += 1
            log.warning("SaaS Tracker could not queue event %r", event, exc_info=True)
        return event_id

    @contextmanager
    def context(
        self,
        *,
        feature: str | None = None,
        customer_org_id: str | None = None,
        user_hash: str | None = None,
        customer_plan: str | None = None,
        environment: str | None = None,
    ) -> Iterator[None]:
        """Defaults for the events tracked inside the block (nested blocks add to them).

        Per thread and per asyncio task: set it around the handling of one request.
        """
        given = {
            "feature": feature,
            "customer_org_id": customer_org_id,
            "user_hash": user_hash,
            "customer_plan": customer_plan,
            "environment": environment,
        }
        token = _context.set(
            MappingProxyType(
                {**_context.get(), **{k: v for k, v in given.items() if v is not None}}
            )
        )
        try:
            yield
        finally:
            _context.reset(token)

    @staticmethod
    def current_context() -> Mapping[str, Any]:
        """The defaults set by the enclosing `context` blocks (read-only)."""
        return _context.get()

    def wrap(self, client: ClientT, *, provider: str | None = None) -> ClientT:
        """Track every call of an `openai.OpenAI`, `openai.AsyncOpenAI`, `anthropic.Anthropic`
        or `anthropic.AsyncAnthropic` client; returns the same client.

        Each call (plain, async or streamed) queues `ai_call_completed`, or `ai_call_failed`
        when the provider raises (the exception then propagates unchanged), with the
        provider, the model, the tokens the provider counted, the latency and a fresh
        `ai_call_id` (see `last_call_id`); never the prompt or the completion. The call's
        feature, customer and user come from the enclosing `context`, and from the keyword
        `tracking={"feature": ...}` that every tracked method accepts and removes before the
        provider sees the call.

        `provider` names the provider when an OpenAI client talks to another one through
        `base_url` (e.g. "groq"); by default "openai" ("azure_openai" for `AzureOpenAI`) or
        "anthropic". Raises TypeError for any other object. Details:
        `saas_tracker_client.providers`.
        """
        return providers.wrap_client(self, client, provider=provider)

    @staticmethod
    def last_call_id() -> str | None:
        """The `ai_call_id` of the latest call tracked in this thread or asyncio task (None
        before any): name it on the app's `ai_output_accepted` / `_rejected` / `_edited`
        events so that they join to the call and its cost.

            reply = client.chat.completions.create(...)
            ...
            tracker.track("ai_output_accepted", feature="support_reply_generator",
                          ai_call_id=tracker.last_call_id())
        """
        return providers.last_call_id()

    def flush(self) -> list[str]:
        """Send what is queued now, in this thread; returns the event ids accepted.

        A failure is logged, not raised (the ids then miss from the answer).
        """
        if self._buffer is None:
            return []
        try:
            return self._buffer.flush()
        except TrackerError as exc:
            log.error("SaaS Tracker could not send its events: %s", exc)
            return list(getattr(exc, "accepted", []))
        except Exception:
            log.exception("SaaS Tracker could not send its events")
            return []

    def close(self) -> None:
        """Send what is queued (waiting `shutdown_timeout_s` at most) and stop; idempotent.

        Called at the interpreter's exit; call it yourself to stop earlier.
        """
        buffer, self._buffer = self._buffer, None
        if buffer is None:
            return
        atexit.unregister(self.close)
        try:
            buffer.close(timeout=self.shutdown_timeout_s)
        except Exception as exc:
            log.error("SaaS Tracker dropped its last events: %s", exc)
        finally:
            buffer.client.close()


def _build(
    event: str,
    event_id: str,
    fields: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The event as ingest takes it: context defaults (`context`, else the enclosing block's),
    then the caller's fields."""
    top: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for source in (_context.get() if context is None else context, fields):
        for key, value in source.items():
            if key == "properties":
                properties.update(value or {})
            elif key in TOP_LEVEL_FIELDS:
                top[key] = value
            else:
                properties[key] = value
    built: dict[str, Any] = {"event": event, **top, "event_id": event_id}
    if properties:
        built["properties"] = properties
    return built


__all__ = ["API_SECRET_ENV", "APP_UUID_ENV", "URL_ENV", "Tracker"]
