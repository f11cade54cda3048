"""Compressed request bodies: app/ingest/encoding.py."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from app.ingest.encoding import decode_body
from app.ingest.errors import InvalidJson, PayloadTooLarge, UnsupportedEncoding

LIMIT = 1024 * 1024
JSON = b'{"event": "page_view"}'


def gzip_of_zeros(size: int) -> bytes:
    """`size` zero bytes gzipped, built a mebibyte at a time (a 1000:1 "zip bomb")."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*parts, compressor.flush()])


@pytest.mark.parametrize("encoding", [None, "identity", " Identity "])
def test_a_body_without_an_encoding_is_taken_as_sent(encoding: str | None) -> None:
    assert decode_body(JSON, encoding, limit=LIMIT) == JSON


@pytest.mark.parametrize("encoding", ["gzip", "GZIP"])
def test_a_gzip_body_is_decompressed(encoding: str) -> None:
    assert decode_body(gzip.compress(JSON), encoding, limit=LIMIT) == JSON


def test_gzip_members_one_after_the_other_are_one_body() -> None:
    body = gzip.compress(b'{"event": ') + gzip.compress(b'"page_view"}')
    assert decode_body(body, "gzip", limit=LIMIT) == JSON


def test_a_body_decompressing_to_exactly_the_limit_is_accepted() -> None:
    assert len(decode_body(gzip_of_zeros(LIMIT), "gzip", limit=LIMIT)) == LIMIT


def test_a_zip_bomb_is_refused_without_ever_holding_more_than_the_limit() -> None:
    bomb = gzip_of_zeros(64 * LIMIT)
    assert len(bomb) < 100 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge) as refused:
            decode_body(bomb, "gzip", limit=LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.message == "A request may carry at most 1048576 bytes once decompressed."
    # The limit and a few hundred KiB (a step of output past it, zlib's state, copies of the
    # compressed input left over), with room for other threads: decompressed whole, the bomb
    # would take 64 MiB.
    assert peak < 2 * LIMIT


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (JSON, "The body is not valid gzip data."),
        (gzip.compress(JSON) + b"trailing", "The body is not valid gzip data."),
        (gzip.compress(JSON)[:-4], "The gzip data of the body is truncated."),
        (b"", "The gzip data of the body is truncated."),
    ],
    ids=["not-gzip", "trailing-garbage", "truncated", "empty"],
)
def test_corrupt_gzip_is_invalid(body: bytes, message: str) -> None:
    with pytest.raises(InvalidJson) as refused:
        decode_body(body, "gzip", limit=LIMIT)
    assert refused.value.message == message


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, identity", "x-gzip"])
def test_other_encodings_are_unsupported(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        decode_body(gzip.compress(JSON), encoding, limit=LIMIT)
