"""The client SDK (clients/python, `saas_tracker_client`) against the real server over real
HTTP: signing, splitting, retries; `Tracker`'s queue, context and exit; its independence.

The client is meant for a network, so these tests serve the real app with uvicorn on a local
port (`serving`) instead of the in-process TestClient: timeouts, refused connections and lost
responses are then the real thing. `serving` is also used by test_snippets and test_demo.
"""

from __future__ import annotations

import ast
import asyncio
import gzip
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from pydantic import SecretStr
from saas_tracker_client import (
    BufferedTracker,
    IngestRejected,
    IngestUnavailable,
    Tracker,
    TrackerClient,
    encode_event,
)

from app.accounts import service
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


@contextmanager
def redis_down(settings: Settings, redis_url: str) -> Iterator[tuple[Settings, TcpGate]]:
    """Settings whose Redis is behind a closed gate (ingest answers 503, Retry-After: 1)."""
    host_port = redis_url.removeprefix("redis://").split("/")[0]
    host, port = host_port.split(":")
    gate = TcpGate(host, int(port))
    down_then_up = settings.model_copy(
        update={
            "redis_url": SecretStr(f"redis://127.0.0.1:{gate.port}/{redis_url.rsplit('/', 1)[1]}"),
            "retry_after_s": 1,
        }
    )
    try:
        yield down_then_up, gate
    finally:
        gate.close()


def test_a_503_while_redis_is_down_is_retried_after_retry_after_with_the_same_event_ids(
    settings: Settings, redis_url: str
) -> None:
    sleeps: list[float] = []
    recorder = Recorder()
    with redis_down(settings, redis_url) as (down_then_up, gate):

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            gate.open()  # Redis comes back while the client waits

        with serving(down_then_up) as live, recorder.client() as http:
            with live.client(http_client=http, sleep=sleep) as tracker:
                ids = tracker.track_batch([ai_call(), ai_call(customer="globex")])
            stored = live.wait_for_events(2, timeout=60)
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


# Tracker (CONTRACT §8): queued, sent in the background, never raising.

CLIENT_SRC = Path(__file__).resolve().parents[1] / "clients" / "python" / "src"


def ai_fields(**extra: Any) -> dict[str, Any]:
    """`ai_call()` as keywords of `Tracker.track` (properties as keywords)."""
    return {**ai_call()["properties"], **extra}


def batches(requests: list[httpx.Request]) -> list[list[dict[str, Any]]]:
    return [orjson.loads(gzip.decompress(r.content))["batch"] for r in requests]


