"""The event schema of `POST /v1/ingest` (CONTRACT §2 and the seed "Tracking AI usage").

`validate_request` turns a parsed body into IncomingEvents or raises with every error of the
request at once (the whole request is rejected, nothing is stored). Decisions:

- Privacy first: each event is stripped (app/ingest/privacy.py) before anything else looks at
  it, so a prompt is never measured, reported or returned. Error messages never quote
  submitted values; a `field` names a key only when it is a short identifier.
- Unknown top-level keys are rejected (a typo such as `customer_orgid` would otherwise lose
  data silently); private keys there are dropped first, so they are never reported.
- `null` for an optional field means "absent" (SDKs send it), for a required one "missing".
- `timestamp`: ISO 8601 (naive means UTC) or integral epoch milliseconds; anything before
  2000-01-01 (typically epoch *seconds*) or more than one day ahead of `now` is rejected.
- `properties.ai.*` is flattened into `properties.*`; the same key in both places with
  different values is an error rather than a silent choice (it would change the cost).
  `properties.ai` is therefore an object (or null: absent) on every event.
- Every number in the properties, at any depth, must be one a 64-bit float holds: the stored
  JSON would otherwise turn 1e400 into null and 1e-400 into 0 (zero written as zero is zero).
- The size limit applies to each event as stored: its compact JSON after privacy stripping,
  since the seed promises that private fields are ignored, not refused.
- AI fields are checked on the five AI events only; other events' properties are free-form.
  Unchecked floats stay Decimal (exact, as parsed).
"""

from __future__ import annotations

import json
import math
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET

from app.event_types import AI_EVENTS, IncomingEvent
from app.ingest.errors import FieldError, PayloadTooLarge, ValidationFailed
from app.ingest.model import (
    AI_FIELDS as AI_FIELD_NAMES,
)
from app.ingest.model import (
    AI_STRING_FIELDS,
    COUNT_FIELDS,
    DEFAULT_ENVIRONMENT,
    DEFAULT_SUCCESS,
    DEFAULT_VALUE_SIGNAL,
    EARLIEST_TIMESTAMP,
    MAX_COUNT,
    MAX_ENVIRONMENT_LENGTH,
    MAX_MONEY,
    MAX_NAME_LENGTH,
    MAX_TIMESTAMP_LENGTH,
    MONEY_FIELDS,
    REQUIRED_AI_FIELDS,
    AiFields,
    Batch,
    Event,
)
from app.ingest.parsing import parse_json
from app.ingest.privacy import KeyKind, key_kind, strip_private

EVENT_FIELDS: tuple[str, ...] = Event.__struct_fields__
MAX_FUTURE = timedelta(days=1)
AI_FIELDS = frozenset(AI_FIELD_NAMES)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SAFE_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "_-.$@:")
_MAX_KEY_LABEL = 64

Number = int | float | Decimal


def _new_event_id(_position: int) -> str:
    return str(uuid.uuid4())


class _RawBatch(msgspec.Struct, forbid_unknown_fields=True):
    """`{"batch": [...]}` with each event left as its bytes (their lengths bound the events'
    sizes), each then decoded as an Event."""

    batch: list[msgspec.Raw]


# Floats stay exact (Decimal, as app/ingest/parsing.py parses them); integers stay int.
_EVENT_DECODER = msgspec.json.Decoder(Event, float_hook=Decimal)
_BATCH_DECODER = msgspec.json.Decoder(_RawBatch)
# Errors that send a request to the reference validator (RecursionError: deep nesting).
_GIVE_WAY = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def decode_request(
    body: bytes,
    *,
    now: datetime,
    max_batch_events: int,
    max_event_bytes: int,
    max_depth: int,
    new_event_id: Callable[[int], str] = _new_event_id,
) -> list[IncomingEvent]:
    """Decode and validate a raw body, as `validate_request(parse_json(body))` would.

    The body is decoded straight into the model (app/ingest/model.py) by msgspec, in C, and
    the rules a type cannot express are checked after; anything either refuses, or cannot
    be decided quickly, is parsed and validated again by the reference path, which reports
    the errors in the contract's words. Raises InvalidJson, PayloadTooLarge or
    ValidationFailed.
    """
    now = _utc(now)
    events = _decode_fast(body, now, max_batch_events, max_event_bytes, max_depth)
    if events is not None:
        return _with_ids(events, new_event_id)
    return validate_request(
        parse_json(body, max_depth=max_depth),
        now=now,
        max_batch_events=max_batch_events,
        max_event_bytes=max_event_bytes,
        new_event_id=new_event_id,
        body_size=len(body),
    )


