from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from app.errors import AnalyticsUnavailable
from app.workers.batcher import Batcher


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, rows: Sequence[int]) -> None:
        self.batches.append(list(rows))


def test_rows_of_all_waiting_producers_are_written_in_one_batch() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, max_rows=1000, max_wait_s=60, producers=3)  # type: ignore[arg-type]
    threads = [threading.Thread(target=batcher.submit, args=([i, i],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    batcher.stop()
    assert len(recorder.batches) == 1
    assert sorted(recorder.batches[0]) == [0, 0, 1, 1, 2, 2]


def test_a_lone_producer_is_flushed_after_max_wait() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, max_rows=1000, max_wait_s=0.2, producers=8)  # type: ignore[arg-type]
    started = time.monotonic()
    batcher.submit([1])
    waited = time.monotonic() - started
    batcher.stop()
    assert recorder.batches == [[1]]
    assert waited >= 0.2


def test_a_full_batch_is_flushed_without_waiting_for_the_others() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, max_rows=3, max_wait_s=60, producers=8)  # type: ignore[arg-type]
    batcher.submit([1, 2, 3])
    batcher.stop()
    assert recorder.batches == [[1, 2, 3]]


def test_a_failed_write_is_raised_to_every_producer_of_the_batch() -> None:
    def failing(rows: Sequence[int]) -> None:
        raise AnalyticsUnavailable("down")

    batcher = Batcher(failing, max_rows=1, max_wait_s=60, producers=1)  # type: ignore[arg-type]
    with pytest.raises(AnalyticsUnavailable):
        batcher.submit([1])
    batcher.stop()
