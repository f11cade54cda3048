"""POST /v1/ingest end to end: HTTP in, rows in ClickHouse, on both queue modes."""

from __future__ import annotations

import gzip
import logging
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from pydantic import SecretStr

from app.accounts import service
from app.db import session_scope
from app.ingest.signature import sign_headers
from app.models import delete_workspace
from app.pricing import service as pricing_service
from app.settings import Settings
from app.workers.local_consumer import LocalConsumer
from app.workers.write_locks import RedisWriteLocks
from tests.graphql.conftest import delete_workspace_by_hand
from tests.harness import Harness, running, wait_until

MARKER = "SECRET-PROMPT-MARKER-7f3a"


def completed_call(**properties: object) -> dict[str, object]:
    return {
        "event": "ai_call_completed",
        "user_hash": "a1b2c3",
        "customer_org_id": "acme-corp",
        "properties": {
            "feature": "support_reply_generator",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "input_tokens": 1200,
            "output_tokens": 350,
            **properties,
        },
    }


def set_price(h: Harness, key: str, inp: str, out: str) -> None:
    with session_scope(h.runtime.engine) as session:
        pricing_service.set_customer_price(
            session,
            actor="test",
            workspace_id=h.workspace_id,
            canonical_key=key,
            input_per_million_eur=Decimal(inp),
            output_per_million_eur=Decimal(out),
        )
    with session_scope(h.runtime.engine) as session:
        h.runtime.pricing.load(session)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_signed_event_is_stored_once_with_its_exact_cost(queue_settings: Settings) -> None:
    with running(queue_settings) as h:
        set_price(h, "openai/gpt-5.4-mini", "0.20", "0.80")
        response = h.post(completed_call())
        assert response.status_code == 202
        body = response.json()
        assert body["accepted"] == 1 and len(body["event_ids"]) == 1
        [row] = h.wait_for_events(1)
        assert row["event_id"] == body["event_ids"][0]
        assert row["ai_cost_status"] == "calculated"
        assert row["ai_pricing_source"] == "customer_override"
        assert row["ai_canonical_model_key"] == "openai/gpt-5.4-mini"
        # 1200 * 0.20 / 1M + 350 * 0.80 / 1M
        assert row["estimated_cost_eur"] == Decimal("0.000520000000")
        usage = h.stored(
            "SELECT feature, input_tokens, total_tokens, estimated_cost_eur FROM ai_usage_events"
        )
        assert usage == [
            {
                "feature": "support_reply_generator",
                "input_tokens": 1200,
                "total_tokens": 1550,
                "estimated_cost_eur": Decimal("0.000520000000"),
            }
        ]


def test_a_batch_is_accepted_whole_and_answers_every_event_id(queue_settings: Settings) -> None:
    with running(queue_settings) as h:
        events = [completed_call(estimated_cost_eur=0.014) for _ in range(3)]
        events[1]["event_id"] = "client-key-1"
        response = h.post({"batch": events})
        assert response.status_code == 202
        assert response.json()["accepted"] == 3
        assert response.json()["event_ids"][1] == "client-key-1"
        rows = h.wait_for_events(3)
        assert {r["estimated_cost_eur"] for r in rows} == {Decimal("0.014000000000")}
        assert {r["ai_cost_status"] for r in rows} == {"explicit_event_cost"}


def test_a_repeated_event_id_is_stored_once(queue_settings: Settings) -> None:
    with running(queue_settings) as h:
        event = {**completed_call(), "event_id": "retry-me"}
        assert h.post(event).status_code == 202
        h.wait_for_events(1)
        assert h.post(event).status_code == 202
        h.runtime.drain()  # the writer has handled the repeated event
        assert h.stored("SELECT count() AS n FROM events") == [{"n": 1}]


def test_a_replayed_signed_request_is_stored_once_and_answered_alike(
    queue_settings: Settings,
) -> None:
    with running(queue_settings) as h:
        body = orjson.dumps({"batch": [completed_call(), {"event": "page_view"}]})
        stamp = int(time.time())
        first = h.post(body, timestamp=stamp)
        replay = h.post(body, timestamp=stamp)
        assert (first.status_code, replay.status_code) == (202, 202)
        assert replay.json() == first.json()
        rows = h.wait_for_events(2)
        assert sorted(row["event_id"] for row in rows) == sorted(first.json()["event_ids"])