def validate_request(
    payload: Any,
    *,
    now: datetime,
    max_batch_events: int,
    max_event_bytes: int,
    new_event_id: Callable[[int], str] = _new_event_id,
    body_size: int | None = None,
) -> list[IncomingEvent]:
    """Validate a parsed body: one event object, or `{"batch": [event, …]}`.

    Returns the events in request order, flattened, stripped and normalised; an event without
    `event_id` gets `new_event_id(its position in the request)`. Raises
    PayloadTooLarge (more than `max_batch_events` events, or an event whose stripped JSON
    exceeds `max_event_bytes`) or ValidationFailed with every error of the request.

    The body is converted to the model by msgspec first; what it refuses goes to the
    reference validator, which finds and words every error.
    """
    now = _utc(now)
    events = _convert_fast(payload, now, max_batch_events, max_event_bytes, body_size)
    if events is not None:
        return _with_ids(events, new_event_id)
    return _reference_validate(
        payload,
        now=now,
        max_batch_events=max_batch_events,
        max_event_bytes=max_event_bytes,
        new_event_id=new_event_id,
        body_size=body_size,
    )


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _with_ids(
    events: list[IncomingEvent], new_event_id: Callable[[int], str]
) -> list[IncomingEvent]:
    # Given only once the whole request is accepted, in order, as the reference path does.
    for index, event in enumerate(events):
        if not event.event_id:
            event.event_id = new_event_id(index)
    return events


def _decode_fast(
    body: bytes, now: datetime, max_batch_events: int, max_event_bytes: int, max_depth: int
) -> list[IncomingEvent] | None:
    """The events of `body`, or None when the reference path must decide.

    IMPORTANT: msgspec keeps the last of duplicate keys where parse_json refuses the body.
    Duplicates are found by counting: without `\\u` and `\\"` escapes every `"` of the body
    opens or closes a string, so the body has exactly twice as many as the decoded values
    have keys and strings, and a dropped duplicate leaves the count short.
    """
    if b"\\u" in body or b'\\"' in body:
        return None
    try:
        if b'"batch"' in body:
            raw_events = _BATCH_DECODER.decode(body).batch
            tokens, depth = 1, 3
            decoded = [_EVENT_DECODER.decode(raw) for raw in raw_events]
            sizes = [len(raw) for raw in raw_events]
        else:
            decoded, tokens, depth = [_EVENT_DECODER.decode(body)], 0, 1
            sizes = [len(body)]
    except _GIVE_WAY:
        return None
    if not decoded or len(decoded) > max_batch_events or depth > max_depth:
        return None
    events: list[IncomingEvent] = []
    for event, size in zip(decoded, sizes, strict=True):
        scanned = _event_tokens(event, depth, max_depth)
        if scanned is None:
            return None
        tokens += scanned.tokens
        size_limit = max_event_bytes if size > max_event_bytes // 2 else None
        accepted = _accept(event, now, size_limit, private=scanned.private)
        if accepted is None:
            return None
        events.append(accepted)
    if body.count(b'"') != 2 * tokens:
        return None
    return events


def _convert_fast(
    payload: Any, now: datetime, max_batch_events: int, max_event_bytes: int, body_size: int | None
) -> list[IncomingEvent] | None:
    """The events of a parsed body, or None when the reference path must decide."""
    try:
        if isinstance(payload, dict) and "batch" in payload:
            decoded = msgspec.convert(payload, Batch).batch
        else:
            decoded = [msgspec.convert(payload, Event)]
    except (*_GIVE_WAY, TypeError, ValueError):
        return None
    if len(decoded) > max_batch_events:
        return None
    size_limit = (
        None if body_size is not None and body_size <= max_event_bytes // 2 else (max_event_bytes)
    )
    events: list[IncomingEvent] = []
    for event in decoded:
        properties = event.properties
        scanned = _scan(properties, 0, None) if type(properties) is dict else _Scan(0, False)
        if scanned is None:
            return None
        accepted = _accept(event, now, size_limit, private=scanned.private)
        if accepted is None:
            return None
        events.append(accepted)
    return events


