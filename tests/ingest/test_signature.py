"""HMAC request signatures: app/ingest/signature.py."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest.errors import InvalidSignature
from app.ingest.signature import sign, sign_headers, verify

SECRET = "st_secret_current"
PREVIOUS = "st_secret_previous"
BODY = b'{"event":"signup"}'
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
TOLERANCE = 300
MALFORMED = (
    "The x-signature header is malformed: expected the lower-case hex HMAC-SHA256 "
    "(64 characters), optionally prefixed with 'sha256='."
)


def check(
    *,
    body: bytes = BODY,
    signature: str | None,
    timestamp: str | None = None,
    secrets: tuple[str, ...] = (SECRET,),
    now: float = NOW,
) -> None:
    verify(
        body=body,
        signature=signature,
        timestamp=timestamp,
        secrets=secrets,
        now=now,
        tolerance_s=TOLERANCE,
    )


def detail_of(**kwargs: object) -> str:
    with pytest.raises(InvalidSignature) as caught:
        check(**kwargs)  # type: ignore[arg-type]
    return caught.value.detail


def test_sign_is_the_lower_case_hex_hmac_sha256_of_the_body() -> None:
    # Same value as: printf '%s' '{"event":"signup"}' | openssl dgst -sha256 -hmac st_secret_current
    assert sign(SECRET, BODY) == "7e1013441e2cfd96d19ddb5c97655e9baf2551424ef80ac1f86538ba2f2d360d"


def test_sign_with_a_timestamp_covers_timestamp_dot_body() -> None:
    assert sign(SECRET, BODY, NOW) == (
        "1d23ef070dc364f0724ead9c52b82df325119cccc6a005188708fdafb31b9c23"
    )
    assert (
        sign(SECRET, BODY, NOW)
        == hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    )


def test_sign_headers_without_a_timestamp_gives_the_signature_only() -> None:
    assert sign_headers(SECRET, BODY) == {"x-signature": sign(SECRET, BODY)}


def test_sign_headers_with_a_timestamp_and_app_uuid_gives_all_three_headers() -> None:
    assert sign_headers(SECRET, BODY, NOW, app_uuid="6f1c") == {
        "x-signature": sign(SECRET, BODY, NOW),
        "x-timestamp": str(NOW),
        "x-app-uuid": "6f1c",
    }


def test_a_correct_signature_verifies() -> None:
    check(signature=sign(SECRET, BODY))


def test_the_sha256_prefix_is_accepted() -> None:
    check(signature="sha256=" + sign(SECRET, BODY))


def test_upper_case_hex_and_prefix_are_accepted() -> None:
    check(signature="SHA256=" + sign(SECRET, BODY).upper())


def test_headers_from_sign_headers_verify() -> None:
    headers = sign_headers(SECRET, BODY, NOW)
    check(signature=headers["x-signature"], timestamp=headers["x-timestamp"])


@pytest.mark.parametrize("signature", [None, ""], ids=["absent", "empty"])
def test_a_missing_signature_is_refused(signature: str | None) -> None:
    assert detail_of(signature=signature) == "The x-signature header is missing."


@pytest.mark.parametrize(
    "signature",
    [
        "abc",
        "sha256=",
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "é" * 64,
        "\u212a" * 64,  # Kelvin sign: lower-cases to an ASCII "k"
        "٣" * 64,  # Arabic-Indic digit three
        "ab " * 21 + "a",
        "sha256=sha256=" + "a" * 64,
    ],
    ids=[
        "short",
        "prefix-only",
        "63-chars",
        "65-chars",
        "non-hex",
        "non-ascii",
        "kelvin",
        "non-ascii-digits",
        "spaces",
        "double-prefix",
    ],
)
def test_a_malformed_signature_is_refused_as_invalid_signature(signature: str) -> None:
    assert detail_of(signature=signature) == MALFORMED


def test_a_signature_with_another_secret_is_refused() -> None:
    assert detail_of(signature=sign("someone-else", BODY)) == (
        "The signature does not match the request body."
    )


def test_a_signature_of_another_body_is_refused() -> None:
    assert detail_of(body=BODY + b" ", signature=sign(SECRET, BODY)) == (
        "The signature does not match the request body."
    )


def test_the_previous_secret_verifies_while_both_are_active() -> None:
    check(signature=sign(PREVIOUS, BODY), secrets=(SECRET, PREVIOUS))
    check(signature=sign(SECRET, BODY), secrets=(SECRET, PREVIOUS))


def test_no_active_secret_verifies_nothing() -> None:
    assert detail_of(signature=sign(SECRET, BODY), secrets=()) == (
        "The signature does not match the request body."
    )


def test_with_a_timestamp_header_a_body_only_signature_is_refused() -> None:
    assert detail_of(signature=sign(SECRET, BODY), timestamp=str(NOW)) == (
        "The signature does not match the request body."
    )


@pytest.mark.parametrize("offset", [-TOLERANCE, 0, TOLERANCE])
def test_a_timestamp_within_the_tolerance_verifies(offset: int) -> None:
    stamp = NOW + offset
    check(signature=sign(SECRET, BODY, stamp), timestamp=str(stamp))


@pytest.mark.parametrize("offset", [-TOLERANCE - 1, TOLERANCE + 1])
def test_a_timestamp_outside_the_tolerance_is_refused(offset: int) -> None:
    stamp = NOW + offset
    assert detail_of(signature=sign(SECRET, BODY, stamp), timestamp=str(stamp)) == (
        "The x-timestamp header is more than 300 s away from the server's clock."
    )


def test_a_nan_clock_fails_closed() -> None:
    assert detail_of(signature=sign(SECRET, BODY, NOW), timestamp=str(NOW), now=float("nan")) == (
        "The x-timestamp header is more than 300 s away from the server's clock."
    )


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "-5", "1.5", "1e9", "١٧٦٧٢٢٥٦٠٠", "9" * 5000],
    ids=["empty", "letters", "negative", "fraction", "exponent", "non-ascii-digits", "huge"],
)
def test_a_malformed_timestamp_is_refused(timestamp: str) -> None:
    assert detail_of(signature=sign(SECRET, BODY, NOW), timestamp=timestamp) == (
        "The x-timestamp header is malformed: expected unix seconds."
    )


def test_details_never_quote_the_submitted_headers() -> None:
    marker = "SECRET-PROMPT-MARKER"
    for kwargs in (
        {"signature": marker},
        {"signature": sign(SECRET, BODY), "timestamp": marker},
        {"signature": "sha256=" + "0" * 64, "body": marker.encode()},
    ):
        assert marker not in detail_of(**kwargs)


@given(
    body=st.binary(max_size=64),
    signature=st.none() | st.text(max_size=80),
    timestamp=st.none() | st.text(max_size=20),
    now=st.floats(allow_nan=True, allow_infinity=True),
)
def test_verify_raises_nothing_but_invalid_signature(
    body: bytes, signature: str | None, timestamp: str | None, now: float
) -> None:
    with contextlib.suppress(InvalidSignature):
        check(body=body, signature=signature, timestamp=timestamp, now=now)


@given(body=st.binary(max_size=256), stamp=st.integers(min_value=NOW - 300, max_value=NOW + 300))
def test_whatever_sign_headers_produces_verifies(body: bytes, stamp: int) -> None:
    headers = sign_headers(SECRET, body, stamp)
    check(body=body, signature=headers["x-signature"], timestamp=headers["x-timestamp"])
