"""The rollup tables of the organizations list: its figures (app/organizations/figures.py)
summed per period, environment and organization from `events` (migration 014). What a rollup
is: app/store/rollups.py.
"""

from __future__ import annotations

from app.organizations.figures import ORGANIZATION_FIGURES
from app.store.events_table import EVENTS_TABLE
from app.store.rollups import Rollup, declare_figures
from app.store.time_split import Granularity

_KEYS = ("environment", "customer_org_id")
declare_figures(EVENTS_TABLE, ORGANIZATION_FIGURES)

# Coarsest first.
ORGANIZATION_ROLLUPS: tuple[Rollup, ...] = (
    Rollup("organizations_daily", Granularity.DAY, _KEYS, source=EVENTS_TABLE),
    Rollup("organizations_hourly", Granularity.HOUR, _KEYS, source=EVENTS_TABLE),
)