def _event_tokens(event: Event, depth: int, max_depth: int) -> _Scan | None:
    """Keys and strings of an event (an object at `depth`) as decoded (see `_decode_fast`),
    or None when its properties break a rule of parse_json (depth, 64-bit integers) or hold
    a number a float cannot store."""
    tokens = 0
    for name in EVENT_FIELDS:
        value = getattr(event, name)
        if value is not UNSET:
            tokens += 2 if type(value) is str else 1
    properties = event.properties
    if type(properties) is not dict:
        return _Scan(tokens, False)
    scanned = _scan(properties, depth + 1, max_depth)
    if scanned is None:
        return None
    return _Scan(tokens + scanned.tokens, scanned.private)


_STR = str
_DICT = dict
_LIST = list
_INT = int
_ORDINARY_KEY = KeyKind.ordinary
# Keys seen to be ordinary (not private): a set look-up per key on the hot path. Bounded, so
# that a client inventing keys per event never grows it past the bound.
_ordinary_keys: set[str] = set()
_MAX_ORDINARY_KEYS = 4096


class _Scan(NamedTuple):
    tokens: int  # keys and strings
    private: bool  # whether strip_private may remove something


def _scan(properties: dict[str, Any], depth: int, max_depth: int | None) -> _Scan | None:
    """What `properties` (an object at `depth`) holds, or None when it nests deeper than
    `max_depth`, holds an integer past 64 bits or a number a float cannot store.

    `private` is False when no key is private (or a variant) and no list holds anything:
    strip_private would then return the properties as they are. Iterative; written for
    speed (it sees every value of every event).
    """
    tokens = 0
    private = False
    known = _ordinary_keys
    stack: list[tuple[Any, int]] = [(properties, depth)]
    while stack:
        container, level = stack.pop()
        if max_depth is not None and level > max_depth:
            return None
        if type(container) is _DICT:
            tokens += len(container)
            for key in container:
                if key not in known:
                    if type(key) is not _STR or key_kind(key) is not _ORDINARY_KEY:
                        private = True
                    elif len(known) < _MAX_ORDINARY_KEYS:
                        known.add(key)
            values = container.values()
        else:
            values = container
        for value in values:
            kind = type(value)
            if kind is _STR:
                tokens += 1
            elif kind is _DICT:
                stack.append((value, level + 1))
            elif kind is _LIST:
                private = private or bool(value)
                stack.append((value, level + 1))
            elif kind is _INT:
                if not _INT_MIN <= value <= _INT_MAX:
                    return None
            elif isinstance(value, _CONTAINERS) or (  # container subclasses: a caller's own
                isinstance(value, _NON_INTEGERS) and not _storable(value)
            ):
                return None
    return _Scan(tokens, private)


def _accept(
    event: Event, now: datetime, size_limit: int | None, *, private: bool
) -> IncomingEvent | None:
    """One decoded event, checked for what its type cannot say and normalised, or None when
    the reference path must decide. Its `event_id` is "" when the client sent none.
    `private`: whether its properties may hold something private (`_scan`)."""
    timestamp = _fast_timestamp(event.timestamp, now)
    if timestamp is None:
        return None
    properties = event.properties
    if properties is None or properties is UNSET:
        properties = {}
    stripped = strip_private(properties) if private else properties
    if size_limit is not None:
        sent = {name: getattr(event, name) for name in EVENT_FIELDS}
        if type(sent["properties"]) is dict:
            sent["properties"] = stripped
        if json_size({k: v for k, v in sent.items() if v is not UNSET}) > size_limit:
            return None
    flat = _fast_flatten(stripped)
    if flat is None:
        return None
    name = event.event
    if name in REQUIRED_AI_FIELDS and not _fast_ai(name, flat):
        return None
    event_id, environment = event.event_id, event.environment
    return IncomingEvent(
        event=name,
        event_id=event_id if isinstance(event_id, str) else "",
        timestamp=timestamp,
        environment=environment if isinstance(environment, str) else DEFAULT_ENVIRONMENT,
        customer_org_id=event.customer_org_id or "",
        user_hash=event.user_hash or "",
        properties=flat,
    )


def _fast_timestamp(value: object, now: datetime) -> datetime | None:
    if value is None or value is UNSET:
        return now
    if type(value) is str:
        moment = _parse_iso(value)
    elif type(value) is int:
        moment = _from_epoch_ms(value, now)
    else:
        return None
    if moment is None or moment < EARLIEST_TIMESTAMP or moment > now + MAX_FUTURE:
        return None
    return moment


