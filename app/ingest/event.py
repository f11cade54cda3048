"""An accepted event after validation, flattening and privacy stripping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