def test_server_assigned_event_ids_are_name_based_uuids_of_the_signed_request(
    settings: Settings,
) -> None:
    with running(settings) as h:
        body = orjson.dumps({"batch": [{"event": "a"}, {"event": "b", "event_id": "mine"}]})
        signature = bytes.fromhex(sign_headers(h.api_secret, body)["x-signature"])
        ids = h.post(body).json()["event_ids"]
        assert ids == [str(uuid.uuid5(h.app_uuid, f"{signature.hex()}:0")), "mine"]


def test_the_same_body_signed_with_another_timestamp_is_another_request(
    settings: Settings,
) -> None:
    with running(settings) as h:
        body = orjson.dumps({"event": "page_view"})
        now = int(time.time())
        first = h.post(body, timestamp=now - 1).json()["event_ids"]
        second = h.post(body, timestamp=now).json()["event_ids"]
        assert first != second
        h.wait_for_events(2)


def test_with_redis_a_worker_writes_a_workspace_s_events_only_while_no_other_worker_does(
    settings: Settings, redis_url: str
) -> None:
    with running(settings.model_copy(update={"redis_url": SecretStr(redis_url)})) as h:
        other_worker = RedisWriteLocks(redis.Redis.from_url(redis_url), h.runtime.store.database)
        with other_worker.hold([str(h.workspace_id)]):
            assert h.post(completed_call()).status_code == 202
            wait_until(lambda: REGISTRY.get_sample_value("saas_tracker_write_lock_waits") == 1)
            # The writer has the batch and waits for the lock: nothing is stored meanwhile.
            assert h.stored("SELECT count() AS n FROM events") == [{"n": 0}]
        h.wait_for_events(1)


def test_an_integer_outside_64_bits_in_properties_is_400_and_nothing_is_queued(
    settings: Settings,
) -> None:
    with running(settings) as h:
        response = h.post(b'{"event":"x","properties":{"v":18446744073709551616}}')
        assert response.status_code == 400
        assert response.json()["error"] == "validation_error"
        assert h.runtime.queue.depth() == 0


def test_past_the_queue_s_depth_limit_ingest_answers_503_until_the_writer_catches_up(
    settings: Settings,
) -> None:
    with running(settings.model_copy(update={"queue_max_depth": 3})) as h:
        consumer = h.runtime.consumer
        assert isinstance(consumer, LocalConsumer)
        consumer.stop()  # the writer falls behind: nothing leaves the queue
        assert h.post({"batch": [completed_call() for _ in range(3)]}).status_code == 202
        backlog = h.runtime.backlog
        assert backlog is not None
        wait_until(lambda: backlog.full)
        refused = h.post(completed_call())
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        assert refused.json()["error"] == "unavailable"
        ready = h.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["backlog"] == "full: 3 queued (limit 3)"
        consumer.drain_once()  # the writer catches up
        wait_until(lambda: not backlog.full)
        assert h.post(completed_call()).status_code == 202


def test_metrics_show_how_long_the_last_batch_waited_to_be_visible(settings: Settings) -> None:
    with running(settings) as h:
        assert h.post(completed_call()).status_code == 202
        h.wait_for_events(1)
        lag = REGISTRY.get_sample_value("saas_tracker_ingest_lag_seconds")
        assert lag is not None and 0 <= lag < 20
        assert REGISTRY.get_sample_value("saas_tracker_write_failing") == 0
        assert "saas_tracker_ingest_lag_seconds" in h.client.get("/metrics").text


def test_a_wrong_signature_is_401(settings: Settings) -> None:
    with running(settings) as h:
        response = h.post(completed_call(), secret="0" * 64)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_signature"


