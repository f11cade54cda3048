"""`Tracker.wrap` (CONTRACT §8) end to end: the real `openai` and `anthropic` SDKs, pointed with
`base_url` at a local fake of their APIs (`fake_providers`), tracked into a real
`saas-tracker serve` process; what is stored is read back through GraphQL `events`.

One `serve` for the whole module (its start, migrations included, is most of the time); each
test has a tracker of its own and finds its events by their `ai_call_id`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from saas_tracker_client import TrackedStream, Tracker

from tests.client.fake_providers import (
    ANSWERED,
    CHAT_STREAM_USAGE,
    CHAT_USAGE,
    COMPLETION_SECRET,
    MESSAGES_STREAM_OUTPUT_TOKENS,
    MESSAGES_STREAM_START_USAGE,
    MESSAGES_USAGE,
    RESPONSES_STREAM_USAGE,
    RESPONSES_USAGE,
    WORDS,
    FakeProviders,
    fake_providers,
)
from tests.served import Processes

PROMPT_SECRET = "PROMPT-SECRET-51f0"
MESSAGES: Any = [{"role": "user", "content": f"Summarise ticket 42: {PROMPT_SECRET}"}]
ANSWER = "".join(WORDS)
CATALOG = Path(__file__).resolve().parents[2] / "app" / "pricing" / "catalog.json"

EVENTS = """
query Events($event: String) {
  events(event: $event, limit: 500) {
    eventId event customerOrgId userHash environment properties
    aiCostStatus aiCanonicalModelKey estimatedCostEur
  }
}
"""


@dataclass
class Served:
    """The `serve` process of this module, with a workspace token and an app to sign with."""

    base_url: str
    token: str
    app_uuid: str
    api_secret: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def events_of_calls(
        self, call_ids: list[str], event: str | None = None, timeout: float = 30.0
    ) -> dict[str, dict[str, Any]]:
        """The stored events naming each of `call_ids` (one each), by ai_call_id."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.graphql(EVENTS, {"event": event})["events"]
            found = {
                e["properties"].get("ai_call_id"): e
                for e in events
                if e["properties"].get("ai_call_id") in call_ids
            }
            if len(found) == len(call_ids):
                counted = [e["properties"].get("ai_call_id") for e in events]
                assert all(counted.count(call_id) == 1 for call_id in call_ids)
                return found
            assert time.monotonic() < deadline, f"stored: {sorted(found)} of {call_ids}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    env |= {
        "SAAS_TRACKER_DATA_DIR": str(folder / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{folder / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.05",
    }
    processes = Processes(env, folder)
    try:
        workspace = processes.cli("admin", "create-workspace", "Acme", "--plan", "growth")
        port = processes.serve("--single-process")
        served = Served(f"http://127.0.0.1:{port}", workspace["token"], "", "")
        app = served.graphql('mutation { createApp(name: "web") { uuid apiSecret } }')
        served.app_uuid = app["createApp"]["uuid"]
        served.api_secret = app["createApp"]["apiSecret"]
        yield served
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@dataclass
class Tracked:
    """A tracker of the test's own, and every ingest request body it sent (un-gzipped)."""

    tracker: Tracker
    bodies: list[bytes]

    def assert_nothing_private_was_sent(self) -> None:
        assert self.bodies
        for body in self.bodies:
            assert PROMPT_SECRET.encode() not in body
            assert COMPLETION_SECRET.encode() not in body


@pytest.fixture
def tracked(served: Served) -> Iterator[Tracked]:
    bodies: list[bytes] = []

    def keep(request: httpx.Request) -> None:
        bodies.append(gzip.decompress(request.read()))

    http = httpx.Client(timeout=10, event_hooks={"request": [keep]})
    tracker = Tracker(
        served.base_url,
        served.app_uuid,
        served.api_secret,
        flush_interval_s=3600,
        http_client=http,
    )
    yield Tracked(tracker, bodies)
    tracker.close()
    http.close()


def openai_client(providers: FakeProviders) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=providers.openai_url, max_retries=0)


def async_openai_client(providers: FakeProviders) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=providers.openai_url, max_retries=0)


def anthropic_client(providers: FakeProviders) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url=providers.anthropic_url, max_retries=0
    )


def async_anthropic_client(providers: FakeProviders) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=providers.anthropic_url, max_retries=0
    )


