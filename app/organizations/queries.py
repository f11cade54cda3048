"""ClickHouse queries of the organizations list and of organization plans.

IMPORTANT: as in `app.plans.queries`, every statement is scoped with
`workspace_id = {workspace_id:UUID}` bound from the authenticated principal, and every value is
a bound parameter. SQL text chosen at run time comes only from the closed whitelists below
(`_SORT_KEYS`) and from which optional filters are present.

A page costs two statements whatever its size (no N+1), run side by side: per-organization
aggregates over `events` with the assigned plan (`organization_plans`, latest row wins) —
ordered and cut by keyset in ClickHouse — and the first event of each organization within
retention before the range. The health signals and scores are computed from the aggregates in
Python (`app.organizations.health.assess`); ordered by health score or first seen, every
organization of the scope is fetched and the page is cut in Python.

All functions block: call them off the event loop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any
from uuid import UUID

import orjson

from app.errors import BadUserInput
from app.organizations.figures import ORGANIZATION_FIGURES, TIMES
from app.organizations.health import Activity, Assessment, HealthModel, HealthSignal, assess
from app.organizations.rollups import ORGANIZATION_ROLLUPS
from app.store.events_table import EVENTS_TABLE
from app.store.interface import AnalyticsStore, side_by_side
from app.store.rollups import Rollup
from app.store.time_split import Granularity, branches, floor_to

ORGANIZATION_PLANS_TABLE = "organization_plans"
ORGANIZATION_PLAN_COLUMNS = ("workspace_id", "customer_org_id", "plan", "updated_at")


class OrderField(Enum):
    """What the organizations list is ordered by (ties: customer_org_id ascending)."""

    EVENT_COUNT = "event_count"
    ACTIVE_USERS = "active_users"
    AI_COST = "ai_cost"
    FIRST_SEEN = "first_seen"
    LAST_SEEN = "last_seen"
    HEALTH_SCORE = "health_score"
    CUSTOMER_ORG_ID = "customer_org_id"


@dataclass(frozen=True)
class _SortKey:
    # The column of the page's rows it is ordered by, and the ClickHouse type of its cursor
    # value. `first_seen` is completed in Python, and the health score computed there
    # (app.organizations.health): those two orders are cut in Python.
    column: str
    param_type: str


_SORT_KEYS: Mapping[OrderField, _SortKey] = {
    OrderField.EVENT_COUNT: _SortKey("event_count", "UInt64"),
    OrderField.ACTIVE_USERS: _SortKey("active_users", "UInt64"),
    OrderField.AI_COST: _SortKey("known_cost", "Decimal(38, 12)"),
    OrderField.FIRST_SEEN: _SortKey("first_seen", "DateTime64(3, 'UTC')"),
    OrderField.LAST_SEEN: _SortKey("last_seen", "DateTime64(3, 'UTC')"),
    OrderField.CUSTOMER_ORG_ID: _SortKey("customer_org_id", "String"),
}


@dataclass(frozen=True)
class OrganizationScope:
    """Which organizations a page covers: one workspace's events in `[start, end)`.

    `retained_from` is the workspace's retention start: the first-seen lookup never reaches
    before it (older raw data is not shown, and is being deleted).
    """

    workspace_id: UUID
    start: datetime
    end: datetime
    retained_from: datetime
    environment: str | None = None
    search: str | None = None
    customer_org_id: str | None = None

    @cached_property  # read for every organization of a page
    def trend_cut(self) -> datetime:
        """Where the activity trend cuts the range in two: the start of the day holding its
        midpoint (of the hour, for ranges under 2 days; the midpoint itself, to the
        millisecond the columns hold, under 2 hours). On a whole day or hour, the cut costs no
        extra read of finer aggregates; the trend compares rates, so unequal parts are fair."""
        span = self.end - self.start
        mid = self.start + span / 2
        if span >= timedelta(days=2):
            return floor_to(mid, Granularity.DAY)
        if span >= timedelta(hours=2):
            return floor_to(mid, Granularity.HOUR)
        return mid.replace(microsecond=mid.microsecond // 1000 * 1000)

    @cached_property
    def trend_parts_ms(self) -> tuple[int, int]:
        """The lengths of the two parts of the range the activity trend compares, in ms."""
        ms = timedelta(milliseconds=1)
        return (self.trend_cut - self.start) // ms, (self.end - self.trend_cut) // ms


@dataclass(frozen=True)
class SignalReading:
    """A signal of one organization: its measured value and its 0-100 score (None when the
    value is None or the signal is not in the model)."""

    signal: HealthSignal
    value: float | None
    score: float | None


@dataclass(frozen=True)
class OrganizationRow:
    customer_org_id: str
    event_count: int
    active_users: int
    known_cost_eur: Decimal
    costed_calls: int
    calls: int
    calls_with_unknown_cost: int
    failed_calls: int
    accepted_outputs: int
    rejected_outputs: int
    edited_outputs: int
    first_seen: datetime
    first_seen_in_range: datetime
    last_seen: datetime
    assigned_plan: str
    event_plan: str
    health_score: int | None
    signals: tuple[SignalReading, ...]
    cursor: str

    @property
    def ai_cost_eur(self) -> Decimal | None:
        """The known cost; None when there are calls and not one has a known cost, so that
        "nothing is known" never reads as "it cost nothing" (as `AiCostFigures.cost_eur`)."""
        if self.costed_calls == 0 and self.calls_with_unknown_cost > 0:
            return None
        return self.known_cost_eur

    @property
    def plan(self) -> str | None:
        return self.assigned_plan or self.event_plan or None


@dataclass(frozen=True)
class Page:
    """Ordering and keyset position of a page."""

    order: OrderField = OrderField.EVENT_COUNT
    descending: bool = True
    limit: int = 50
    after: str | None = None


# --- cursors ----------------------------------------------------------------------------------


def _key_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_cursor(page: Page, sort_value: Any, customer_org_id: str) -> str:
    """An opaque cursor: the order it belongs to and the last row's sort key."""
    payload = [page.order.value, page.descending, _key_text(sort_value), customer_org_id]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode_cursor(page: Page) -> tuple[Any, str]:
    assert page.after is not None
    invalid = BadUserInput("'after' is not a cursor of this list.", field="after")
    try:
        raw = base64.urlsafe_b64decode(page.after + "=" * (-len(page.after) % 4))
        order, descending, key_text, org = orjson.loads(raw)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise invalid from None
    if order != page.order.value or descending is not page.descending:
        raise BadUserInput(
            "'after' belongs to another ordering: keep orderBy and direction while paging.",
            field="after",
        )
    if not isinstance(key_text, str) or not isinstance(org, str):
        raise invalid
    try:
        value: Any
        if page.order in (OrderField.FIRST_SEEN, OrderField.LAST_SEEN):
            value = datetime.strptime(key_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        elif page.order is OrderField.AI_COST:
            value = Decimal(key_text)
        elif page.order is OrderField.CUSTOMER_ORG_ID:
            value = key_text
        else:
            value = int(key_text)
    except (ValueError, ArithmeticError):
        raise invalid from None
    return value, org


# --- the page query ---------------------------------------------------------------------------


def _filters(
    scope: OrganizationScope, params: dict[str, Any], *, environment_only: bool = False
) -> str:
    """The conditions besides time, over the rollups' key columns only."""
    sql = "workspace_id = {workspace_id:UUID} AND customer_org_id != ''"
    if scope.environment is not None:
        sql += " AND environment = {environment:String}"
        params["environment"] = scope.environment
    if environment_only:
        return sql
    if scope.search:
        sql += " AND positionCaseInsensitiveUTF8(customer_org_id, {search:String}) > 0"
        params["search"] = scope.search
    if scope.customer_org_id is not None:
        sql += " AND customer_org_id = {customer_org_id:String}"
        params["customer_org_id"] = scope.customer_org_id
    return sql


def _per_organization(
    scope: OrganizationScope, params: dict[str, Any], rollups: Sequence[Rollup]
) -> str:
    """The page's aggregates per organization in `[start, end)`, one SELECT per source (see
    `app.store.time_split`); the range is cut at `trend_cut` so that the activity trend's
    parts are exact whatever the source."""
    where = _filters(scope, params)
    aggregates = ", ".join(f"{f.aggregate} AS {f.alias}" for f in ORGANIZATION_FIGURES)
    columns = ", ".join(f.alias for f in ORGANIZATION_FIGURES)
    parts = []
    for branch in branches(
        EVENTS_TABLE, scope.start, scope.end, rollups, params, cuts=(scope.trend_cut,)
    ):
        # A rollup's rows are partial aggregates already: they are merged as they are, with
        # the other parts' (cheaper to plan than merging them here: 0.91-1.02 times the time).
        time_key, values, group_by = (
            ("period", columns, "")
            if branch.rollup
            else ("timestamp", aggregates, " GROUP BY customer_org_id, early")
        )
        parts.append(
            f"(SELECT customer_org_id, {time_key} < {{mid:DateTime64(3, 'UTC')}} AS early,"
            f" {values} FROM {branch.source} WHERE {where} AND {branch.condition}{group_by})"
        )
    merges = ", ".join(
        f"fromUnixTimestamp64Milli({f.merge}, 'UTC') AS {f.name}"
        if f.name in TIMES
        else f"{f.merge} AS {f.name}"
        for f in ORGANIZATION_FIGURES
    )
    return f"""
        SELECT customer_org_id, {merges},
            sumIf(f_event_count, early) AS early_events,
            sumIf(f_event_count, NOT early) AS late_events
        FROM ({" UNION ALL ".join(parts)})
        GROUP BY customer_org_id
    """


def _first_seen_before(
    scope: OrganizationScope, params: dict[str, Any], rollups: Sequence[Rollup]
) -> str:
    """Each organization's first event within retention and before the range (same
    environment filter): with the range's own first event, "customer since"."""
    retained_from = min(scope.retained_from, scope.start)
    where = _filters(scope, params, environment_only=True)
    first_seen = next(f for f in ORGANIZATION_FIGURES if f.name == "first_seen_in_range")
    parts = [
        f"(SELECT customer_org_id, {first_seen.alias} FROM {branch.source}"
        f" WHERE {where} AND {branch.condition})"
        if branch.rollup
        else f"(SELECT customer_org_id, {first_seen.aggregate} AS {first_seen.alias}"
        f" FROM {branch.source} WHERE {where} AND {branch.condition} GROUP BY customer_org_id)"
        for branch in branches(EVENTS_TABLE, retained_from, scope.start, rollups, params)
    ]
    return f"""
        SELECT customer_org_id,
            fromUnixTimestamp64Milli({first_seen.merge}, 'UTC') AS first_seen
        FROM ({" UNION ALL ".join(parts)})
        GROUP BY customer_org_id
    """


def _aggregated(scope: OrganizationScope, params: dict[str, Any], rollups: Sequence[Rollup]) -> str:
    """One row per organization of the scope: its aggregates and its assigned plan."""
    return f"""
        SELECT a.*, p.assigned_plan AS assigned_plan
        FROM ({_per_organization(scope, params, rollups)}) AS a
        LEFT JOIN
        (
            SELECT customer_org_id, argMax(plan, updated_at) AS assigned_plan
            FROM {ORGANIZATION_PLANS_TABLE}
            WHERE workspace_id = {{workspace_id:UUID}}
            GROUP BY customer_org_id
        ) AS p ON a.customer_org_id = p.customer_org_id
    """


# Ordered by these, every organization of the scope is fetched and the page is cut in Python:
# the health score is computed there, and first seen completed there (see list_organizations).
_ORDERED_IN_PYTHON = frozenset((OrderField.HEALTH_SCORE, OrderField.FIRST_SEEN))


def list_organizations(
    store: AnalyticsStore,
    *,
    scope: OrganizationScope,
    model: HealthModel,
    page: Page,
    rollups: Sequence[Rollup] = ORGANIZATION_ROLLUPS,
) -> list[OrganizationRow]:
    """One page of the workspace's organizations in the scope, with their health.

    `rollups`: the rollup tables read for whole days and hours (app/store/rollups.py); () reads
    the rows alone (the bench and the tests compare both).

    Two statements run at once, on two connections of the store: the page's aggregates (ordered
    and cut by ClickHouse when ordered by one of its columns) and each organization's first
    event before the range. Both cost ClickHouse more to plan than to run, and a statement is
    planned on one core: side by side they take the time of the longer one.
    """
    params: dict[str, Any] = {"workspace_id": scope.workspace_id, "mid": scope.trend_cut}
    sql = _aggregated(scope, params, rollups)
    if page.order not in _ORDERED_IN_PYTHON:
        sort = _SORT_KEYS[page.order]
        keyset = ""
        if page.after is not None:
            params["after_key"], params["after_org"] = _decode_cursor(page)
            beyond = "<" if page.descending else ">"
            after = f"{{after_key:{sort.param_type}}}"
            keyset = (
                f"WHERE {sort.column} {beyond} {after}"
                f" OR ({sort.column} = {after} AND customer_org_id > {{after_org:String}})"
            )
        params["limit"] = page.limit
        sql = f"""
            SELECT * FROM ({sql})
            {keyset}
            ORDER BY {sort.column} {"DESC" if page.descending else "ASC"}, customer_org_id ASC
            LIMIT {{limit:UInt32}}
        """
    earlier_params: dict[str, Any] = {"workspace_id": scope.workspace_id}
    earlier_sql = _first_seen_before(scope, earlier_params, rollups)
    raws, earlier = side_by_side(store, [(sql, params), (earlier_sql, earlier_params)])
    first_seen_before = {row["customer_org_id"]: row["first_seen"] for row in earlier}
    scored: list[_Scored] = []
    for raw in raws:
        in_range = raw["first_seen_in_range"]
        raw["first_seen"] = min(first_seen_before.get(raw["customer_org_id"], in_range), in_range)
        scored.append((raw, _assess(raw, scope, model)))
    if page.order in _ORDERED_IN_PYTHON:
        scored = _page_in_python(scored, page)
    return [_row(raw, assessment, page) for raw, assessment in scored]


def _health_key(assessment: Assessment, page: Page) -> int:
    # Organizations without a score sort last whichever the direction.
    if assessment.health_score is not None:
        return assessment.health_score
    return -1 if page.descending else 101


def _sort_value(row: Mapping[str, Any], assessment: Assessment, page: Page) -> Any:
    if page.order is OrderField.HEALTH_SCORE:
        return _health_key(assessment, page)
    return row[_SORT_KEYS[page.order].column]


_Scored = tuple[dict[str, Any], Assessment]


def _page_in_python(scored: Sequence[_Scored], page: Page) -> list[_Scored]:
    """The page of the organizations in the page's order (ties: customer_org_id ascending),
    as ClickHouse cuts the others."""
    keyed = [
        (_sort_value(raw, assessment, page), raw["customer_org_id"], index)
        for index, (raw, assessment) in enumerate(scored)
    ]
    if page.after is not None:
        after_key, after_org = _decode_cursor(page)

        def beyond(key: Any, org: str) -> bool:
            if key == after_key:
                return org > after_org
            return bool(key < after_key if page.descending else key > after_key)

        keyed = [k for k in keyed if beyond(k[0], k[1])]
    keyed.sort(key=lambda k: k[1])
    keyed.sort(key=lambda k: k[0], reverse=page.descending)  # stable: ties stay by id
    return [scored[index] for _, _, index in keyed[: page.limit]]


def _assess(row: Mapping[str, Any], scope: OrganizationScope, model: HealthModel) -> Assessment:
    early_ms, late_ms = scope.trend_parts_ms
    activity = Activity(
        early_events=int(row["early_events"]),
        late_events=int(row["late_events"]),
        early_ms=early_ms,
        late_ms=late_ms,
        active_users=int(row["active_users"]),
        accepted_outputs=int(row["accepted"]),
        rejected_outputs=int(row["rejected"]),
        edited_outputs=int(row["edited"]),
        calls=int(row["calls"]),
        failed_calls=int(row["failed_calls"]),
        costed_calls=int(row["costed_calls"]),
        known_cost_eur=Decimal(row["known_cost"]),
    )
    return assess(model, activity)


def _row(row: Mapping[str, Any], assessment: Assessment, page: Page) -> OrganizationRow:
    activity = assessment.activity
    return OrganizationRow(
        customer_org_id=row["customer_org_id"],
        event_count=int(row["event_count"]),
        active_users=activity.active_users,
        known_cost_eur=activity.known_cost_eur,
        costed_calls=activity.costed_calls,
        calls=activity.calls,
        calls_with_unknown_cost=int(row["calls_with_unknown_cost"]),
        failed_calls=activity.failed_calls,
        accepted_outputs=activity.accepted_outputs,
        rejected_outputs=activity.rejected_outputs,
        edited_outputs=activity.edited_outputs,
        first_seen=row["first_seen"],
        first_seen_in_range=row["first_seen_in_range"],
        last_seen=row["last_seen"],
        assigned_plan=row["assigned_plan"] or "",
        event_plan=row["event_plan"] or "",
        health_score=assessment.health_score,
        signals=tuple(
            SignalReading(signal, assessment.values[signal], assessment.scores[signal])
            for signal in HealthSignal
        ),
        cursor=encode_cursor(page, _sort_value(row, assessment, page), row["customer_org_id"]),
    )


# --- organization plans -----------------------------------------------------------------------


@dataclass(frozen=True)
class AssignedPlan:
    customer_org_id: str
    plan: str
    updated_at: datetime


def assigned_plan(
    store: AnalyticsStore, *, workspace_id: UUID, customer_org_id: str
) -> AssignedPlan | None:
    """The plan last assigned to the organization ('' once cleared); None if never assigned."""
    rows = store.query(
        f"SELECT argMax(plan, updated_at) AS last_plan, max(updated_at) AS last_update,"
        " count() AS n"
        f" FROM {ORGANIZATION_PLANS_TABLE}"
        " WHERE workspace_id = {workspace_id:UUID} AND customer_org_id = {org:String}",
        {"workspace_id": workspace_id, "org": customer_org_id},
    )
    if not rows or int(rows[0]["n"]) == 0:
        return None
    return AssignedPlan(customer_org_id, str(rows[0]["last_plan"]), rows[0]["last_update"])


def insert_organization_plan(
    store: AnalyticsStore, *, workspace_id: UUID, plan: AssignedPlan
) -> None:
    store.insert(
        ORGANIZATION_PLANS_TABLE,
        ORGANIZATION_PLAN_COLUMNS,
        [
            {
                "workspace_id": workspace_id,
                "customer_org_id": plan.customer_org_id,
                "plan": plan.plan,
                "updated_at": plan.updated_at,
            }
        ],
    )
