"""One root error for everything a user may be told; each carries the data the contract names.

REST and GraphQL translate these in one place each (`app/ingest/responses.py`,
`app/graphql/errors.py`); anything else is unexpected and masked.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SaasTrackerError(Exception):
    """Root of every expected error."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, **self.details}


class Unauthenticated(SaasTrackerError):
    """No valid bearer token."""

    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(SaasTrackerError):
    """The token's role does not allow this operation."""

    code = "FORBIDDEN"
    status = 403


class UpgradeRequired(SaasTrackerError):
    """The workspace's plan lacks a feature."""

    code = "UPGRADE_REQUIRED"
    status = 403

    def __init__(self, *, feature: str, required_plan: str) -> None:
        super().__init__(
            f"The feature '{feature}' needs the '{required_plan}' plan or above.",
            feature=feature,
            requiredPlan=required_plan,
        )


class LimitReached(SaasTrackerError):
    """A plan limit would be exceeded."""

    code = "LIMIT_REACHED"
    status = 403

    def __init__(self, *, limit: str, current: int, maximum: int) -> None:
        super().__init__(
            f"The plan limit '{limit}' is reached ({current} of {maximum}).",
            limit=limit,
            current=current,
            max=maximum,
        )


class NotFound(SaasTrackerError):
    """The object does not exist or belongs to another workspace."""

    code = "NOT_FOUND"
    status = 404


class BadUserInput(SaasTrackerError):
    """An argument is invalid."""

    code = "BAD_USER_INPUT"
    status = 400


class QueueUnavailable(SaasTrackerError):
    """The durable queue could not take the events; nothing was accepted."""

    code = "UNAVAILABLE"
    status = 503


class AnalyticsUnavailable(SaasTrackerError):
    """ClickHouse cannot be reached; the caller retries later."""

    code = "UNAVAILABLE"
    status = 503


class AnalyticsRejected(SaasTrackerError):
    """ClickHouse refused a statement or its data (not a connectivity problem)."""

    code = "INTERNAL"
    status = 500


class QueryTooCostly(SaasTrackerError):
    """A request asks for more work than one request may cost: refused before it runs."""

    code = "QUERY_TOO_COSTLY"
    status = 400


class AnalyticsLimitExceeded(AnalyticsUnavailable):
    """A ClickHouse statement hit its time or memory limit (`max_execution_time`,
    `max_memory_usage`). An `AnalyticsUnavailable`, so a writer retries its batch later; a
    dashboard request is told which limit with the `QUERY_TOO_COSTLY` code."""

    code = "QUERY_TOO_COSTLY"
    status = 400

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message, limit=limit)


class TooManyRequests(SaasTrackerError):
    """The caller already has as many analytics requests running as it may."""

    code = "TOO_MANY_REQUESTS"
    status = 429