def stored_calls(
    served: Served, tracked: Tracked, call_ids: Sequence[str | None], event: str | None = None
) -> list[dict[str, Any]]:
    """Send what the tracker holds, then the stored events of `call_ids`, in that order;
    none of them (nor anything sent) holds the prompt or the completion."""
    assert all(call_ids), call_ids
    ids = [str(call_id) for call_id in call_ids]
    assert len(tracked.tracker.flush()) >= len(ids)
    found = served.events_of_calls(ids, event)
    tracked.assert_nothing_private_was_sent()
    for stored in found.values():
        text = json.dumps(stored)
        assert PROMPT_SECRET not in text
        assert COMPLETION_SECRET not in text
    return [found[call_id] for call_id in ids]


def chat_tokens(usage: dict[str, Any]) -> dict[str, int]:
    return {
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
        "cached_input_tokens": usage["prompt_tokens_details"]["cached_tokens"],
        "reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"],
    }


def responses_tokens(usage: dict[str, Any]) -> dict[str, int]:
    return {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "cached_input_tokens": usage["input_tokens_details"]["cached_tokens"],
        "reasoning_tokens": usage["output_tokens_details"]["reasoning_tokens"],
    }


def messages_tokens(usage: dict[str, int]) -> dict[str, int]:
    """Anthropic counts cache reads and writes apart from input_tokens; ingest inside it."""
    read, written = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    return {
        "input_tokens": usage["input_tokens"] + read + written,
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["input_tokens"] + read + written + usage["output_tokens"],
        "cached_input_tokens": read,
        "cache_creation_input_tokens": written,
    }


def catalog_cost(canonical_key: str, tokens: dict[str, int]) -> Decimal:
    """What a call costs at the global catalog's latest price (EUR per 1M tokens)."""
    catalog = json.loads(CATALOG.read_text())
    [model] = [m for m in catalog["models"] if m["canonical_key"] == canonical_key]
    price = max(model["prices"], key=lambda p: p["valid_from"])
    cached = tokens.get("cached_input_tokens", 0)
    return (
        (tokens["input_tokens"] - cached) * Decimal(price["input_per_million_eur"])
        + cached * Decimal(price["cached_input_per_million_eur"])
        + tokens["output_tokens"] * Decimal(price["output_per_million_eur"])
    ) / 1_000_000


def assert_costed(stored: dict[str, Any], canonical_key: str, tokens: dict[str, int]) -> None:
    """Ingest priced the call from the tokens tracked, through the model's catalog alias."""
    assert stored["aiCostStatus"] == "calculated"
    assert stored["aiCanonicalModelKey"] == canonical_key
    assert Decimal(stored["estimatedCostEur"]) == catalog_cost(canonical_key, tokens)


def pick(properties: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: properties.get(key) for key in expected}


def assert_call(
    stored: dict[str, Any],
    *,
    provider: str,
    model: str,
    tokens: dict[str, int],
    event: str = "ai_call_completed",
    **fields: Any,
) -> None:
    """`stored` is the call's event with exactly these figures."""
    assert stored["event"] == event
    properties = stored["properties"]
    expected = {"provider": provider, "model": model, **tokens, **fields}
    assert pick(properties, expected) == expected
    assert isinstance(properties["latency_ms"], int | float) and properties["latency_ms"] > 0
    assert properties["ai_call_id"].startswith("call_")