def _fast_flatten(properties: dict[str, Any]) -> dict[str, Any] | None:
    """`_flatten` for accepted events: a new dict, or None on any error."""
    if "ai" not in properties:
        return dict(properties)
    nested = properties["ai"]
    flat = {key: value for key, value in properties.items() if key != "ai"}
    if nested is None:
        return flat
    if not isinstance(nested, dict):
        return None
    for key, value in nested.items():
        if key in flat:
            if flat[key] != value:
                return None
            continue
        flat[key] = value
    return flat


def _fast_ai(name: str, props: dict[str, Any]) -> bool:
    """`_validate_ai` for accepted events: types and bounds checked by msgspec (AiFields),
    the rest here; normalises `props` in place. False on any error."""
    for key in [key for key, value in props.items() if value is None and key in AI_FIELDS]:
        del props[key]
    try:
        ai = msgspec.convert(props, AiFields)
    except (msgspec.ValidationError, TypeError, ValueError):
        return False
    for key in REQUIRED_AI_FIELDS[name]:
        value = getattr(ai, key)
        if value is None or not value.strip():
            return False
    if ai.latency_ms is not None:
        latency = float(props["latency_ms"])
        if not math.isfinite(latency):
            return False
        props["latency_ms"] = abs(latency)  # abs: -0.0 is 0
    if ai.edit_ratio is not None:
        ratio = props["edit_ratio"]
        if not ratio <= 1:  # exactly: 1.0000000000000000001 is 1.0 as a float
            return False
        props["edit_ratio"] = abs(float(ratio))
    if ai.success is None and name in DEFAULT_SUCCESS:
        props["success"] = DEFAULT_SUCCESS[name]
    for key in MONEY_FIELDS:
        if key in props:
            amount = _money(props[key])
            if amount is None:
                return False
            props[key] = amount
    if ai.cost_currency is not None:
        if ai.cost_amount is None:
            return False
        props["cost_currency"] = ai.cost_currency.upper()
    elif ai.cost_amount is not None:
        return False
    cached, input_tokens = ai.cached_input_tokens, ai.input_tokens
    if cached is not None and input_tokens is not None and cached > input_tokens:
        return False
    if ai.total_tokens is None and input_tokens is not None and ai.output_tokens is not None:
        props["total_tokens"] = input_tokens + ai.output_tokens
    if name in DEFAULT_VALUE_SIGNAL:
        props.setdefault("value_signal", DEFAULT_VALUE_SIGNAL[name])
    return True