@pytest.mark.parametrize(
    "signature",
    [b"", b"zz" * 32, b"sha256=", b"abc", "é".encode("latin-1") * 64],
    ids=["empty", "non-hex", "prefix-only", "short", "non-ascii"],
)
def test_a_malformed_signature_is_401_never_500(settings: Settings, signature: bytes) -> None:
    with running(settings) as h:
        response = h.client.post(
            "/v1/ingest",
            content=orjson.dumps(completed_call()),
            headers=[(b"x-app-uuid", str(h.app_uuid).encode()), (b"x-signature", signature)],  # type: ignore[arg-type]
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_signature"


def test_a_timestamped_signature_within_five_minutes_is_accepted(settings: Settings) -> None:
    with running(settings) as h:
        assert h.post(completed_call(), timestamp=int(time.time()) - 200).status_code == 202


def test_a_timestamp_older_than_five_minutes_is_401(settings: Settings) -> None:
    with running(settings) as h:
        assert h.post(completed_call(), timestamp=int(time.time()) - 400).status_code == 401


def test_after_rotation_old_and_new_secrets_both_verify_during_the_grace_period(
    settings: Settings,
) -> None:
    with running(settings) as h:
        old = h.api_secret
        with session_scope(h.runtime.engine) as session:
            app = service.rotate_app_secret(
                session, workspace_id=h.workspace_id, app_uuid=h.app_uuid, grace=timedelta(hours=24)
            )
            new = app.api_secret
        h.runtime.apps.invalidate(h.app_uuid)
        assert h.post(completed_call(), secret=old).status_code == 202
        assert h.post(completed_call(), secret=new).status_code == 202


def test_after_the_grace_period_the_old_secret_is_401(settings: Settings) -> None:
    with running(settings) as h:
        old = h.api_secret
        with session_scope(h.runtime.engine) as session:
            service.rotate_app_secret(
                session, workspace_id=h.workspace_id, app_uuid=h.app_uuid, grace=timedelta(0)
            )
        h.runtime.apps.invalidate(h.app_uuid)
        assert h.post(completed_call(), secret=old).status_code == 401


def test_an_unknown_app_uuid_is_404(settings: Settings) -> None:
    with running(settings) as h:
        response = h.post(
            completed_call(), headers={"x-app-uuid": "00000000-0000-4000-8000-000000000000"}
        )
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_app"


def test_a_deactivated_app_is_404(settings: Settings) -> None:
    with running(settings) as h:
        assert h.post(completed_call()).status_code == 202
        with session_scope(h.runtime.engine) as session:
            service.deactivate_app(session, workspace_id=h.workspace_id, app_uuid=h.app_uuid)
        h.runtime.apps.invalidate(h.app_uuid)
        assert h.post(completed_call()).status_code == 404


def test_the_apps_of_a_deleted_workspace_are_unknown(settings: Settings) -> None:
    # Every process polls the change counters: here, often.
    with running(settings.model_copy(update={"pricing_refresh_s": 0.05})) as h:
        assert h.post(completed_call()).status_code == 202
        with session_scope(h.runtime.engine) as session:
            delete_workspace(session, workspace_id=h.workspace_id)
        wait_until(lambda: h.post(completed_call()).status_code == 404)
        assert h.post(completed_call()).json() == {
            "error": "unknown_app",
            "detail": "Unknown or inactive app UUID.",
        }


def test_an_app_left_behind_by_a_workspace_deleted_by_hand_is_unknown(
    settings: Settings,
) -> None:
    with running(settings) as h:
        delete_workspace_by_hand(settings, h.workspace_id)
        response = h.post(completed_call())
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_app"


def test_an_invalid_event_rejects_the_whole_batch_and_stores_nothing(settings: Settings) -> None:
    with running(settings) as h:
        bad = completed_call(input_tokens=-5)
        response = h.post({"batch": [completed_call(), bad]})
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "validation_error"
        assert [(e["index"], e["field"]) for e in body["errors"]] == [
            (1, "properties.input_tokens")
        ]
        assert h.post({**completed_call(), "event_id": "after"}).status_code == 202
        rows = h.wait_for_events(1)
        assert rows[0]["event_id"] == "after"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event": "x", "properties": {"n": NaN}}',
        b'{"event": "x", "event": "y"}',
        b'{"event": "\xff"}',
    ],
    ids=["nan", "duplicate-key", "invalid-utf8"],
)
def test_non_strict_json_is_400(settings: Settings, raw: bytes) -> None:
    with running(settings) as h:
        response = h.post(raw)
        assert response.status_code == 400
        assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        (b'{"ai": "gpt-5.4-mini"}', "properties.ai"),
        (b'{"ai": [{"model": "gpt-5.4-mini"}]}', "properties.ai"),
        (b'{"score": 1e400}', "properties.score"),
        (b'{"score": 1e-400}', "properties.score"),
    ],
    ids=["ai-string", "ai-list", "overflow", "underflow"],
)
def test_properties_the_server_could_not_store_as_sent_are_400_naming_the_field(
    settings: Settings, properties: bytes, field: str
) -> None:
    with running(settings) as h:
        response = h.post(b'{"event": "page_view", "properties": ' + properties + b"}")
        assert response.status_code == 400
        assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, field)]
        assert h.runtime.queue.depth() == 0


