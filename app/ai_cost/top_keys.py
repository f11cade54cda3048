"""The top keys each report scope ranked last: a guess that lets a report read the latency of
its top rows beside its figures instead of after them, and a split series group its top keys
without ranking them first.

Only a guess: the report compares it with the ranking it has just computed and reads whatever
the guess missed afterwards, so no result depends on it. Dashboards ask the same scope again
and again (a rolling "last 30 days" keeps its ranking from one load to the next), so the guess
is usually right and the two statements run at once on the two cores.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence


class LastTopKeys:
    """The keys last ranked on top per report scope, for the `capacity` scopes used last."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[Hashable, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, scope: Hashable) -> tuple[str, ...] | None:
        with self._lock:
            keys = self._keys.get(scope)
            if keys is not None:
                self._keys.move_to_end(scope)
            return keys

    def put(self, scope: Hashable, keys: Sequence[str]) -> None:
        with self._lock:
            self._keys[scope] = tuple(keys)
            self._keys.move_to_end(scope)
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
