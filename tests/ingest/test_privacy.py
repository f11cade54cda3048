"""Dropping prompts, generated content and transcripts: app/ingest/privacy.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.ingest.privacy import strip_private

MARKER = "SECRET-PROMPT-MARKER"


@pytest.mark.parametrize("key", ["prompt", "messages", "completion", "output", "response_text"])
def test_each_private_key_is_dropped(key: str) -> None:
    assert strip_private({"feature": "f", key: MARKER}) == {"feature": "f"}


@pytest.mark.parametrize(
    "key", ["Prompt", "MESSAGES", "responseText", "Response-Text", "response text", "OUTPUT"]
)
def test_private_keys_match_whatever_their_case_or_separators(key: str) -> None:
    assert strip_private({"a": 1, key: {"x": MARKER}}) == {"a": 1}


@pytest.mark.parametrize("key", ["output_tokens", "prompt_id", "message", "outputs", "role"])
def test_keys_that_merely_resemble_private_ones_are_kept(key: str) -> None:
    assert strip_private({key: 7}) == {key: 7}


@pytest.mark.parametrize(
    "key",
    [
        "\uff50rompt",  # fullwidth p
        "prompt\u200b",  # zero-width space
        "pro\u00admpt",  # soft hyphen
        "\u2060Prompt",  # word joiner
        "\uff30\uff32\uff2f\uff2d\uff30\uff34",  # fullwidth PROMPT
        "response\u200dtext",  # zero-width joiner
        "Messages\ufeff",  # zero-width no-break space
        "output.",
    ],
)
def test_private_keys_match_after_unicode_normalization(key: str) -> None:
    assert strip_private({"a": 1, key: MARKER}) == {"a": 1}


@pytest.mark.parametrize(
    "key",
    [
        "system_prompt",
        "user_prompt",
        "prompts",
        "promptText",
        "raw_completion",
        "completions",
        "model_output",
        "chat_messages",
        "user_message",
        "assistantMessage",
        "llm_response",
        "\uff53ystem_prompt",
    ],
)
@pytest.mark.parametrize("value", [MARKER, [MARKER], {"text": MARKER}])
def test_variants_of_private_keys_holding_content_are_dropped(key: str, value: Any) -> None:
    assert strip_private({"a": 1, key: value}) == {"a": 1}


def test_variants_of_private_keys_holding_a_number_or_a_flag_are_kept() -> None:
    value = {"prompts": 3, "system_prompt": True, "outputs": 2.5, "user_message": None}
    assert strip_private(value) == value


@pytest.mark.parametrize(
    "key", ["prompt_tokens", "completion_tokens", "prompt_id", "prompt_version", "prompt_template"]
)
def test_keys_that_count_or_name_private_content_are_kept(key: str) -> None:
    assert strip_private({key: "support-v2"}) == {key: "support-v2"}


@pytest.mark.parametrize("key", ["message", "last_msg", "Message\u200b"])
def test_a_single_message_object_under_a_message_key_is_dropped(key: str) -> None:
    value = {key: {"role": "user", "content": MARKER}, "n": 1}
    assert strip_private(value) == {"n": 1}


def test_a_message_key_holding_anything_but_a_message_object_is_kept() -> None:
    value = {"message": "Saved", "error_message": "timeout", "status_message": {"code": 3}}
    assert strip_private(value) == value


def test_private_keys_are_dropped_at_any_depth() -> None:
    value = {"a": [{"b": {"prompt": MARKER, "keep": 1}}, {"completion": MARKER}], "c": 2}
    assert strip_private(value) == {"a": [{"b": {"keep": 1}}, {}], "c": 2}


def test_a_transcript_under_any_key_is_dropped() -> None:
    value = {
        "history": [
            {"role": "system", "content": MARKER},
            {"role": "user", "content": MARKER},
        ],
        "feature": "chat",
    }
    assert strip_private(value) == {"feature": "chat"}


def test_one_message_among_other_items_makes_a_transcript() -> None:
    value = {"log": ["start", {"role": "user", "content": MARKER}, 3], "n": 1}
    assert strip_private(value) == {"n": 1}


def test_transcript_detection_ignores_key_case_and_accepts_gemini_parts() -> None:
    value = {
        "a": [{"Role": "user", "Content": MARKER}],
        "contents": [{"role": "user", "parts": [{"text": MARKER}]}],
        "b": 1,
    }
    assert strip_private(value) == {"b": 1}


def test_a_nested_transcript_is_dropped() -> None:
    value = {"ctx": {"deep": {"turns": [{"role": "assistant", "content": [{"text": MARKER}]}]}}}
    assert strip_private(value) == {"ctx": {"deep": {}}}


def test_transcripts_and_messages_inside_lists_are_removed_as_elements() -> None:
    value = {
        "conversations": [[{"role": "user", "content": MARKER}], ["keep"]],
    }
    assert strip_private(value) == {"conversations": [["keep"]]}
    assert strip_private([{"role": "user", "content": MARKER}, 1]) == [1]


def test_a_single_role_and_content_object_outside_a_list_is_kept() -> None:
    # Product events say this legitimately; only lists of messages are transcripts.
    value = {"role": "admin", "content": "pricing_page"}
    assert strip_private(value) == value


def test_lists_of_other_objects_are_kept() -> None:
    value = {"items": [{"role": "admin"}, {"content": "x"}, {"sku": 1}]}
    assert strip_private(value) == value


def test_scalars_are_returned_as_they_are() -> None:
    for scalar in ("text", 1, None, True):
        assert strip_private(scalar) is scalar


def test_the_input_is_not_modified_and_containers_are_new() -> None:
    value: dict[str, Any] = {
        "keep": {"inner": [1, 2]},
        "prompt": MARKER,
        "t": [{"role": "u", "content": "c"}],
    }
    before = copy.deepcopy(value)
    result = strip_private(value)
    assert value == before
    assert result == {"keep": {"inner": [1, 2]}}
    assert result is not value
    assert result["keep"] is not value["keep"]
    assert result["keep"]["inner"] is not value["keep"]["inner"]


def test_the_marker_survives_nowhere() -> None:
    value = {
        "event": "ai_call_completed",
        "prompt": MARKER,
        "messages": [{"role": "user", "content": MARKER}],
        "properties": {
            "ai": {"completion": MARKER, "output": {"text": MARKER}},
            "response_text": MARKER,
            "extra": {"history": [{"role": "assistant", "content": MARKER}]},
            "runs": [{"steps": [[{"role": "tool", "content": MARKER}]]}],
        },
    }
    result = strip_private(value)
    assert MARKER not in repr(result)
    assert result == {
        "event": "ai_call_completed",
        "properties": {"ai": {}, "extra": {}, "runs": [{"steps": []}]},
    }
