"""The rollup tables of the organizations list: its figures (app/organizations/figures.py)
summed per period, environment and organization from `events` (migration 014). What a rollup
is: app/store/rollups.py.
"""

from __future__ import annotations

from app.organizations.figures import ORGANIZATION_FIGURES
from app.store.events_table import EVENTS_TABLE
from app.store.rollups import Rollup
from app.store.time_split import Granularity

_KEYS = ("environment", "customer_org_id")


def _rollup(name: str, grain: Granularity) -> Rollup:
    return Rollup(name, grain, _KEYS, source=EVENTS_TABLE, figures=ORGANIZATION_FIGURES)


# Coarsest first.
ORGANIZATION_ROLLUPS: tuple[Rollup, ...] = (
    _rollup("organizations_daily", Granularity.DAY),
    _rollup("organizations_hourly", Granularity.HOUR),
)