def _reference_validate(
    payload: Any,
    *,
    now: datetime,
    max_batch_events: int,
    max_event_bytes: int,
    new_event_id: Callable[[int], str] = _new_event_id,
    body_size: int | None = None,
) -> list[IncomingEvent]:
    """`validate_request` the slow way: every rule in Python, every error found and worded.

    The reference for the fast paths above: they accept what it accepts, as it normalises
    it, or give way to it.
    """
    now = _utc(now)
    errors: list[FieldError] = []
    if isinstance(payload, dict) and "batch" in payload:
        raw_events = payload["batch"]
        envelope = strip_private({k: v for k, v in payload.items() if k != "batch"})
        for key in envelope:
            errors.append(_error(None, _key_label(key), "is not allowed beside 'batch'."))
        if not isinstance(raw_events, list):
            raise ValidationFailed([*errors, _error(None, "batch", "must be a list of events.")])
        if not raw_events:
            raise ValidationFailed([*errors, _error(None, "batch", "must hold an event or more.")])
        if len(raw_events) > max_batch_events:
            raise PayloadTooLarge(
                f"A batch holds at most {max_batch_events} events; this one holds "
                f"{len(raw_events)}.",
                limit="batch_events",
                maximum=max_batch_events,
            )
    elif isinstance(payload, dict):
        raw_events = [payload]
    else:
        raise ValidationFailed(
            [_error(None, None, 'The body must be an event object or {"batch": [events]}.')]
        )

    stripped = [strip_private(item) if isinstance(item, dict) else item for item in raw_events]
    # When the whole body is well under the per-event limit, no event can exceed it: skip
    # re-serialising every event (half the limit leaves room for JSON that grows when
    # re-encoded, such as 1e2 becoming 1E+2).
    small_body = body_size is not None and body_size <= max_event_bytes // 2
    oversized = [
        index
        for index, item in enumerate(stripped)
        if not small_body and isinstance(item, dict) and json_size(item) > max_event_bytes
    ]
    if oversized:
        raise PayloadTooLarge(
            f"An event may take at most {max_event_bytes} bytes of JSON (after privacy "
            f"stripping); this request has {len(oversized)} larger "
            f"event{'s' if len(oversized) != 1 else ''}.",
            limit="event_bytes",
            maximum=max_event_bytes,
            indexes=oversized,
        )

    events: list[IncomingEvent] = []
    for index, item in enumerate(stripped):
        event = _validate_event(item, index=index, now=now, errors=errors, new_id=new_event_id)
        if event is not None:
            events.append(event)
    if errors:
        raise ValidationFailed(errors)
    return events


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON (`separators=(",", ":")`, non-ASCII kept).

    Serialised by the C encoder (a recursive Python walk is several times slower); a Decimal
    goes through `default` as a string, so its two quotes are subtracted afterwards.
    """
    quoted = 0

    def as_text(obj: object) -> str:
        nonlocal quoted
        quoted += 1
        return str(obj)

    text = json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), check_circular=False, default=as_text
    )
    return len(text.encode("utf-8", "surrogatepass")) - 2 * quoted


def _error(index: int | None, field: str | None, message: str) -> FieldError:
    return {"index": index, "field": field, "message": message}


def _key_label(key: object) -> str:
    """A key as it may appear in an error: short identifiers only, never free text."""
    if isinstance(key, str) and 0 < len(key) <= _MAX_KEY_LABEL and _SAFE_KEY_CHARS.issuperset(key):
        return key
    return "(a key that is not an identifier)"


class _EventErrors:
    """The errors of one event, appended to the request's list."""

    def __init__(self, index: int, errors: list[FieldError]) -> None:
        self.index = index
        self.errors = errors
        self.count = 0

    def add(self, field: str | None, message: str) -> None:
        self.errors.append(_error(self.index, field, message))
        self.count += 1

    def reported(self, field: str) -> bool:
        """Whether this event already has an error for `field`."""
        own = self.errors[len(self.errors) - self.count :]
        return any(error["field"] == field for error in own)


def _validate_event(
    raw: Any,
    *,
    index: int,
    now: datetime,
    errors: list[FieldError],
    new_id: Callable[[int], str],
) -> IncomingEvent | None:
    report = _EventErrors(index, errors)
    if not isinstance(raw, dict):
        report.add(None, "An event must be a JSON object.")
        return None
    for key in raw:
        if key not in EVENT_FIELDS:
            report.add(
                _key_label(key),
                "is not an event field (custom data goes under 'properties').",
            )
    name = _string(raw.get("event"), "event", MAX_NAME_LENGTH, report, required=True)
    event_id = _string(raw.get("event_id"), "event_id", MAX_NAME_LENGTH, report, non_empty=True)
    environment = _string(
        raw.get("environment"), "environment", MAX_ENVIRONMENT_LENGTH, report, non_empty=True
    )
    org = _string(raw.get("customer_org_id"), "customer_org_id", MAX_NAME_LENGTH, report)
    user_hash = _string(raw.get("user_hash"), "user_hash", MAX_NAME_LENGTH, report)
    timestamp = _timestamp(raw.get("timestamp"), now, report)
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        report.add("properties", "must be an object.")
        properties = {}
    flat, origins = _flatten(properties, report)
    # Found before the AI checks, which convert some numbers (1e-400 would be 0.0 after).
    unstorable = _unstorable_numbers(flat, origins)
    if name in AI_EVENTS:
        _validate_ai(name, flat, origins, report)
    for path in unstorable:
        if not report.reported(path):  # an AI field's own check said it more precisely
            report.add(path, _UNSTORABLE_NUMBER)
    if report.count or name is None or timestamp is None:
        return None
    return IncomingEvent(
        event=name,
        event_id=event_id if event_id is not None else new_id(index),
        timestamp=timestamp,
        environment=environment if environment is not None else DEFAULT_ENVIRONMENT,
        customer_org_id=org or "",
        user_hash=user_hash or "",
        properties=flat,
    )


def _string(
    value: Any,
    field: str,
    max_length: int,
    report: _EventErrors,
    *,
    required: bool = False,
    non_empty: bool = False,
) -> str | None:
    """The string, or None when absent or invalid (an error is reported for invalid)."""
    if value is None:
        if required:
            report.add(field, "is required.")
        return None
    if not isinstance(value, str):
        report.add(field, "must be a string.")
        return None
    if (required or non_empty) and not value.strip():
        report.add(field, "must not be empty.")
        return None
    if len(value) > max_length:
        report.add(field, f"must be at most {max_length} characters long.")
        return None
    return value


