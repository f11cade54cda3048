"""An accepted event after validation, flattening and privacy stripping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

AI_CALL_COMPLETED = "ai_call_completed"
AI_CALL_FAILED = "ai_call_failed"
AI_OUTPUT_EVENTS = ("ai_output_accepted", "ai_output_rejected", "ai_output_edited")
AI_EVENTS = (AI_CALL_COMPLETED, AI_CALL_FAILED, *AI_OUTPUT_EVENTS)


@dataclass(slots=True)
class IncomingEvent:
    """One event as it will be priced and stored.

    `properties` is flattened (`properties.ai.*` lifted), stripped of prompts and transcripts,
    and normalised: token counts are ints, money amounts are `Decimal`, `success` is a bool.
    """

    event: str
    event_id: str
    timestamp: datetime
    environment: str
    customer_org_id: str
    user_hash: str
    properties: dict[str, Any]


def replayable_event_id(app_uuid: UUID, signature: bytes, position: int) -> str:
    """The id the server gives the event at `position` of a signed request that names none.

    Derived from the request's signature (a name-based UUID, version 5, in the app's UUID as
    namespace), not drawn at random: the same signed bytes sent again within the timestamp
    window (a replay, or a client's retry) get the same ids, and the writers' de-duplication
    on (app, event_id) stores them once. Two requests differ in signature whenever their
    bytes or their `x-timestamp` differ.
    """
    return str(uuid5(app_uuid, f"{signature.hex()}:{position}"))
