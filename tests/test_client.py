"""app/client.py against the real server over real HTTP: signing, splitting, retries.

The client is meant for a network, so these tests serve the real app with uvicorn on a local
port (`serving`) instead of the in-process TestClient: timeouts, refused connections and lost
responses are then the real thing. `serving` is also used by test_snippets and test_demo.
"""

from __future__ import annotations

import gzip
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from pydantic import SecretStr

from app.accounts import service
from app.client import (
    BufferedTracker,
    IngestRejected,
    IngestUnavailable,
    TrackerClient,
    encode_event,
)
from app.db import session_scope
from app.ingest.signature import sign_headers, verify
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings
from tests.harness import Harness


@dataclass
class LiveServer:
    """The real app served by uvicorn on 127.0.0.1, with a workspace and an app ready."""

    base_url: str
    runtime: Runtime
    workspace_id: uuid.UUID
    token: str
    app_uuid: str
    api_secret: str

    def stored(
        self,
        sql: str = "SELECT * FROM events ORDER BY timestamp, event_id",
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return self.runtime.store.query(sql, params)

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        # The harness's polling (events and materialized views consistent) needs only
        # `stored`: reuse it rather than copy it.
        return Harness.wait_for_events(self, count, timeout)  # type: ignore[arg-type]

    def client(self, **options: Any) -> TrackerClient:
        return TrackerClient(self.base_url, self.app_uuid, self.api_secret, **options)


def free_port_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(settings: Settings, *, plan: str = "growth") -> Iterator[LiveServer]:
    """Run `create_app(settings)` (lifespan, workers and all) under uvicorn in a thread."""
    app = create_app(settings)
    sock = free_port_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (see the log above)")
            time.sleep(0.02)
        runtime: Runtime = app.state.runtime
        with session_scope(runtime.engine) as session:
            workspace, token = service.create_workspace(session, name="Acme", plan_key=plan)
            tracked = service.create_app(session, workspace_id=workspace.id, name="Acme web")
        yield LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            runtime=runtime,
            workspace_id=workspace.id,
            token=token,
            app_uuid=str(tracked.uuid),
            api_secret=tracked.api_secret,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Recorder:
    """httpx event hooks that keep every request sent and every status received."""

    requests: list[httpx.Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        return httpx.Client(
            transport=transport,
            timeout=10,
            event_hooks={
                "request": [self.requests.append],
                "response": [lambda response: self.statuses.append(response.status_code)],
            },
        )


class TcpGate:
    """A TCP forwarder in front of Redis that starts closed: connections are refused (the
    socket is bound but not listening) until `open()`. Redis is then "down, then up"."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = free_port_socket()
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False

    def open(self) -> None:
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                inbound, _ = self.listener.accept()
            except OSError:
                return
            outbound = socket.create_connection(self.target)
            self.sockets += [inbound, outbound]
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.closed = True
        for sock in [self.listener, *self.sockets]:
            with suppress(OSError):
                sock.close()


class LoseFirstResponse(httpx.BaseTransport):
    """Delivers every request, but the first response never reaches the client: the 202 is
    lost on the way back, exactly when a retry must not store the events twice."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lost == 0:
            self.lost += 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def ai_call(customer: str = "acme-corp", **properties: Any) -> dict[str, Any]:
    return {
        "event": "ai_call_completed",
        "user_hash": "a1b2c3",
        "customer_org_id": customer,
        "properties": {
            "feature": "support_reply_generator",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "input_tokens": 1200,
            "output_tokens": 350,
            **properties,
        },
    }


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value


def test_a_tracked_event_is_stored_under_the_event_id_the_client_assigned(
    settings: Settings,
) -> None:
    with serving(settings) as live, live.client() as tracker:
        ids = tracker.track(ai_call())
        stored = live.wait_for_events(1)
    assert len(ids) == 1
    assert is_uuid4(ids[0])
    assert [row["event_id"] for row in stored] == ids


def test_the_signature_covers_the_exact_bytes_sent_with_a_timestamp(settings: Settings) -> None:
    recorder = Recorder()
    with serving(settings) as live, recorder.client() as http:
        with live.client(http_client=http) as tracker:
            tracker.track(ai_call(customer="Café Crème"))
        [request] = recorder.requests
        assert recorder.statuses == [202]
        # The same check as the server's, on the bytes that went over the wire.
        verify(
            body=request.content,
            signature=request.headers["x-signature"],
            timestamp=request.headers["x-timestamp"],
            secrets=[live.api_secret],
            now=time.time(),
            tolerance_s=300,
        )
        assert request.headers["x-app-uuid"] == live.app_uuid
        assert "Café Crème".encode() in request.content  # UTF-8, not \\u escapes


def test_a_batch_of_1201_events_goes_in_requests_of_500_500_and_201(settings: Settings) -> None:
    recorder = Recorder()
    events = [ai_call(customer=f"org-{i}") for i in range(1201)]
    with serving(settings) as live, recorder.client() as http:
        with live.client(http_client=http) as tracker:
            ids = tracker.track_batch(events)
        stored = live.wait_for_events(1201)
    sizes = [len(orjson.loads(gzip.decompress(r.content))["batch"]) for r in recorder.requests]
    assert sizes == [500, 500, 201]
    assert recorder.statuses == [202, 202, 202]
    assert len(set(ids)) == 1201
    assert {row["event_id"] for row in stored} == set(ids)


def test_a_batch_is_split_so_that_no_request_exceeds_one_mebibyte(settings: Settings) -> None:
    recorder = Recorder()
    # 60 KB of properties each (under the server's 64 KiB per event): 17 fit in 1 MiB.
    events = [{"event": "report_exported", "properties": {"csv": "x" * 60_000}}] * 20
    with serving(settings) as live, recorder.client() as http:
        with live.client(http_client=http) as tracker:
            ids = tracker.track_batch(events)
        live.wait_for_events(20)
    sizes = [len(orjson.loads(gzip.decompress(r.content))["batch"]) for r in recorder.requests]
    assert sizes == [17, 3]
    assert max(len(gzip.decompress(r.content)) for r in recorder.requests) <= 1024 * 1024
    assert recorder.statuses == [202, 202]
    assert len(set(ids)) == 20


def test_a_503_while_redis_is_down_is_retried_after_retry_after_with_the_same_event_ids(
    settings: Settings, redis_url: str
) -> None:
    host_port = redis_url.removeprefix("redis://").split("/")[0]
    host, port = host_port.split(":")
    gate = TcpGate(host, int(port))
    down_then_up = settings.model_copy(
        update={
            "redis_url": SecretStr(f"redis://127.0.0.1:{gate.port}/{redis_url.rsplit('/', 1)[1]}"),
            "retry_after_s": 1,
        }
    )
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        gate.open()  # Redis comes back while the client waits

    recorder = Recorder()
    try:
        with serving(down_then_up) as live, recorder.client() as http:
            with live.client(http_client=http, sleep=sleep) as tracker:
                ids = tracker.track_batch([ai_call(), ai_call(customer="globex")])
            stored = live.wait_for_events(2, timeout=60)
    finally:
        gate.close()
    assert recorder.statuses == [503, 202]
    assert sleeps == [1.0]
    first, second = recorder.requests
    assert first.content == second.content
    assert sorted(row["event_id"] for row in stored) == sorted(ids)


def test_a_lost_202_is_retried_and_the_events_are_stored_once(settings: Settings) -> None:
    transport = LoseFirstResponse()
    recorder = Recorder()
    with serving(settings) as live, recorder.client(transport) as http:
        with live.client(http_client=http, sleep=lambda _: None) as tracker:
            ids = tracker.track(ai_call())
            # The local queue is FIFO: once this later event is stored, the duplicate has
            # been through the writer too, so exactly two rows means it was dropped.
            later = tracker.track(ai_call(customer="later"))
        stored = live.wait_for_events(2)
    first, second = recorder.requests[:2]
    assert first.content == second.content
    assert recorder.statuses == [202, 202]  # the lost one is not seen by the hooks
    assert sorted(row["event_id"] for row in stored) == sorted(ids + later)


def test_a_validation_error_raises_at_once_with_status_and_error_body(settings: Settings) -> None:
    sleeps: list[float] = []
    recorder = Recorder()
    event = ai_call()
    del event["properties"]["model"]
    with serving(settings) as live, recorder.client() as http:
        tracker = live.client(http_client=http, sleep=sleeps.append)
        with tracker, pytest.raises(IngestRejected) as raised:
            tracker.track(event)
    assert raised.value.status == 400
    assert raised.value.error == "validation_error"
    assert raised.value.body == {
        "error": "validation_error",
        "errors": [{"index": 0, "field": "properties.model", "message": "is required."}],
    }
    assert recorder.statuses == [400]
    assert sleeps == []


def test_a_wrong_secret_raises_a_401_that_is_not_retried(settings: Settings) -> None:
    sleeps: list[float] = []
    recorder = Recorder()
    with serving(settings) as live, recorder.client() as http:
        tracker = TrackerClient(
            live.base_url, live.app_uuid, "not-the-secret", http_client=http, sleep=sleeps.append
        )
        with pytest.raises(IngestRejected) as raised:
            tracker.track(ai_call())
    assert raised.value.status == 401
    assert raised.value.body == {
        "error": "invalid_signature",
        "detail": "The signature does not match the request body.",
    }
    assert recorder.statuses == [401]
    assert sleeps == []


def test_an_unknown_app_raises_a_404_that_is_not_retried(settings: Settings) -> None:
    sleeps: list[float] = []
    with serving(settings) as live:
        tracker = TrackerClient(live.base_url, uuid.uuid4(), live.api_secret, sleep=sleeps.append)
        with tracker, pytest.raises(IngestRejected) as raised:
            tracker.track(ai_call())
    assert raised.value.status == 404
    assert raised.value.error == "unknown_app"
    assert sleeps == []


def test_a_later_request_of_a_batch_that_fails_reports_the_ids_already_accepted(
    settings: Settings,
) -> None:
    broken = ai_call()
    broken["properties"]["input_tokens"] = -1
    with serving(settings) as live, live.client(max_batch_events=2) as tracker:
        events = [ai_call(), ai_call(), broken]
        with pytest.raises(IngestRejected) as raised:
            tracker.track_batch(events)
    assert raised.value.status == 400
    assert len(raised.value.accepted) == 2
    assert len(raised.value.event_ids) == 1


def test_refused_connections_are_retried_with_growing_jittered_backoff_then_raise() -> None:
    closed = free_port_socket()  # bound, not listening: connections are refused
    port = closed.getsockname()[1]
    sleeps: list[float] = []
    tracker = TrackerClient(
        f"http://127.0.0.1:{port}",
        uuid.uuid4(),
        "secret",
        max_retries=3,
        backoff=0.5,
        sleep=sleeps.append,
        rng=random.Random(7),
    )
    with tracker, pytest.raises(IngestUnavailable) as raised:
        tracker.track(ai_call())
    closed.close()
    jitter = random.Random(7)
    assert sleeps == [c / 2 + jitter.uniform(0, c / 2) for c in (0.5, 1.0, 2.0)]
    assert raised.value.attempts == 4
    assert raised.value.status is None


def test_the_buffered_tracker_sends_enqueued_events_on_flush(settings: Settings) -> None:
    with serving(settings) as live, live.client() as tracker:
        with BufferedTracker(tracker, flush_interval_s=3600) as buffered:
            enqueued = [buffered.enqueue(ai_call(customer=f"org-{i}")) for i in range(3)]
            sent = buffered.flush()
        stored = live.wait_for_events(3)
    assert sent == enqueued
    assert sorted(row["event_id"] for row in stored) == sorted(enqueued)


def test_the_buffered_tracker_sends_from_its_thread_without_a_flush(settings: Settings) -> None:
    with serving(settings) as live, live.client() as tracker:
        buffered = BufferedTracker(tracker, flush_interval_s=0.05)
        enqueued = buffered.enqueue(ai_call())
        stored = live.wait_for_events(1)
        buffered.close()
    assert [row["event_id"] for row in stored] == [enqueued]


def test_a_batch_is_sent_gzipped_and_signed_before_compression() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"accepted": 2, "event_ids": ["e1", "e2"]})

    events = [{**ai_call(), "event_id": "e1"}, {**ai_call(), "event_id": "e2"}]
    http = httpx.Client(transport=httpx.MockTransport(answer))
    with TrackerClient("http://tracker.test", uuid.uuid4(), "s", http_client=http) as tracker:
        tracker.track_batch(events)
    [request] = seen
    assert request.headers["content-encoding"] == "gzip"
    json_body = gzip.decompress(request.content)
    assert json_body == b'{"batch":[' + b",".join(encode_event(e) for e in events) + b"]}"
    signed = sign_headers("s", json_body, int(request.headers["x-timestamp"]))
    assert request.headers["x-signature"] == signed["x-signature"]


def test_private_fields_are_dropped_before_the_body_is_built() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(202, json={"accepted": 1, "event_ids": ["e1"]})

    event = {
        **ai_call(prompt="SECRET", messages=[{"role": "user", "content": "SECRET"}]),
        "event_id": "e1",
    }
    http = httpx.Client(transport=httpx.MockTransport(answer))
    with TrackerClient("http://tracker.test", uuid.uuid4(), "s", http_client=http) as tracker:
        tracker.track(event)
    assert seen == [encode_event({**ai_call(), "event_id": "e1"})]
