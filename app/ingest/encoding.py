"""Compressed request bodies: `Content-Encoding: gzip`.

The signature covers the JSON as the client built it, before compression (the usual SDK
convention): a request then means one thing whatever its transfer encoding, a proxy or HTTP
library may compress it on the way, and a replay compressed differently is still recognised.
The body is therefore decompressed before the signature is checked, by anyone who knows an
app's UUID: decompression is bounded by the request limit and incremental, so that a few
KiB expanding to gigabytes (a "zip bomb") never take more memory than the limit.
"""

from __future__ import annotations

import zlib

from app.ingest.errors import InvalidJson, PayloadTooLarge, UnsupportedEncoding

GZIP = "gzip"
IDENTITY = "identity"
SUPPORTED_ENCODINGS = (GZIP, IDENTITY)
# zlib's window bits for the gzip container (header and CRC checked) rather than raw zlib.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# Bytes decompressed at a time: what a bomb may take past the limit before it is refused.
_STEP = 64 * 1024


def decode_body(body: bytes, content_encoding: str | None, *, limit: int) -> bytes:
    """The body as the client signed it: `body` itself, or gunzipped.

    Raises UnsupportedEncoding for an encoding other than gzip or identity (a list of
    encodings included), PayloadTooLarge when the decompressed body would exceed `limit`
    bytes, InvalidJson when the gzip data is corrupt or truncated.
    """
    encoding = (content_encoding or IDENTITY).strip().lower()
    if encoding == IDENTITY:
        return body
    if encoding != GZIP:
        raise UnsupportedEncoding(
            "Content-Encoding must be gzip or identity (or absent); the body is not decoded."
        )
    return _gunzip(body, limit)


def _gunzip(data: bytes, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    while True:
        try:
            # IMPORTANT: max_length caps the output of each call (the input left over waits
            # in unconsumed_tail), so that a bomb is refused one step past the limit.
            chunk = decompressor.decompress(data, _STEP)
        except zlib.error:
            raise InvalidJson("The body is not valid gzip data.") from None
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"A request may carry at most {limit} bytes once decompressed.",
                limit="request_bytes",
                maximum=limit,
            )
        chunks.append(chunk)
        if decompressor.eof:
            data = decompressor.unused_data
            if not data:
                return b"".join(chunks)
            # A gzip file may hold several members one after the other (RFC 1952, 2.2).
            decompressor = zlib.decompressobj(_GZIP_WBITS)
        elif decompressor.unconsumed_tail or len(chunk) == _STEP:
            # Capped: more input waits, or zlib holds output of input it has consumed.
            data = decompressor.unconsumed_tail
        else:
            raise InvalidJson("The gzip data of the body is truncated.")
