from __future__ import annotations

from pathlib import Path

from app.workers.local_queue import LocalQueue
from tests.workers.rows import queued_row


def test_groups_survive_reopening_the_queue_until_acknowledged(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "q.sqlite3")
    queue.put([queued_row("e1"), queued_row("e2")])
    queue.put([queued_row("e3")])
    queue.close()

    reopened = LocalQueue(tmp_path / "q.sqlite3")
    ids, rows = reopened.take(max_rows=10)
    assert [r["event_id"] for r in rows] == ["e1", "e2", "e3"]
    reopened.ack(ids[:1])
    assert reopened.pending_rows() == 1
    reopened.close()


def test_take_stops_before_exceeding_max_rows_but_always_returns_one_group(tmp_path: Path) -> None:
    queue = LocalQueue(tmp_path / "q.sqlite3")
    queue.put([queued_row() for _ in range(3)])
    queue.put([queued_row() for _ in range(3)])
    ids, rows = queue.take(max_rows=2)
    assert (len(ids), len(rows)) == (1, 3)
    ids, rows = queue.take(max_rows=6)
    assert (len(ids), len(rows)) == (2, 6)
    queue.close()