def _timestamp(value: Any, now: datetime, report: _EventErrors) -> datetime | None:
    if value is None:
        return now
    moment: datetime | None = None
    if isinstance(value, str):
        moment = _parse_iso(value)
    elif not isinstance(value, bool) and isinstance(value, int | float | Decimal):
        moment = _from_epoch_ms(value, now)
    if moment is None:
        report.add(
            "timestamp",
            "must be an ISO 8601 date-time or a whole number of epoch milliseconds.",
        )
        return None
    if moment < EARLIEST_TIMESTAMP:
        report.add(
            "timestamp",
            "must not be before 2000-01-01T00:00:00Z (epoch milliseconds are expected, "
            "not seconds).",
        )
        return None
    if moment > now + MAX_FUTURE:
        report.add("timestamp", "must not be more than one day ahead of the server's clock.")
        return None
    return moment


def _parse_iso(value: str) -> datetime | None:
    if len(value) > MAX_TIMESTAMP_LENGTH:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        return None


def _from_epoch_ms(value: Number, now: datetime) -> datetime | None:
    # Bounds are checked on the number first so that a huge value never reaches timedelta;
    # just outside the allowed window is still parsed, to report the right reason.
    if not _is_finite(value):
        return None
    low = -1
    high = (now + 2 * MAX_FUTURE - _EPOCH) // timedelta(milliseconds=1)
    if value < low:
        return _EPOCH - timedelta(milliseconds=1)
    if value > high:
        return now + 2 * MAX_FUTURE
    if value != int(value):
        return None
    return _EPOCH + timedelta(milliseconds=int(value))


def _is_finite(value: Number) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _non_negative(value: Any) -> bool:
    """A finite number >= 0 (finiteness first: ordering a Decimal NaN raises)."""
    return _is_number(value) and _is_finite(value) and value >= 0


def _flatten(
    properties: dict[str, Any], report: _EventErrors
) -> tuple[dict[str, Any], dict[str, str]]:
    """Lift `properties.ai.*` into the properties; `origins` remembers where keys came from
    so that errors name the field the integrator actually sent."""
    if "ai" not in properties:
        return dict(properties), {}
    nested = properties["ai"]
    flat = {key: value for key, value in properties.items() if key != "ai"}
    origins: dict[str, str] = {}
    if nested is None:
        return flat, origins
    if not isinstance(nested, dict):
        report.add("properties.ai", "must be an object (its fields are lifted into properties).")
        return flat, origins
    for key, value in nested.items():
        label = _key_label(key)
        if key in flat:
            if flat[key] != value:
                report.add(f"properties.ai.{label}", f"conflicts with properties.{label}.")
            continue
        flat[key] = value
        origins[key] = f"properties.ai.{label}"
    return flat, origins


# Tuples, not `dict | list`: a union written in a loop is built again at each iteration.
_CONTAINERS = (dict, list)
_NON_INTEGERS = (Decimal, float)
_UNSTORABLE_NUMBER = (
    "must be a number a 64-bit float can hold: finite, at most about 1.8e308 in magnitude, "
    "and not so close to 0 that it would be stored as 0."
)


def _storable(value: Decimal | float) -> bool:
    """Whether a 64-bit float holds the number (as the stored JSON does) without making it
    infinite, or zero when it is not."""
    if isinstance(value, float):
        return math.isfinite(value)
    if not value.is_finite():
        return False
    as_float = float(value)
    return math.isfinite(as_float) and (as_float != 0 or value.is_zero())


def _unstorable_numbers(properties: dict[str, Any], origins: dict[str, str]) -> list[str]:
    """The paths (`properties.scores[2].value`) of the numbers of `properties`, at any depth,
    that are not `_storable`, in document order.

    Iterative. Paths are built only inside containers (and for a finding at the top level),
    so the usual flat properties cost a type check per value.
    """
    found: list[str] = []
    for key, value in properties.items():
        if isinstance(value, _CONTAINERS):
            _find_nested(origins.get(key, f"properties.{_key_label(key)}"), value, found)
        elif isinstance(value, _NON_INTEGERS) and not _storable(value):
            found.append(origins.get(key, f"properties.{_key_label(key)}"))
    return found


