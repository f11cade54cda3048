"""Privacy by design: prompts, generated content and chat transcripts never get past ingest.

What is dropped, at any depth:
- a key whose name is `prompt`, `messages`, `completion`, `output` or `response_text`,
  compared case-insensitively and ignoring `_`, `-` and spaces (so `Prompt`, `responseText`
  and `RESPONSE-TEXT` go too: SDKs spell keys in every case convention);
- under any other key, a chat transcript: a list with at least one element that is an object
  with a `role` and a `content` (or Gemini-style `parts`) key, names compared the same way.
  One such element is enough, so that a transcript padded with other items still goes;
- inside any list (the root included), message objects and transcripts (a list of
  conversations) are removed as elements, so no message survives in a list.

A single `{"role": …, "content": …}` object that is not in a list is kept: product events
legitimately say `{"role": "admin", "content": "pricing_page"}`.

Strings holding serialised JSON are not inspected.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

PRIVATE_KEYS = frozenset({"prompt", "messages", "completion", "output", "responsetext"})
_ROLE = "role"
_CONTENT_KEYS = frozenset({"content", "parts"})
_SEPARATORS = str.maketrans("", "", "_- ")


def _normalise(key: str) -> str:
    return key.casefold().translate(_SEPARATORS)


# Keys repeat from event to event: the cache makes the check a dict lookup; its bound keeps
# memory flat when a client invents a new key per event.
@lru_cache(maxsize=4096)
def is_private_key(key: str) -> bool:
    """Whether a key is dropped whatever its value."""
    return _normalise(key) in PRIVATE_KEYS


def _is_message(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) < 2:
        return False
    names = {_normalise(key) for key in value if isinstance(key, str)}
    return _ROLE in names and not names.isdisjoint(_CONTENT_KEYS)


def is_transcript(value: Any) -> bool:
    """Whether a value is a list holding at least one chat message object."""
    return isinstance(value, list) and any(_is_message(item) for item in value)


def _holds_private(value: Any) -> bool:
    """Whether anything under `value` would be dropped (a walk that allocates nothing)."""
    if isinstance(value, dict):
        return any(
            (isinstance(key, str) and is_private_key(key))
            or is_transcript(item)
            or _holds_private(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(
            _is_message(item) or is_transcript(item) or _holds_private(item) for item in value
        )
    return False


def strip_private(value: Any) -> Any:
    """`value` without private keys and transcripts; the input is not modified.

    When nothing is private (the usual case, on the hot path) `value` itself is returned;
    otherwise every dict and list on the way is a new one.
    """
    if not _holds_private(value):
        return value
    return _stripped(value)


def _stripped(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _stripped(item)
            for key, item in value.items()
            if not (isinstance(key, str) and is_private_key(key)) and not is_transcript(item)
        }
    if isinstance(value, list):
        return [_stripped(item) for item in value if not (_is_message(item) or is_transcript(item))]
    return value