def test_an_openai_chat_completion_is_stored_with_the_usage_the_provider_returned(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(openai_client(providers))
    assert isinstance(client, openai.OpenAI)
    with tracker.context(
        feature="support_reply_generator",
        customer_org_id="acme-corp",
        user_hash="a1b2c3",
        customer_plan="enterprise",
        environment="staging",
    ):
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        call_id = tracker.last_call_id()
    assert completion.choices[0].message.content == ANSWER
    assert providers.last("/v1/chat/completions")["messages"] == MESSAGES
    [stored] = stored_calls(served, tracked, [call_id])
    assert_call(
        stored,
        provider="openai",
        model=ANSWERED["gpt-4o-mini"],  # the model that answered, not the alias requested
        tokens=chat_tokens(CHAT_USAGE),
        feature="support_reply_generator",
        customer_plan="enterprise",
        ai_call_id=call_id,
        success=True,
    )
    assert_costed(stored, "openai/gpt-4o-mini", chat_tokens(CHAT_USAGE))
    assert (stored["customerOrgId"], stored["userHash"], stored["environment"]) == (
        "acme-corp",
        "a1b2c3",
        "staging",
    )


async def test_an_async_openai_chat_completion_is_tracked(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(async_openai_client(providers))
    with tracker.context(feature="async_summary", customer_org_id="acme-corp"):
        completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        call_id = tracker.last_call_id()
    assert completion.choices[0].message.content == ANSWER
    [stored] = stored_calls(served, tracked, [call_id])
    assert_call(
        stored,
        provider="openai",
        model=ANSWERED["gpt-4o"],
        tokens=chat_tokens(CHAT_USAGE),
        feature="async_summary",
    )
    await client.close()


def test_an_openai_chat_stream_is_tracked_from_its_usage_chunk_which_the_caller_never_sees(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(openai_client(providers))
    with tracker.context(feature="live_reply"):
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        streamed = tracker.last_call_id()
        with stream:
            chunks = list(stream)
        # The tracker asked for usage on the caller's behalf, and kept the extra chunk.
        assert providers.last("/v1/chat/completions")["stream_options"] == {"include_usage": True}
        assert all(chunk.choices for chunk in chunks)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER

        # A caller that asks for the usage chunk itself sees it.
        asked = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        asked_id = tracker.last_call_id()
        last = list(asked)[-1]
        assert last.choices == []
        assert (
            last.usage is not None and last.usage.total_tokens == CHAT_STREAM_USAGE["total_tokens"]
        )

        # A stream closed after its first chunk is tracked when closed (no usage seen yet).
        closed = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        closed_id = tracker.last_call_id()
        assert isinstance(closed, TrackedStream)
        next(closed)
        closed.close()

        # The SDK's own .stream() helper goes through create: tracked too.
        with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as helper:
            helper.until_done()
            helper_id = tracker.last_call_id()
        assert helper.get_final_completion().choices[0].message.content == ANSWER

    stored = stored_calls(served, tracked, [streamed, asked_id, closed_id, helper_id])
    model = ANSWERED["gpt-4o-mini"]
    for whole in (stored[0], stored[1], stored[3]):
        assert_call(
            whole,
            provider="openai",
            model=model,
            tokens=chat_tokens(CHAT_STREAM_USAGE),
            feature="live_reply",
        )
        assert (
            0 < whole["properties"]["time_to_first_token_ms"] <= whole["properties"]["latency_ms"]
        )
    assert_call(stored[2], provider="openai", model=model, tokens={}, feature="live_reply")
    assert "input_tokens" not in stored[2]["properties"]
    assert stored[2]["aiCostStatus"] == "missing_tokens"


def test_openai_responses_are_tracked_plain_and_streamed(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(openai_client(providers))
    with tracker.context(feature="responses_api", customer_org_id="acme-corp"):
        response = client.responses.create(model="gpt-4.1", input=PROMPT_SECRET)
        plain = tracker.last_call_id()
        events = list(client.responses.create(model="gpt-4.1", input=PROMPT_SECRET, stream=True))
        streamed = tracker.last_call_id()
    assert response.output_text == ANSWER
    assert events[-1].type == "response.completed"
    stored = stored_calls(served, tracked, [plain, streamed])
    model = ANSWERED["gpt-4.1"]
    assert_call(stored[0], provider="openai", model=model, tokens=responses_tokens(RESPONSES_USAGE))
    assert_call(
        stored[1], provider="openai", model=model, tokens=responses_tokens(RESPONSES_STREAM_USAGE)
    )


def test_an_anthropic_message_is_stored_with_its_cache_reads_inside_the_input(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(anthropic_client(providers))
    assert isinstance(client, anthropic.Anthropic)
    with tracker.context(feature="ticket_triage", customer_org_id="globex"):
        message = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=256, messages=MESSAGES
        )
        call_id = tracker.last_call_id()
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    [stored] = stored_calls(served, tracked, [call_id])
    assert_call(
        stored,
        provider="anthropic",
        model=ANSWERED["claude-sonnet-4-5"],
        tokens=messages_tokens(MESSAGES_USAGE),
        feature="ticket_triage",
    )
    assert stored["customerOrgId"] == "globex"
    assert_costed(stored, "anthropic/claude-sonnet-4-5", messages_tokens(MESSAGES_USAGE))


async def test_anthropic_async_streams_are_tracked_from_message_start_and_message_delta(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(async_anthropic_client(providers))
    with tracker.context(feature="live_triage"):
        async with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=256, messages=MESSAGES
        ) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            helper = tracker.last_call_id()
        assert text == ANSWER
        assert (await stream.get_final_message()).usage.output_tokens == 64

        raw = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=256, messages=MESSAGES, stream=True
        )
        created = tracker.last_call_id()
        kinds = [event.type async for event in raw]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    usage = {**MESSAGES_STREAM_START_USAGE, "output_tokens": MESSAGES_STREAM_OUTPUT_TOKENS}
    for stored in stored_calls(served, tracked, [helper, created]):
        assert_call(
            stored,
            provider="anthropic",
            model=ANSWERED["claude-haiku-4-5"],
            tokens=messages_tokens(usage),
            feature="live_triage",
        )
    await client.close()


async def test_a_provider_error_is_tracked_as_a_failed_call_and_raised_unchanged(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(openai_client(providers))
    async_client = tracker.wrap(async_anthropic_client(providers))
    with tracker.context(feature="support_reply_generator"):
        with pytest.raises(openai.RateLimitError) as rate_limited:
            client.chat.completions.create(model="fail-gpt", messages=MESSAGES)
        openai_call = tracker.last_call_id()
        with pytest.raises(anthropic.APIStatusError) as overloaded:
            await async_client.messages.create(
                model="fail-claude", max_tokens=10, messages=MESSAGES
            )
        anthropic_call = tracker.last_call_id()
    # The provider's own exceptions, as they would be without the tracker.
    assert type(rate_limited.value) is openai.RateLimitError
    assert rate_limited.value.status_code == 429
    assert rate_limited.value.code == "rate_limit_exceeded"
    assert overloaded.value.status_code == 529
    assert isinstance(overloaded.value.body, dict)
    assert overloaded.value.body["error"]["type"] == "overloaded_error"
    failed_openai, failed_anthropic = stored_calls(
        served, tracked, [openai_call, anthropic_call], "ai_call_failed"
    )
    assert_call(
        failed_openai,
        event="ai_call_failed",
        provider="openai",
        model="fail-gpt",  # no answer: the model requested
        tokens={},
        error_code="rate_limited",
        http_status=429,
        success=False,
        feature="support_reply_generator",
    )
    assert_call(
        failed_anthropic,
        event="ai_call_failed",
        provider="anthropic",
        model="fail-claude",
        tokens={},
        error_code="overloaded",
        http_status=529,
    )
    await async_client.close()


def test_the_tracking_keyword_is_removed_before_the_provider_sees_the_call(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    openai_wrapped = tracker.wrap(openai_client(providers))
    anthropic_wrapped = tracker.wrap(anthropic_client(providers))
    tracking = {
        "feature": "ticket_summary",
        "customer_org_id": "initech",
        "user_hash": "d4e5f6",
        "workflow_id": "ticket-42",
    }
    with tracker.context(feature="outer_feature", customer_plan="growth"):
        openai_wrapped.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            tracking=tracking,
        )
        openai_call = tracker.last_call_id()
        with anthropic_wrapped.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=MESSAGES,
            tracking={**tracking, "feature": "streamed_summary"},
        ) as stream:
            stream.until_done()
        anthropic_call = tracker.last_call_id()
    openai_body = providers.last("/v1/chat/completions")
    anthropic_body = providers.last("/v1/messages")
    assert set(openai_body) == {"model", "messages"}
    assert set(anthropic_body) == {"model", "max_tokens", "messages", "stream"}
    assert "ticket-42" not in json.dumps([openai_body, anthropic_body])
    first, second = stored_calls(served, tracked, [openai_call, anthropic_call])
    # The keyword's fields win over the context's; the context's others still apply.
    for stored, feature in ((first, "ticket_summary"), (second, "streamed_summary")):
        assert pick(
            stored["properties"], {"feature": "", "workflow_id": "", "customer_plan": ""}
        ) == {"feature": feature, "workflow_id": "ticket-42", "customer_plan": "growth"}
        assert (stored["customerOrgId"], stored["userHash"]) == ("initech", "d4e5f6")


async def test_context_and_last_call_id_follow_each_task_and_thread(
    served: Served, providers: FakeProviders, tracked: Tracked
) -> None:
    tracker = tracked.tracker
    client = tracker.wrap(async_openai_client(providers))
    sync_client = tracker.wrap(openai_client(providers))
    before = tracker.last_call_id()

    async def handle(customer: str) -> tuple[str, str | None]:
        with tracker.context(feature="support_reply_generator", customer_org_id=customer):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            await asyncio.sleep(0.01)  # the other request finishes meanwhile
            call_id = tracker.last_call_id()
            # What the app sends once its user accepted the answer.
            tracker.track(
                "ai_output_accepted", feature="support_reply_generator", ai_call_id=call_id
            )
            return customer, call_id

    in_thread: list[tuple[str, str | None]] = []

    def handle_in_thread() -> None:
        with tracker.context(feature="support_reply_generator", customer_org_id="thread-corp"):
            sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            in_thread.append(("thread-corp", tracker.last_call_id()))

    thread = threading.Thread(target=handle_in_thread)
    thread.start()
    handled = [*await asyncio.gather(handle("task-a"), handle("task-b"))]
    thread.join()
    assert tracker.last_call_id() == before  # the tasks' and the thread's calls stay theirs
    handled += in_thread
    call_ids = [call_id for _, call_id in handled if call_id is not None]
    assert len(set(call_ids)) == 3
    calls = stored_calls(served, tracked, call_ids, "ai_call_completed")
    assert [stored["customerOrgId"] for stored in calls] == ["task-a", "task-b", "thread-corp"]
    accepted = served.events_of_calls(call_ids[:2], "ai_output_accepted")
    assert {accepted[call_id]["customerOrgId"] for call_id in call_ids[:2]} == {"task-a", "task-b"}
    await client.close()


# Without the server: what the wrapper does around the call.


def mock_tracker(sent: list[dict[str, Any]]) -> Tracker:
    """A tracker whose ingest is a mock answering 202, keeping the events sent."""

    def answer(request: httpx.Request) -> httpx.Response:
        batch = json.loads(gzip.decompress(request.content))["batch"]
        sent.extend(batch)
        return httpx.Response(202, json={"accepted": len(batch), "event_ids": []})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return Tracker(
        "http://tracker.test", uuid.uuid4(), "s", flush_interval_s=3600, http_client=http
    )


def test_a_tracking_failure_is_logged_and_never_reaches_the_call(
    providers: FakeProviders, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = mock_tracker([])
    client = tracker.wrap(openai_client(providers))

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("a bug in the tracker")

    monkeypatch.setattr(tracker, "track_in", broken)
    with caplog.at_level(logging.ERROR, logger="saas_tracker_client"):
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
        with pytest.raises(openai.RateLimitError):  # the provider's error, not the tracker's
            client.chat.completions.create(model="fail", messages=[])
    assert completion.choices[0].message.content == ANSWER
    assert len(chunks) == len(WORDS) + 1
    assert caplog.text.count("could not track an AI call") == 3
    tracker.close()


def test_a_disabled_tracker_still_removes_the_tracking_keyword(
    providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SAAS_TRACKER_URL", "SAAS_TRACKER_APP_UUID", "SAAS_TRACKER_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    tracker = Tracker()
    assert not tracker.enabled
    client = tracker.wrap(anthropic_client(providers))
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=MESSAGES,
        tracking={"feature": "x"},
    )
    assert "tracking" not in providers.last("/v1/messages")
    assert tracker.last_call_id() is not None


def test_copies_are_tracked_and_wrapping_twice_counts_each_call_once(
    providers: FakeProviders,
) -> None:
    sent: list[dict[str, Any]] = []
    tracker = mock_tracker(sent)
    client = tracker.wrap(tracker.wrap(openai_client(providers)))
    copy = client.with_options(timeout=5)
    with tracker.context(feature="copies"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        copy.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    tracker.flush()
    tracker.close()
    assert [event["event"] for event in sent] == ["ai_call_completed"] * 2
    assert len({event["properties"]["ai_call_id"] for event in sent}) == 2


def test_only_openai_and_anthropic_clients_can_be_wrapped() -> None:
    tracker = mock_tracker([])
    with pytest.raises(TypeError, match=r"openai\.OpenAI, openai\.AsyncOpenAI"):
        tracker.wrap(httpx.Client())
    tracker.close()