def mock_http(requests: list[httpx.Request]) -> httpx.Client:
    """An httpx client that accepts every request (202) and keeps it."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        ids = [event["event_id"] for event in batches([request])[0]]
        return httpx.Response(202, json={"accepted": len(ids), "event_ids": ids})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_client_package_imports_nothing_of_the_server() -> None:
    # A fresh interpreter: this one has imported the server already.
    probe = (
        "import sys, saas_tracker_client\n"
        "heavy = {'app', 'chdb', 'pyarrow', 'strawberry', 'psycopg', 'sqlmodel', 'starlette'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
    # And statically: every import of every module is the standard library, httpx or itself.
    imported: set[str] = set()
    for module in (CLIENT_SRC / "saas_tracker_client").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names == {"httpx", "saas_tracker_client"}


def test_track_then_flush_stores_the_event_under_the_returned_event_id(
    settings: Settings,
) -> None:
    with serving(settings) as live:
        tracker = Tracker(live.base_url, live.app_uuid, live.api_secret, flush_interval_s=3600)
        event_id = tracker.track("ai_call_completed", customer_org_id="acme-corp", **ai_fields())
        sent = tracker.flush()
        stored = live.wait_for_events(1)
        tracker.close()
    assert is_uuid4(event_id)
    assert sent == [event_id]
    assert [(row["event_id"], row["customer_org_id"]) for row in stored] == [
        (event_id, "acme-corp")
    ]


def test_context_fields_apply_to_the_events_tracked_inside_it(settings: Settings) -> None:
    with serving(settings) as live:
        tracker = Tracker(live.base_url, live.app_uuid, live.api_secret, flush_interval_s=3600)
        with tracker.context(
            feature="support_reply_generator",
            customer_org_id="acme-corp",
            user_hash="a1b2c3",
            customer_plan="enterprise",
            environment="staging",
        ):
            inside = tracker.track("ai_call_completed", **ai_fields(feature="ignored"))
            # A nested block adds to the outer one; an explicit keyword wins over both.
            with tracker.context(customer_org_id="globex"):
                nested = tracker.track(
                    "ai_call_completed", user_hash="d4e5f6", **ai_fields(feature="ignored")
                )
        outside = tracker.track("ai_call_completed", **ai_fields(feature="summarizer"))
        tracker.flush()
        live.wait_for_events(3)
        rows = live.stored(
            "SELECT event_id, customer_org_id, user_hash, environment, customer_plan, feature "
            "FROM ai_usage_events"
        )
        tracker.close()
    by_id = {row.pop("event_id"): row for row in rows}
    assert by_id == {
        inside: {
            "customer_org_id": "acme-corp",
            "user_hash": "a1b2c3",
            "environment": "staging",
            "customer_plan": "enterprise",
            "feature": "ignored",
        },
        nested: {
            "customer_org_id": "globex",
            "user_hash": "d4e5f6",
            "environment": "staging",
            "customer_plan": "enterprise",
            "feature": "ignored",
        },
        outside: {
            "customer_org_id": "",
            "user_hash": "",
            "environment": "production",
            "customer_plan": "",
            "feature": "summarizer",
        },
    }


async def test_context_is_per_asyncio_task_and_per_thread() -> None:
    requests: list[httpx.Request] = []
    tracker = Tracker(
        "http://tracker.test",
        uuid.uuid4(),
        "s",
        flush_interval_s=3600,
        http_client=mock_http(requests),
    )

    async def handle(customer: str) -> None:
        with tracker.context(customer_org_id=customer):
            await asyncio.sleep(0.01)  # the other request runs meanwhile
            tracker.track("page_viewed", page=customer)

    def handle_in_thread(customer: str) -> None:
        with tracker.context(customer_org_id=customer):
            time.sleep(0.01)
            tracker.track("page_viewed", page=customer)

    await asyncio.gather(handle("task-a"), handle("task-b"))
    threads = [threading.Thread(target=handle_in_thread, args=(c,)) for c in ("th-a", "th-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tracker.flush()
    tracker.close()
    events = [event for batch in batches(requests) for event in batch]
    assert sorted((e["customer_org_id"], e["properties"]["page"]) for e in events) == [
        ("task-a", "task-a"),
        ("task-b", "task-b"),
        ("th-a", "th-a"),
        ("th-b", "th-b"),
    ]


def test_the_tracker_retries_a_503_after_retry_after_with_the_same_event_ids(
    settings: Settings, redis_url: str
) -> None:
    sleeps: list[float] = []
    recorder = Recorder()
    with redis_down(settings, redis_url) as (down_then_up, gate):

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            gate.open()

        with serving(down_then_up) as live, recorder.client() as http:
            tracker = Tracker(
                live.base_url,
                live.app_uuid,
                live.api_secret,
                flush_interval_s=3600,
                http_client=http,
                sleep=sleep,
            )
            ids = [tracker.track("ai_call_completed", **ai_fields()) for _ in range(2)]
            sent = tracker.flush()
            stored = live.wait_for_events(2, timeout=60)
            tracker.close()
    assert recorder.statuses == [503, 202]
    assert sleeps == [1.0]
    first, second = recorder.requests
    assert first.content == second.content
    assert sent == ids
    assert sorted(row["event_id"] for row in stored) == sorted(ids)


def test_the_tracker_never_raises_when_the_server_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = free_port_socket()  # bound, not listening: connections are refused
    port = closed.getsockname()[1]
    tracker = Tracker(
        f"http://127.0.0.1:{port}",
        uuid.uuid4(),
        "secret",
        flush_interval_s=3600,
        max_retries=2,
        sleep=lambda _: None,
    )
    with caplog.at_level(logging.WARNING, logger="saas_tracker_client"):
        event_id = tracker.track("ai_call_completed", **ai_fields())
        assert tracker.flush() == []
        tracker.close()
        tracker.close()  # idempotent
        tracker.track("after_close")  # disabled now: dropped quietly
    closed.close()
    assert is_uuid4(event_id)
    assert any("could not send" in r.getMessage() for r in caplog.records)


def test_a_tracker_without_configuration_is_disabled_and_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("SAAS_TRACKER_URL", "SAAS_TRACKER_APP_UUID", "SAAS_TRACKER_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="saas_tracker_client"):
        tracker = Tracker()
        event_id = tracker.track("signup")
        assert tracker.flush() == []
    assert not tracker.enabled
    assert is_uuid4(event_id)
    assert "SAAS_TRACKER_URL, SAAS_TRACKER_APP_UUID, SAAS_TRACKER_API_SECRET not set" in (
        caplog.text
    )


def test_a_full_queue_refuses_new_events_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests: list[httpx.Request] = []
    tracker = Tracker(
        "http://tracker.test",
        uuid.uuid4(),
        "s",
        flush_interval_s=3600,
        max_queue=2,
        http_client=mock_http(requests),
    )
    with caplog.at_level(logging.WARNING, logger="saas_tracker_client"):
        kept = [tracker.track("signup"), tracker.track("signup")]
        tracker.track("signup")
        # An event that cannot be encoded is refused in the caller's hands, not in a batch.
        tracker.track("signup", when=object())
    assert tracker.dropped == 2
    assert "queue full" in caplog.text
    assert tracker.flush() == kept
    tracker.close()
    assert [[e["event_id"] for e in batch] for batch in batches(requests)] == [kept]


def test_tracked_events_go_in_one_gzipped_signed_batch(settings: Settings) -> None:
    recorder = Recorder()
    with serving(settings) as live, recorder.client() as http:
        tracker = Tracker(
            live.base_url, live.app_uuid, live.api_secret, flush_interval_s=3600, http_client=http
        )
        ids = [tracker.track("ai_call_completed", **ai_fields()) for _ in range(3)]
        tracker.flush()
        live.wait_for_events(3)
        tracker.close()
    [request] = recorder.requests
    assert request.headers["content-encoding"] == "gzip"
    assert [event["event_id"] for event in batches([request])[0]] == ids
    verify(
        body=gzip.decompress(request.content),
        signature=request.headers["x-signature"],
        timestamp=request.headers["x-timestamp"],
        secrets=[live.api_secret],
        now=time.time(),
        tolerance_s=300,
    )


def test_events_tracked_by_a_script_are_sent_when_it_exits(settings: Settings) -> None:
    script = (
        "from saas_tracker_client import Tracker\n"
        "tracker = Tracker(flush_interval_s=3600)\n"  # only the exit can send it
        "print(tracker.track('ai_call_completed', customer_org_id='exit-corp', "
        f"**{ai_fields()!r}))\n"
    )
    with serving(settings) as live:
        env = {
            **os.environ,
            "SAAS_TRACKER_URL": live.base_url,
            "SAAS_TRACKER_APP_UUID": live.app_uuid,
            "SAAS_TRACKER_API_SECRET": live.api_secret,
        }
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        stored = live.wait_for_events(1)
    assert [(row["event_id"], row["customer_org_id"]) for row in stored] == [
        (done.stdout.strip(), "exit-corp")
    ]
