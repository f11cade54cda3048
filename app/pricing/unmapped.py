"""The operators' list of (provider, model) strings whose events resolved to `unknown_model`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.errors import BadUserInput
from app.pricing.resolution import CostStatus
from app.pricing.resolver import LOCAL_PREFIX, PricingSnapshot
from app.store.interface import AnalyticsStore

MAX_LIMIT = 1000
EXAMPLE_APPS = 3

# Pairs mapped since (an alias created after the events) are excluded in the query itself, so
# that LIMIT counts only what is still unmapped. Stored events keep their status: history is
# not backfilled.
_SQL = f"""
SELECT
    provider,
    model,
    count() AS count,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen,
    groupUniqArray({EXAMPLE_APPS})(app_id) AS example_app_ids
FROM ai_usage_events
WHERE ai_cost_status = {{status:String}}
  AND NOT startsWith(model, {{local_prefix:String}})
  AND NOT has(
      arrayZip({{mapped_providers:Array(String)}}, {{mapped_models:Array(String)}}),
      (toString(provider), toString(model))
  )
GROUP BY provider, model
ORDER BY count DESC, last_seen DESC, provider, model
LIMIT {{limit:UInt32}}
"""


@dataclass(frozen=True, slots=True)
class UnmappedModel:
    provider: str
    model: str
    count: int
    first_seen: datetime
    last_seen: datetime
    example_app_ids: tuple[UUID, ...]


def unmapped_models(
    store: AnalyticsStore, snapshot: PricingSnapshot, limit: int = 100
) -> list[UnmappedModel]:
    """Unmapped (provider, model) pairs across all workspaces, most frequent first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(f"'limit' must be between 1 and {MAX_LIMIT}.", field="limit")
    mapped = sorted({*snapshot.models, *snapshot.aliases})
    rows = store.query(
        _SQL,
        {
            "status": CostStatus.unknown_model.value,
            "local_prefix": LOCAL_PREFIX,
            "mapped_providers": [provider for provider, _ in mapped],
            "mapped_models": [model for _, model in mapped],
            "limit": limit,
        },
    )
    return [
        UnmappedModel(
            provider=row["provider"],
            model=row["model"],
            count=int(row["count"]),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            example_app_ids=tuple(sorted(UUID(str(app_id)) for app_id in row["example_app_ids"])),
        )
        for row in rows
    ]
