"""Events a month are a soft limit: ingest keeps answering 202 and storing past it, and the
viewer reports the overage for the banner."""

from __future__ import annotations

from app.accounts.models import Workspace
from app.db import session_scope
from app.settings import Settings
from tests.harness import Harness, running

USAGE = "{ viewer { eventsThisMonth eventsMonthlyLimit overage } }"


def _limit(h: Harness, events: int) -> None:
    with session_scope(h.runtime.engine) as session:
        workspace = session.get(Workspace, h.workspace_id)
        assert workspace is not None
        workspace.override_events_monthly_limit = events


def test_ingest_is_never_blocked_over_the_monthly_limit(settings: Settings) -> None:
    with running(settings, plan="free") as h:
        _limit(h, 2)
        batch = {"batch": [{"event": "signup"}, {"event": "login"}]}
        assert h.post(batch).status_code == 202
        h.wait_for_events(2)
        # At the limit: not over it yet.
        assert h.graphql(USAGE) == {
            "data": {"viewer": {"eventsThisMonth": 2, "eventsMonthlyLimit": 2, "overage": False}}
        }
        for name in ("page_view", "logout"):
            response = h.post({"event": name})
            assert response.status_code == 202
            assert response.json()["accepted"] == 1
        h.wait_for_events(4)
        assert h.graphql(USAGE) == {
            "data": {"viewer": {"eventsThisMonth": 4, "eventsMonthlyLimit": 2, "overage": True}}
        }
