"""`Tracker.wrap`: the calls of an OpenAI or Anthropic client, tracked (CONTRACT §8).

    from openai import OpenAI
    from saas_tracker_client import Tracker

    tracker = Tracker()
    client = tracker.wrap(OpenAI())
    with tracker.context(feature="support_reply_generator", customer_org_id="acme-corp"):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    tracker.track("ai_output_accepted", feature="support_reply_generator",
                  ai_call_id=tracker.last_call_id())

`wrap` returns the same client object (its type, helpers and type hints unchanged) after
replacing a few methods of its resources on that instance only:

- openai: `chat.completions.create` / `.parse`, `responses.create` / `.parse` (and through them
  the SDK's `.stream()` helpers, which call `create`);
- anthropic: `messages.create` / `.parse` and `messages.stream`;
- `copy` / `with_options`, so that a client derived from a tracked one is tracked too.

Each call queues one event: `ai_call_completed`, or `ai_call_failed` when the provider raises
(the provider's exception then propagates unchanged). It carries the provider, the model the
provider answered with (else the one requested), the tokens the provider counted, the latency
and a fresh `ai_call_id`; never the prompt or the completion. Token fields, as ingest expects
them (`app/ingest/validation.py`):

- `input_tokens`: openai chat `prompt_tokens`, responses `input_tokens`, anthropic
  `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`;
- `output_tokens`: `completion_tokens`, `output_tokens`, `output_tokens`;
- `cached_input_tokens`: `prompt_tokens_details.cached_tokens`,
  `input_tokens_details.cached_tokens`, `cache_read_input_tokens`;
- `total_tokens`: openai's `total_tokens` (anthropic: none, ingest adds input and output).

Anthropic counts cached prompt tokens apart from `input_tokens`; ingest counts them inside it
(cost = uncached input + cached input at the cached price), hence the sum. Also sent when the
provider reports them: `reasoning_tokens` (part of the output), `cache_creation_input_tokens`.

Streams (`stream=True`, `messages.stream`) are tracked when they end: read to the end, failed,
closed or dropped. A `stream=True` call answers a `TrackedStream` / `TrackedAsyncStream`: the
SDK's stream behind a proxy that iterates (and filters) it, closes it, works as a context
manager and forwards every other attribute (`response`, ...); `messages.stream` blocks give the
SDK's own MessageStream. OpenAI chat streams report usage only when asked: unless the caller set
`stream_options.include_usage` itself, the wrapper asks for it and removes the extra usage-only
chunk from what the caller iterates, so the caller sees the stream it asked for.

Who and what a call is for comes from `tracker.context(...)` (read when the call starts, so a
stream finished elsewhere keeps it) and from the per-call keyword `tracking={...}`, removed
before the provider sees the call; its keys win over the context's. `feature` is required by
ingest: a call with none gets `unspecified` (and a warning, once).

Tracking never breaks the call: an error of the wrapper is logged (logger
`saas_tracker_client`) and the call goes on untracked. openai and anthropic are never imported:
clients are recognised by their classes' names and modules, so installing the SDK pulls in
neither (the extras `saas-tracker-client[openai]` / `[anthropic]` install them).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextlib import suppress
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from saas_tracker_client.tracker import Tracker

log = logging.getLogger("saas_tracker_client")

ClientT = TypeVar("ClientT")

AI_CALL_COMPLETED: Final = "ai_call_completed"
AI_CALL_FAILED: Final = "ai_call_failed"
# The feature of a call tracked with none (ingest requires one on AI events).
DEFAULT_FEATURE: Final = "unspecified"
# The per-call keyword taken out of the provider call.
TRACKING_KEYWORD: Final = "tracking"

# What a tracked method answers, and so how its usage is read.
CHAT: Final = "chat.completions"
RESPONSES: Final = "responses"
MESSAGES: Final = "messages"

# The supported client classes, by (top-level module, class name), and subclasses of them
# (openai.AzureOpenAI is an openai.OpenAI): provider and whether the client is async.
_CLIENTS: Final[dict[tuple[str, str], tuple[str, bool]]] = {
    ("openai", "OpenAI"): ("openai", False),
    ("openai", "AsyncOpenAI"): ("openai", True),
    ("anthropic", "Anthropic"): ("anthropic", False),
    ("anthropic", "AsyncAnthropic"): ("anthropic", True),
}
# Set on a wrapped client (the tracker): wrapping twice would count every call twice.
_WRAPPED_ATTRIBUTE: Final = "_saas_tracker_wrapped"
# Set on each replacement method.
_TRACKED_ATTRIBUTE: Final = "_saas_tracker_tracked"
# The header both SDKs add for `with_raw_response` ("true" or "raw") and
# `with_streaming_response` ("stream"): the call then answers a response wrapper, not the
# parsed model.
_RAW_RESPONSE_HEADER: Final = "x-stainless-raw-response"
# Modules whose exceptions, raised out of a stream, mean that the call failed (rather than
# the code that consumed the stream).
_PROVIDER_MODULES: Final = frozenset({"openai", "anthropic", "httpx", "httpx2", "httpcore"})

# The ai_call_id of the latest call tracked in this thread or asyncio task.
_last_call_id: ContextVar[str | None] = ContextVar("saas_tracker_last_call_id", default=None)
# Inside a tracked call: a tracked method that the SDK calls from another one (a `parse`
# built on `create`, say) is then not counted a second time.
_inside_call: ContextVar[bool] = ContextVar("saas_tracker_inside_call", default=False)

_warned_no_feature = False


def last_call_id() -> str | None:
    """The `ai_call_id` of the latest call tracked in this thread or asyncio task."""
    return _last_call_id.get()


def identify(client: object) -> tuple[str, bool] | None:
    """(provider, is_async) of a supported client, None for anything else."""
    for cls in type(client).__mro__:
        found = _CLIENTS.get((cls.__module__.partition(".")[0], cls.__name__))
        if found is not None:
            provider, is_async = found
            if provider == "openai" and "azure" in type(client).__name__.lower():
                provider = "azure_openai"
            return provider, is_async
    return None


def wrap_client(tracker: Tracker, client: ClientT, *, provider: str | None = None) -> ClientT:
    """`client` with its calls tracked by `tracker` (see the module's documentation)."""
    identified = identify(client)
    if identified is None:
        raise TypeError(
            "Tracker.wrap takes an openai.OpenAI, openai.AsyncOpenAI, anthropic.Anthropic or "
            f"anthropic.AsyncAnthropic client, not {type(client).__module__}."
            f"{type(client).__qualname__}"
        )
    if getattr(client, _WRAPPED_ATTRIBUTE, None) is not None:
        return client  # wrapped already: its calls are tracked once
    detected, is_async = identified
    wrapper = _Wrapper(tracker, provider or detected, is_async)
    if detected == "anthropic":
        targets = [("messages", "create", MESSAGES), ("messages", "parse", MESSAGES)]
    else:
        targets = [
            ("chat.completions", "create", CHAT),
            ("chat.completions", "parse", CHAT),
            ("responses", "create", RESPONSES),
            ("responses", "parse", RESPONSES),
        ]
    for path, name, kind in targets:
        wrapper.replace(client, path, name, kind)
    if detected == "anthropic":
        wrapper.replace(client, "messages", "stream", MESSAGES, stream_manager=True)
    _track_copies(tracker, client, provider)
    setattr(client, _WRAPPED_ATTRIBUTE, tracker)
    return client


def _track_copies(tracker: Tracker, client: Any, provider: str | None) -> None:
    """`client.copy()` / `client.with_options()` answer tracked clients too."""
    original = getattr(client, "copy", None)
    if not callable(original):
        return

    @functools.wraps(original)
    def copy(*args: Any, **kwargs: Any) -> Any:
        copied = original(*args, **kwargs)
        try:
            return wrap_client(tracker, copied, provider=provider)
        except Exception:
            log.exception("SaaS Tracker could not track a copy of a wrapped client")
            return copied

    for name in ("copy", "with_options"):
        try:
            setattr(client, name, copy)
        except Exception:
            log.warning("SaaS Tracker cannot track %s() of this client", name, exc_info=True)


class _Wrapper:
    """Builds the tracked replacements of one client's methods."""

    def __init__(self, tracker: Tracker, provider: str, is_async: bool) -> None:
        self.tracker = tracker
        self.provider = provider
        self.is_async = is_async

    def replace(
        self, client: Any, path: str, name: str, kind: str, *, stream_manager: bool = False
    ) -> None:
        """Replace `client.<path>.<name>` (if this SDK version has it) on the instance."""
        try:
            resource = client
            for part in path.split("."):
                resource = getattr(resource, part, None)
                if resource is None:
                    return
            original = getattr(resource, name, None)
            if not callable(original) or getattr(original, _TRACKED_ATTRIBUTE, False):
                return
            if stream_manager:
                tracked = self._stream_manager(original, kind)
            elif self.is_async:
                tracked = self._async_call(original, kind)
            else:
                tracked = self._sync_call(original, kind)
            setattr(tracked, _TRACKED_ATTRIBUTE, True)
            setattr(resource, name, tracked)
        except Exception:
            log.warning("SaaS Tracker cannot track %s.%s of this client", path, name, exc_info=True)

    def _sync_call(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        @functools.wraps(original)
        def call(*args: Any, **kwargs: Any) -> Any:
            tracked = self._begin(kind, kwargs)
            if tracked is None:
                return original(*args, **kwargs)
            entered = _inside_call.set(True)
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                tracked.finish(exc)
                raise
            finally:
                _inside_call.reset(entered)
            return tracked.returned(result)

        return call

    def _async_call(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        @functools.wraps(original)
        async def call(*args: Any, **kwargs: Any) -> Any:
            tracked = self._begin(kind, kwargs)
            if tracked is None:
                return await original(*args, **kwargs)
            entered = _inside_call.set(True)
            try:
                result = await original(*args, **kwargs)
            except BaseException as exc:
                tracked.finish(exc)
                raise
            finally:
                _inside_call.reset(entered)
            return tracked.returned(result)

        return call

    def _stream_manager(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        """anthropic's `messages.stream`: it answers a (sync or async) context manager, and
        the request is made when the block is entered."""

        @functools.wraps(original)
        def stream(*args: Any, **kwargs: Any) -> Any:
            tracked = self._begin(kind, kwargs, streamed=True)
            if tracked is None:
                return original(*args, **kwargs)
            try:
                manager = original(*args, **kwargs)
            except BaseException as exc:
                tracked.finish(exc)
                raise
            return TrackedStreamManager(manager, tracked)

        return stream

    def _begin(
        self, kind: str, kwargs: dict[str, Any], *, streamed: bool = False
    ) -> TrackedCall | None:
        """Take `tracking=` out of the call and start tracking it (None: do not track).

        Never raises: whatever goes wrong here leaves the call untracked, not failed.
        """
        tracking = kwargs.pop(TRACKING_KEYWORD, None)
        if _inside_call.get():
            return None
        try:
            fields: dict[str, Any] = {}
            if isinstance(tracking, Mapping):
                fields = {str(k): v for k, v in tracking.items() if v is not None}
            elif tracking is not None:
                log.warning(
                    "SaaS Tracker: tracking= takes a mapping, not %s; ignored",
                    type(tracking).__name__,
                )
            streamed = streamed or kwargs.get("stream") is True
            raw = _raw_mode(kwargs)
            strip_usage = False
            if streamed and kind == CHAT and raw is None:
                strip_usage = _ask_for_usage(kwargs)
            model = kwargs.get("model")
            tracked = TrackedCall(
                self.tracker,
                kind=kind,
                provider=str(fields.pop("provider", None) or self.provider),
                requested_model=model if isinstance(model, str) else None,
                fields=fields,
                context=self.tracker.current_context(),
                streamed=streamed,
                raw=raw,
                strip_usage=strip_usage,
            )
            _last_call_id.set(tracked.ai_call_id)
            return tracked
        except Exception:
            log.exception("SaaS Tracker could not track an AI call")
            return None


def _raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    """The raw-response mode of a call, None for a plain one: "stream" through
    `with_streaming_response`, "true" or "raw" through `with_raw_response`."""
    headers = kwargs.get("extra_headers")
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == _RAW_RESPONSE_HEADER:
            return str(value)
    return None


def _is_given(value: Any) -> bool:
    """Whether an argument was given: the SDKs' "omitted" defaults are `Omit` / `NotGiven`."""
    return value is not None and type(value).__name__ not in {"Omit", "NotGiven"}


def _ask_for_usage(kwargs: dict[str, Any]) -> bool:
    """Ask an OpenAI chat stream for its usage chunk unless the caller decided already;
    True when it was added (the caller must then not see it)."""
    options = kwargs.get("stream_options")
    if not _is_given(options):
        kwargs["stream_options"] = {"include_usage": True}
        return True
    if isinstance(options, Mapping) and "include_usage" not in options:
        kwargs["stream_options"] = {**options, "include_usage": True}
        return True
    return False  # the caller's own choice: True is seen as asked, False is respected


class TrackedCall:
    """One provider call being tracked: what is known when it starts, what its answer (or
    stream) says, and its one event, queued by `finish`."""

    def __init__(
        self,
        tracker: Tracker,
        *,
        kind: str,
        provider: str,
        requested_model: str | None,
        fields: dict[str, Any],
        context: Mapping[str, Any],
        streamed: bool = False,
        raw: str | None = None,
        strip_usage: bool = False,
    ) -> None:
        self.tracker = tracker
        self.kind = kind
        self.provider = provider
        self.requested_model = requested_model
        self.ai_call_id = str(fields.pop("ai_call_id", None) or f"call_{uuid.uuid4().hex}")
        self.fields = fields
        self.context = context
        self.streamed = streamed
        self.raw = raw
        self.strip_usage = strip_usage
        self.model: str | None = None
        # The provider's own usage figures, under its own names (see `_read_usage`).
        self.usage: dict[str, int] = {}
        self.failure: str | None = None  # an error code from a failed answer (no exception)
        self.started = time.perf_counter()
        self.first_item_at: float | None = None
        # Taken by the first `finish`, never released: one event per call, even when a stream
        # is closed by one thread while another reads it, or dropped (`__del__`) meanwhile.
        self._finished = threading.Lock()

    def returned(self, result: Any) -> Any:
        """What the caller gets back: `result`, or a stream that tracks as it is read."""
        try:
            if self.raw is None:
                if self.streamed and hasattr(result, "__aiter__"):
                    return TrackedAsyncStream(result, self)
                if self.streamed and hasattr(result, "__iter__"):
                    return TrackedStream(result, self)
                self.read_answer(result)
            elif self.raw != "stream" and not self.streamed:
                # with_raw_response: the body is read and parse() caches its answer, so
                # the caller's parse() gets the same object. A with_streaming_response body
                # (or a raw stream) is the caller's to read: tracked without usage.
                parsed = result.parse()
                if inspect.isawaitable(parsed):
                    if inspect.iscoroutine(parsed):
                        parsed.close()
                else:
                    self.read_answer(parsed)
            self.finish()
        except Exception:
            log.exception("SaaS Tracker could not track an AI call")
        return result

    def read_answer(self, answer: Any) -> None:
        """The model and usage of a whole answer (a completion, response or message)."""
        self._read_model(_get(answer, "model"))
        self.usage.update(_read_usage(self.kind, _get(answer, "usage")))
        if self.kind == RESPONSES and _get(answer, "status") == "failed":
            self.failure = _short(_get(answer, "error", "code")) or "response_failed"

    def observe(self, item: Any) -> bool:
        """See one item of a stream go by; False when the caller must not see it (the usage
        chunk asked for on the caller's behalf). Never raises."""
        try:
            if self.first_item_at is None:
                self.first_item_at = time.perf_counter()
            if self.kind == CHAT:
                self._read_model(_get(item, "model"))
                usage = _get(item, "usage")
                if usage is not None:
                    self.usage.update(_read_usage(CHAT, usage))
                    if self.strip_usage and not _get(item, "choices"):
                        return False
            elif self.kind == RESPONSES:
                response = _get(item, "response")
                if response is not None:
                    self.read_answer(response)
            elif self.kind == MESSAGES:
                kind = _get(item, "type")
                if kind == "message_start":
                    self.read_answer(_get(item, "message"))
                elif kind == "message_delta":
                    # Cumulative counts: they replace those of message_start when given.
                    self.usage.update(_read_usage(MESSAGES, _get(item, "usage")))
        except Exception:
            log.exception("SaaS Tracker could not read a stream item")
        return True

    def _read_model(self, model: Any) -> None:
        if isinstance(model, str) and model and self.model is None:
            self.model = model

    def finish(self, error: BaseException | None = None) -> None:
        """Queue the call's event (once; later calls do nothing). Never raises."""
        if not self._finished.acquire(blocking=False):
            return
        try:
            now = time.perf_counter()
            fields = dict(self.fields)
            if "feature" not in fields and "feature" not in self.context:
                fields["feature"] = DEFAULT_FEATURE
                _warn_no_feature()
            fields["provider"] = self.provider
            fields["model"] = self.model or self.requested_model or "unknown"
            fields.update(_event_tokens(self.kind, self.usage))
            fields["latency_ms"] = round((now - self.started) * 1000, 3)
            if self.streamed and self.first_item_at is not None:
                fields["time_to_first_token_ms"] = round(
                    (self.first_item_at - self.started) * 1000, 3
                )
            fields["ai_call_id"] = self.ai_call_id
            event = AI_CALL_COMPLETED
            if error is not None or self.failure is not None:
                event = AI_CALL_FAILED
                fields["error_code"] = self.failure if error is None else error_code(error)
                status = getattr(error, "status_code", None)
                if isinstance(status, int) and not isinstance(status, bool):
                    fields["http_status"] = status
            self.tracker.track_in(self.context, event, **fields)
        except Exception:
            log.exception("SaaS Tracker could not track an AI call")


def _warn_no_feature() -> None:
    global _warned_no_feature
    if not _warned_no_feature:
        _warned_no_feature = True
        log.warning(
            "SaaS Tracker: an AI call was tracked without a feature; it is counted under %r. "
            "Set one with tracker.context(feature=...) or tracking={'feature': ...}.",
            DEFAULT_FEATURE,
        )


class TrackedStream:
    """The provider's stream as the caller iterates it, watched item by item: the call's
    event is queued when the stream ends, fails, is closed or is dropped. Anything else
    (`response`, helpers) is the provider stream's."""

    def __init__(self, stream: Any, call: TrackedCall) -> None:
        self._stream = stream
        self._call = call
        self._items = self._watch()

    def _watch(self) -> Generator[Any, None, None]:
        call = self._call
        try:
            for item in self._stream:
                if call.observe(item):
                    yield item
        except GeneratorExit:  # closed (or dropped) before its end
            call.finish()
            raise
        except BaseException as exc:
            call.finish(exc)
            raise
        call.finish()

    def __iter__(self) -> TrackedStream:
        return self

    def __next__(self) -> Any:
        return next(self._items)

    def __enter__(self) -> TrackedStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the provider's stream (the call is tracked with the usage seen so far)."""
        self._call.finish()
        with suppress(ValueError):  # "generator already executing": closed from within
            self._items.close()
        self._stream.close()

    def __getattr__(self, name: str) -> Any:
        stream = self.__dict__.get("_stream")
        if stream is None:
            raise AttributeError(name)
        return getattr(stream, name)

    def __repr__(self) -> str:
        return f"TrackedStream({self.__dict__.get('_stream')!r})"

    def __del__(self) -> None:
        call = self.__dict__.get("_call")
        if call is not None:
            call.finish()


class TrackedAsyncStream:
    """`TrackedStream` for an async provider stream (`async for`, `await close()`)."""

    def __init__(self, stream: Any, call: TrackedCall) -> None:
        self._stream = stream
        self._call = call
        self._items = self._watch()

    async def _watch(self) -> AsyncGenerator[Any, None]:
        call = self._call
        try:
            async for item in self._stream:
                if call.observe(item):
                    yield item
        except GeneratorExit:
            call.finish()
            raise
        except BaseException as exc:
            call.finish(exc)
            raise
        call.finish()

    def __aiter__(self) -> TrackedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        return await self._items.__anext__()

    async def __aenter__(self) -> TrackedAsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the provider's stream (the call is tracked with the usage seen so far)."""
        self._call.finish()
        with suppress(RuntimeError):  # "asynchronous generator is already running"
            await self._items.aclose()
        await self._stream.close()

    def __getattr__(self, name: str) -> Any:
        stream = self.__dict__.get("_stream")
        if stream is None:
            raise AttributeError(name)
        return getattr(stream, name)

    def __repr__(self) -> str:
        return f"TrackedAsyncStream({self.__dict__.get('_stream')!r})"

    def __del__(self) -> None:
        call = self.__dict__.get("_call")
        if call is not None:
            call.finish()


class TrackedStreamManager:
    """anthropic's `messages.stream(...)` manager (sync or async), tracked: the request is
    made when the block is entered, and the call is tracked when it is left, with the usage
    of the SDK's accumulated message (`current_message_snapshot`). The block gives the SDK's
    own MessageStream, helpers and all."""

    def __init__(self, manager: Any, call: TrackedCall) -> None:
        self._manager = manager
        self._call = call
        self._stream: Any = None

    def __enter__(self) -> Any:
        self._call.started = time.perf_counter()
        try:
            self._stream = self._manager.__enter__()
        except BaseException as exc:
            self._call.finish(exc)
            raise
        return self._stream

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        self._finish(exc)
        return self._manager.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> Any:
        self._call.started = time.perf_counter()
        try:
            self._stream = await self._manager.__aenter__()
        except BaseException as exc:
            self._call.finish(exc)
            raise
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        self._finish(exc)
        return await self._manager.__aexit__(exc_type, exc, tb)

    def _finish(self, exc: BaseException | None) -> None:
        try:
            snapshot = self._stream.current_message_snapshot
        except Exception:  # no event received (the SDK asserts one)
            snapshot = None
        if snapshot is not None:
            try:
                self._call.read_answer(snapshot)
            except Exception:
                log.exception("SaaS Tracker could not read a message stream's usage")
        # An exception of the block's own code leaves the call made (and billed).
        self._call.finish(exc if exc is not None and _ends_the_call(exc) else None)

    def __getattr__(self, name: str) -> Any:
        manager = self.__dict__.get("_manager")
        if manager is None:
            raise AttributeError(name)
        return getattr(manager, name)


def _ends_the_call(exc: BaseException) -> bool:
    """Whether an exception out of a stream's block means that the provider call failed."""
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return True
    return type(exc).__module__.partition(".")[0] in _PROVIDER_MODULES


def _get(value: Any, *path: str) -> Any:
    """`value.a.b` (or `value["a"]["b"]`), None where anything is missing."""
    for key in path:
        if value is None:
            return None
        value = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
    return value


def _count(value: Any) -> int | None:
    """A token count as ingest takes it: a whole non-negative number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value < 0 or not math.isfinite(value) or value != int(value):
        return None
    return int(value)


# Where each usage figure is, per kind of answer: the provider's names (nested details
# flattened to their last part).
_USAGE_PATHS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    CHAT: {
        "prompt_tokens": ("prompt_tokens",),
        "completion_tokens": ("completion_tokens",),
        "total_tokens": ("total_tokens",),
        "cached_tokens": ("prompt_tokens_details", "cached_tokens"),
        "reasoning_tokens": ("completion_tokens_details", "reasoning_tokens"),
    },
    RESPONSES: {
        "input_tokens": ("input_tokens",),
        "output_tokens": ("output_tokens",),
        "total_tokens": ("total_tokens",),
        "cached_tokens": ("input_tokens_details", "cached_tokens"),
        "reasoning_tokens": ("output_tokens_details", "reasoning_tokens"),
    },
    MESSAGES: {
        "input_tokens": ("input_tokens",),
        "output_tokens": ("output_tokens",),
        "cache_read_input_tokens": ("cache_read_input_tokens",),
        "cache_creation_input_tokens": ("cache_creation_input_tokens",),
    },
}


def _read_usage(kind: str, usage: Any) -> dict[str, int]:
    """The usage figures the provider gave (absent or null ones left out)."""
    if usage is None:
        return {}
    found: dict[str, int] = {}
    for name, path in _USAGE_PATHS[kind].items():
        count = _count(_get(usage, *path))
        if count is not None:
            found[name] = count
    return found


def _event_tokens(kind: str, usage: Mapping[str, int]) -> dict[str, int]:
    """The provider's usage as ingest's token fields (see the module's table)."""
    tokens: dict[str, int] = {}
    if kind == MESSAGES:
        if "input_tokens" in usage:
            read = usage.get("cache_read_input_tokens", 0)
            written = usage.get("cache_creation_input_tokens", 0)
            tokens["input_tokens"] = usage["input_tokens"] + read + written
        if "output_tokens" in usage:
            tokens["output_tokens"] = usage["output_tokens"]
        if "cache_read_input_tokens" in usage:
            tokens["cached_input_tokens"] = usage["cache_read_input_tokens"]
        if "cache_creation_input_tokens" in usage:
            tokens["cache_creation_input_tokens"] = usage["cache_creation_input_tokens"]
    else:
        prefix = "prompt" if kind == CHAT else "input"
        suffix = "completion" if kind == CHAT else "output"
        names = {
            f"{prefix}_tokens": "input_tokens",
            f"{suffix}_tokens": "output_tokens",
            "total_tokens": "total_tokens",
            "cached_tokens": "cached_input_tokens",
            "reasoning_tokens": "reasoning_tokens",
        }
        tokens = {field: usage[name] for name, field in names.items() if name in usage}
    # Ingest refuses more cached than input tokens (and with it the whole batch).
    if "cached_input_tokens" in tokens and "input_tokens" in tokens:
        tokens["cached_input_tokens"] = min(tokens["cached_input_tokens"], tokens["input_tokens"])
    return tokens


_STATUS_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "authentication_error",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "request_too_large",
    422: "unprocessable_entity",
    429: "rate_limited",
    529: "overloaded",
}


def error_code(exc: BaseException) -> str:
    """A stable, short category for a failed call (never the provider's message)."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return "timeout"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        if status in _STATUS_CODES:
            return _STATUS_CODES[status]
        return "server_error" if status >= 500 else f"http_{status}"
    if "Connection" in name:
        return "connection_error"
    # An error event inside a stream: the provider's own type (e.g. "overloaded_error").
    code = _short(_get(getattr(exc, "body", None), "error", "type")) or _short(
        _get(getattr(exc, "body", None), "type")
    )
    return code or _snake(name)


def _short(value: Any) -> str | None:
    """A provider's error code when it looks like one (a short identifier)."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", value):
        return value
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:100]


__all__ = [
    "AI_CALL_COMPLETED",
    "AI_CALL_FAILED",
    "DEFAULT_FEATURE",
    "TRACKING_KEYWORD",
    "TrackedAsyncStream",
    "TrackedCall",
    "TrackedStream",
    "TrackedStreamManager",
    "error_code",
    "identify",
    "last_call_id",
    "wrap_client",
]