def _find_nested(path: str, container: dict[str, Any] | list[Any], found: list[str]) -> None:
    stack: list[tuple[str, Any]] = [(path, container)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            children = [(f"{path}.{_key_label(key)}", item) for key, item in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        else:
            if isinstance(value, _NON_INTEGERS) and not _storable(value):
                found.append(path)
            continue
        stack.extend(reversed(children))


def _validate_ai(
    name: str, props: dict[str, Any], origins: dict[str, str], report: _EventErrors
) -> None:
    """Check and normalise the AI fields of `props` in place."""

    def field(key: str) -> str:
        return origins.get(key, f"properties.{key}")

    # An explicit null means "not sent": the seed says to omit unknown values.
    for key in AI_FIELDS:
        if key in props and props[key] is None:
            del props[key]

    required = REQUIRED_AI_FIELDS[name]
    for key, max_length in AI_STRING_FIELDS.items():
        if key not in props:
            if key in required:
                report.add(field(key), "is required.")
            continue
        value = _string(props[key], field(key), max_length, report, non_empty=key in required)
        if value is None:
            del props[key]

    for key in COUNT_FIELDS:
        if key in props:
            count = _count(props[key])
            if count is None:
                report.add(field(key), f"must be a whole number from 0 to {MAX_COUNT}.")
                del props[key]
            else:
                props[key] = count

    if "latency_ms" in props:
        latency = props["latency_ms"]
        # float() of a huge Decimal is inf: finiteness is checked again after conversion.
        as_float = float(latency) if _non_negative(latency) else math.inf
        if math.isfinite(as_float):
            props["latency_ms"] = abs(as_float)  # abs: -0.0 is 0
        else:
            report.add(field("latency_ms"), "must be a finite non-negative number.")

    if "edit_ratio" in props:
        ratio = props["edit_ratio"]
        if _non_negative(ratio) and ratio <= 1:
            props["edit_ratio"] = abs(float(ratio))
        else:
            report.add(field("edit_ratio"), "must be a number from 0 to 1.")

    if "success" in props:
        if not isinstance(props["success"], bool):
            report.add(field("success"), "must be true or false.")
    elif name in DEFAULT_SUCCESS:
        props["success"] = DEFAULT_SUCCESS[name]

    for key in MONEY_FIELDS:
        if key in props:
            amount = _money(props[key])
            if amount is None:
                report.add(field(key), f"must be a non-negative amount of at most {MAX_MONEY}.")
            else:
                props[key] = amount

    if "cost_currency" in props:
        currency = props["cost_currency"]
        if (
            isinstance(currency, str)
            and len(currency) == 3
            and currency.isascii()
            and currency.isalpha()
        ):
            props["cost_currency"] = currency.upper()
        else:
            report.add(field("cost_currency"), "must be a 3-letter ISO 4217 currency code.")
        if "cost_amount" not in props:
            report.add(field("cost_amount"), "is required with cost_currency.")
    elif "cost_amount" in props:
        report.add(field("cost_currency"), "is required with cost_amount.")

    cached, input_tokens = props.get("cached_input_tokens"), props.get("input_tokens")
    if isinstance(cached, int) and isinstance(input_tokens, int) and cached > input_tokens:
        report.add(field("cached_input_tokens"), "must not exceed input_tokens.")
    output_tokens = props.get("output_tokens")
    if (
        "total_tokens" not in props
        and isinstance(input_tokens, int)
        and isinstance(output_tokens, int)
    ):
        props["total_tokens"] = input_tokens + output_tokens

    if name in DEFAULT_VALUE_SIGNAL:
        props.setdefault("value_signal", DEFAULT_VALUE_SIGNAL[name])


def _count(value: Any) -> int | None:
    """A whole non-negative number as int (1200.0 counts as 1200); bools are not counts."""
    if not _non_negative(value):
        return None
    # Range first: int() of Decimal("1e999999999") would build a billion-digit integer.
    if value > MAX_COUNT or value != int(value):
        return None
    return int(value)


def _money(value: Any) -> Decimal | None:
    if not _non_negative(value) or value > MAX_MONEY:
        return None
    if isinstance(value, Decimal):
        # copy_abs turns -0 into 0 without rounding (abs() would round to the context).
        return value.copy_abs()
    if isinstance(value, float):
        return Decimal(repr(value)).copy_abs()  # the float's shortest text, not its binary
    return Decimal(value)