def post_gzip(h: Harness, compressed: bytes, signed: bytes, encoding: str = "gzip") -> Any:
    headers = {
        "content-type": "application/json",
        "content-encoding": encoding,
        "x-app-uuid": str(h.app_uuid),
        **sign_headers(h.api_secret, signed, int(time.time())),
    }
    return h.client.post("/v1/ingest", content=compressed, headers=headers)


def test_a_gzip_body_signed_before_compression_is_accepted(settings: Settings) -> None:
    with running(settings) as h:
        body = orjson.dumps(completed_call())
        response = post_gzip(h, gzip.compress(body), signed=body)
        assert response.status_code == 202
        [row] = h.wait_for_events(1)
        assert row["event_id"] == response.json()["event_ids"][0]


def test_a_gzip_body_signed_over_its_compressed_bytes_is_401(settings: Settings) -> None:
    with running(settings) as h:
        compressed = gzip.compress(orjson.dumps(completed_call()))
        response = post_gzip(h, compressed, signed=compressed)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_signature"


def test_a_gzip_body_that_decompresses_past_the_request_limit_is_413(settings: Settings) -> None:
    with running(settings) as h:
        body = orjson.dumps(completed_call(note="x" * settings.max_request_bytes))
        compressed = gzip.compress(body)
        assert len(compressed) < 10_000
        response = post_gzip(h, compressed, signed=body)
        assert response.status_code == 413
        assert response.json() == {
            "error": "payload_too_large",
            "detail": "A request may carry at most 1048576 bytes once decompressed.",
        }


def test_a_body_that_is_not_gzip_under_a_gzip_header_is_400(settings: Settings) -> None:
    with running(settings) as h:
        body = orjson.dumps(completed_call())
        response = post_gzip(h, body, signed=body)
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"index": None, "field": None, "message": "The body is not valid gzip data."}
        ]


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, gzip", "compress"])
def test_a_content_encoding_other_than_gzip_is_415(settings: Settings, encoding: str) -> None:
    with running(settings) as h:
        body = orjson.dumps(completed_call())
        response = post_gzip(h, body, signed=body, encoding=encoding)
        assert response.status_code == 415
        assert response.json() == {
            "error": "unsupported_content_encoding",
            "detail": "Content-Encoding must be gzip or identity (or absent); the body is not "
            "decoded.",
        }


def test_a_request_over_one_mebibyte_is_413(settings: Settings) -> None:
    with running(settings) as h:
        response = h.post(completed_call(note="x" * (1024 * 1024)))
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"


def test_a_batch_of_more_than_500_events_is_413(settings: Settings) -> None:
    with running(settings) as h:
        response = h.post({"batch": [{"event": "page_view"}] * 501})
        assert response.status_code == 413


def test_private_content_is_found_nowhere(
    queue_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running(queue_settings) as h:
        event = completed_call(
            prompt=MARKER,
            completion=MARKER,
            ai={"messages": [{"role": "user", "content": MARKER}]},
            extra={"history": [{"role": "assistant", "content": MARKER}]},
        )
        event["messages"] = [{"role": "user", "content": MARKER}]
        accepted = h.post(event)
        assert accepted.status_code == 202
        refused = h.post({"batch": [event, {**event, "properties": {"input_tokens": MARKER}}]})
        assert refused.status_code == 400
        assert MARKER not in refused.text
        h.wait_for_events(1)
        dump = h.stored("SELECT * FROM events") + h.stored("SELECT * FROM ai_usage_events")
        assert MARKER not in repr(dump)
        assert MARKER not in caplog.text
        if queue_settings.redis_url is not None:
            client = redis.Redis.from_url(queue_settings.redis_url.get_secret_value())
            for key in client.keys("*"):
                assert MARKER.encode() not in (client.dump(key) or b"")


def test_when_redis_is_down_ingest_answers_503_with_retry_after(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1/0")})
    with running(down) as h:
        response = h.post(completed_call())
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"] == "unavailable"
        ready = h.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["queue"].startswith("unavailable")
