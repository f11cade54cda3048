"""Every refused ingest request is logged once: app, status, reason and request id, never the
body; a flood of refusals is summed up instead of flooding the log."""

from __future__ import annotations

import logging

import pytest

from app.ingest.rejections import RejectionLog
from app.settings import Settings
from tests.harness import running

MARKER = "PRIVATE-BODY-MARKER"


def rejected(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.ingest.rejected"]


def test_a_refused_request_is_logged_once_with_app_reason_and_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings) as h, caplog.at_level(logging.INFO):
        response = h.post({"event": "x", "properties": {"note": MARKER}}, secret="0" * 64)
    assert response.status_code == 401
    [record] = rejected(caplog)
    assert record.getMessage().startswith("ingest refused: 401 invalid_signature (")
    assert (record.status, record.reason, record.app) == (  # type: ignore[attr-defined]
        401,
        "invalid_signature",
        str(h.app_uuid),
    )
    assert record.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert MARKER not in caplog.text


def test_a_validation_error_is_logged_with_the_fields_it_names(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings) as h, caplog.at_level(logging.INFO):
        response = h.post({"event": "", "properties": {"note": MARKER}})
    assert response.status_code == 400
    [record] = rejected(caplog)
    assert record.getMessage().startswith("ingest refused: 400 validation_error (event: ")
    assert MARKER not in caplog.text


def test_an_accepted_request_is_not_logged_and_answers_its_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings) as h, caplog.at_level(logging.INFO):
        response = h.post({"event": "x"}, headers={"x-request-id": "client-req-7"})
    assert response.status_code == 202
    assert response.headers["x-request-id"] == "client-req-7"
    assert rejected(caplog) == []


def test_a_request_id_that_is_not_a_plain_token_is_replaced(settings: Settings) -> None:
    with running(settings) as h:
        response = h.post({"event": "x"}, headers={"x-request-id": "a b\\n<script>"})
    assert len(response.headers["x-request-id"]) == 32


def test_past_the_lines_per_second_refusals_are_counted_then_summed_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    log = RejectionLog(per_second=2, clock=lambda: now[0])
    error = {"error": "unknown_app", "detail": "Unknown or inactive app UUID."}
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            log.rejected(status=404, error=error, app="a", request="r")
        now[0] += 1.0
        log.rejected(status=404, error=error, app="a", request="r")
    assert [r.getMessage() for r in rejected(caplog)] == [
        "ingest refused: 404 unknown_app (Unknown or inactive app UUID.)",
        "ingest refused: 404 unknown_app (Unknown or inactive app UUID.)",
        "3 more refused ingest requests were not logged",
        "ingest refused: 404 unknown_app (Unknown or inactive app UUID.)",
    ]
