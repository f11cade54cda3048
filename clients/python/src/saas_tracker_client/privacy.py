"""Privacy by design: prompts, generated content and chat transcripts never get past ingest.

One rule for both sides: the client drops these before a body is built (so they never leave
the integrator's process) and the server's ingest (`app.ingest.privacy` re-exports this
module) drops them again from whatever a client sent.

Keys are compared by what they say, not how they are spelled: after Unicode normalization
(NFKC, case folded) with everything but letters and digits removed, so that `Prompt`,
`responseText`, `RESPONSE-TEXT`, `prompt` with a fullwidth `p` (U+FF50) and `prompt` followed
by a zero-width space (a format character) are all `prompt`. What is dropped, at any depth:

- a key that names private content exactly: `prompt`, `messages`, `completion`, `output`,
  `response_text` — whatever its value;
- a variant of those (`system_prompt`, `user_prompt`, `prompts`, `prompt_text`,
  `raw_completion`, `model_output`, `chat_messages`, `user_message`, `llm_response`, …)
  holding text, an object or a list; holding a number or a boolean it only counts or flags
  something and is kept. Keys naming a count or an identifier of such content
  (`prompt_tokens`, `completion_tokens`, `prompt_id`, `prompt_version`) are not variants;
- under a key naming one message (`message`, `last_msg`, …), a message object: an object
  with a `role` and a `content` (or Gemini-style `parts`) key, names compared the same way;
- under any other key, a chat transcript: a list with at least one message object. One is
  enough, so that a transcript padded with other items still goes;
- inside any list (the root included), message objects and transcripts (a list of
  conversations) are removed as elements, so no message survives in a list.

A single `{"role": …, "content": …}` object under a key that names no message is kept:
product events legitimately say `{"role": "admin", "content": "pricing_page"}`.

Strings holding serialised JSON are not inspected.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from functools import lru_cache
from typing import Any

PRIVATE_KEYS = frozenset({"prompt", "messages", "completion", "output", "responsetext"})
_ROLE = "role"
_CONTENT_KEYS = frozenset({"content", "parts"})
# Who speaks in a conversation, or what produced the text: `system_prompt`, `user_message`.
_SPEAKERS = (
    "system|user|assistant|developer|human|ai|bot|llm|model|tool|chat|raw|full|final|original"
    "|generated|rendered|input"
)
# Matched against normalised keys (letters and digits only), whole.
_VARIANT = re.compile(
    r".*(?:prompt|completion|output|responsetext|messages)s?(?:text|content|body|raw|string)?"
    rf"|(?:{_SPEAKERS})(?:message|response|reply|answer)s?(?:text|content|body)?"
)
_ONE_MESSAGE = re.compile(r".*(?:message|msg)")


class KeyKind(Enum):
    """What a key says about the value under it."""

    ordinary = "ordinary"
    private = "private"  # dropped whatever its value
    variant = "variant"  # dropped unless it holds a number, a boolean or null
    message = "message"  # dropped when it holds a message object


def normalise_key(key: str) -> str:
    """`key` as compared: NFKC, case folded (NFKC again: folding may decompose), letters and
    digits only — which removes format characters (category Cf, e.g. zero-width spaces),
    separators and punctuation."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", key).casefold())
    return "".join(char for char in folded if char.isalnum())


def _decide(key: str) -> KeyKind:
    name = normalise_key(key)
    if name in PRIVATE_KEYS:
        return KeyKind.private
    if _VARIANT.fullmatch(name):
        return KeyKind.variant
    if _ONE_MESSAGE.fullmatch(name):
        return KeyKind.message
    return KeyKind.ordinary


# Keys repeat from event to event: the caches make a decision a dict look-up per key on the
# hot path. Their bound, and leaving long keys out, keep memory flat when a client invents
# new (or huge) keys per event.
_CACHED_KEY_LENGTH = 128
_cached_kind = lru_cache(maxsize=4096)(_decide)
_cached_name = lru_cache(maxsize=4096)(normalise_key)


def key_kind(key: str) -> KeyKind:
    """How a key is treated (normalised once per distinct key)."""
    return _cached_kind(key) if len(key) <= _CACHED_KEY_LENGTH else _decide(key)


def _name(key: str) -> str:
    return _cached_name(key) if len(key) <= _CACHED_KEY_LENGTH else normalise_key(key)


def is_private_key(key: str) -> bool:
    """Whether a key is dropped whatever its value."""
    return key_kind(key) is KeyKind.private


def _is_message(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) < 2:
        return False
    names = {_name(key) for key in value if isinstance(key, str)}
    return _ROLE in names and not names.isdisjoint(_CONTENT_KEYS)


def is_transcript(value: Any) -> bool:
    """Whether a value is a list holding at least one chat message object."""
    return isinstance(value, list) and any(_is_message(item) for item in value)


# Tuples, not `dict | list`: a union written in a loop is built again at each iteration.
_CONTAINERS = (dict, list)
_TEXT_OR_CONTAINER = (str, dict, list)
_ORDINARY = KeyKind.ordinary
_PRIVATE = KeyKind.private
_VARIANT_KIND = KeyKind.variant


def _drops(key: object, value: Any) -> bool:
    """Whether the entry `key: value` of an object is dropped."""
    kind = key_kind(key) if isinstance(key, str) else _ORDINARY
    if kind is not _ORDINARY:
        if kind is _PRIVATE:
            return True
        # Text, objects and lists may carry content; numbers and booleans only count it.
        if kind is _VARIANT_KIND:
            if isinstance(value, _TEXT_OR_CONTAINER):
                return True
        elif _is_message(value):
            return True
    return is_transcript(value)


def _holds_private(value: Any) -> bool:
    """Whether anything under `value` would be dropped (a walk that allocates nothing).

    Written for speed: it runs on every event, and a scalar under an ordinary key (nearly
    every entry) costs one cached look-up and one type check.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key_kind(key) is not _ORDINARY and _drops(key, item):
                return True
            if isinstance(item, _CONTAINERS) and (is_transcript(item) or _holds_private(item)):
                return True
        return False
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
        return {key: _stripped(item) for key, item in value.items() if not _drops(key, item)}
    if isinstance(value, list):
        return [_stripped(item) for item in value if not (_is_message(item) or is_transcript(item))]
    return value
