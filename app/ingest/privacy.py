"""Privacy by design: prompts, generated content and chat transcripts never get past ingest.

The rule lives in the client SDK (`saas_tracker_client.privacy`, whose docstring spells it
out) so that the client strips exactly what the server strips; ingest applies it again to
every event, whatever client sent it.
"""

from saas_tracker_client.privacy import (
    PRIVATE_KEYS,
    KeyKind,
    is_private_key,
    is_transcript,
    key_kind,
    normalise_key,
    strip_private,
)

__all__ = [
    "PRIVATE_KEYS",
    "KeyKind",
    "is_private_key",
    "is_transcript",
    "key_kind",
    "normalise_key",
    "strip_private",
]
