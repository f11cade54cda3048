"""Redis mode: stored rows go through Redis pub/sub, one channel per workspace.

Writers may run in other processes than the subscribers (`saas-tracker worker`, several
`serve`), so a writer publishes each stored batch on the channels of its workspaces and every
serving process listens on the channels of the workspaces it has subscribers for.

IMPORTANT: the writer must never wait for this. `publish` only puts the batch on a bounded
in-memory outbox (dropping it, with a warning, when Redis falls that far behind); a thread
publishes from there, and only to channels someone listens on (`PUBSUB NUMSUB` first, so that
a batch nobody watches costs one small round trip, not its bytes). Redis itself never waits
for a slow subscriber either: it disconnects one whose output buffer overflows, and the
listener then reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from uuid import UUID

import orjson
import redis

from app.event_types import QueuedRow
from app.live.hub import EventMatch, LiveHub, LiveSubscription

log = logging.getLogger(__name__)

NAMESPACE = "saas_tracker"
# Stored batches waiting to be published: beyond this many, a batch is dropped (live delivery
# is best effort; the writer goes on).
OUTBOX_BATCHES = 256
# How long the listener waits for a message before it looks at which channels it should hear.
POLL_S = 0.1
# How long a new subscriber waits for its channel to be listened on (`listening`).
LISTEN_TIMEOUT_S = 5.0


class RedisLiveEvents:
    def __init__(self, url: str, *, channel_prefix: str) -> None:
        self.hub = LiveHub()
        self._url = url
        self._prefix = f"{NAMESPACE}:{channel_prefix}"
        self._outbox: queue.Queue[list[QueuedRow]] = queue.Queue(maxsize=OUTBOX_BATCHES)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        # The channels the listener is subscribed to now.
        self._listening: frozenset[str] = frozenset()
        self._wanted = threading.Event()

    def channel(self, workspace_id: str) -> str:
        return f"{self._prefix}:{workspace_id}"

    # --- the writer's side -------------------------------------------------------------------

    def publish(self, rows: Sequence[QueuedRow]) -> None:
        self._start("live-publisher", self._publish_loop)
        try:
            self._outbox.put_nowait(list(rows))
        except queue.Full:
            log.warning("live events dropped: publishing to Redis falls behind the writer")

    def _publish_loop(self) -> None:
        client = redis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=3)
        try:
            while not self._stop.is_set():
                try:
                    rows = self._outbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                try:
                    self._publish(client, rows)
                except (redis.RedisError, OSError) as exc:
                    log.warning("could not publish live events: %s", type(exc).__name__)
        finally:
            client.close()

    def _publish(self, client: redis.Redis, rows: Sequence[QueuedRow]) -> None:
        by_channel: dict[str, list[QueuedRow]] = {}
        for row in rows:
            by_channel.setdefault(self.channel(row["workspace_id"]), []).append(row)
        heard = {
            (name.decode() if isinstance(name, bytes) else name): int(count)
            for name, count in client.pubsub_numsub(*by_channel)
        }
        pipeline = client.pipeline(transaction=False)
        for channel, found in by_channel.items():
            if heard.get(channel):
                pipeline.publish(channel, orjson.dumps(found))
        pipeline.execute()

    # --- the subscribers' side ---------------------------------------------------------------

    def subscribe(
        self, workspace_id: UUID, match: EventMatch, *, max_queued: int
    ) -> LiveSubscription:
        subscription = self.hub.add(workspace_id, match, max_queued=max_queued)
        self._start("live-listener", self._listen_loop)
        self._wanted.set()
        return subscription

    async def listening(self, subscription: LiveSubscription) -> None:
        channel = self.channel(subscription.workspace_id)
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while channel not in self._listening and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _listen_loop(self) -> None:
        client = redis.Redis.from_url(self._url, socket_timeout=10, socket_connect_timeout=3)
        pubsub: redis.client.PubSub | None = None
        subscribed: set[str] = set()
        while not self._stop.is_set():
            try:
                if pubsub is None:
                    pubsub = client.pubsub(ignore_subscribe_messages=True)
                    subscribed = set()
                wanted = {self.channel(workspace) for workspace in self.hub.workspaces()}
                if wanted - subscribed:
                    pubsub.subscribe(*(wanted - subscribed))
                if subscribed - wanted:
                    pubsub.unsubscribe(*(subscribed - wanted))  # type: ignore[no-untyped-call]
                subscribed = wanted
                # Redis answers in order: a row published after this point reaches us.
                self._listening = frozenset(subscribed)
                if not subscribed and not pubsub.subscribed:
                    self._wanted.wait(POLL_S)
                    self._wanted.clear()
                    continue
                message = pubsub.get_message(timeout=POLL_S)
                if message is not None and message["type"] == "message":
                    self.hub.deliver(orjson.loads(message["data"]))
            except (redis.RedisError, OSError) as exc:
                log.warning("the live events listener lost Redis: %s", type(exc).__name__)
                self._listening = frozenset()
                if pubsub is not None:
                    pubsub.close()
                pubsub = None
                self._stop.wait(1.0)
        if pubsub is not None:
            pubsub.close()
        client.close()

    # --- both --------------------------------------------------------------------------------

    def _start(self, name: str, target: Callable[[], None]) -> None:
        with self._lock:
            if name in self._threads or self._stop.is_set():
                return
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads[name] = thread
            thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout=5)
