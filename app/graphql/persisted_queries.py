"""Automatic persisted queries, Apollo's protocol (what Apollo Client's persisted-query link and
Apollo iOS/Kotlin send), so that a client sends a query's 64-character hash instead of its text:

1. The client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without `query`.
   A known hash executes its query. An unknown one answers the error `PersistedQueryNotFound`
   with `extensions.code` PERSISTED_QUERY_NOT_FOUND and HTTP 200 (as Apollo Server does: the
   link treats a 400 as "persisted queries unsupported" and stops sending hashes).
2. The client then sends the query with its hash. The hash must be the hexadecimal SHA-256
   of the query's UTF-8 text (otherwise BAD_USER_INPUT, HTTP 400); the query executes and, once
   it has parsed and validated, is remembered under its hash.
3. Later requests with the hash alone execute it (a GET too: `extensions` URL-encoded as JSON,
   as the link sends with `useGETForHashedQueries`; mutations still need POST).

The queries are remembered per process, least recently used first out, in at most
`Settings.persisted_queries_max_entries` entries (0: persisted queries are off, every hash is
answered PERSISTED_QUERY_NOT_SUPPORTED and clients send full queries) and `MAX_TOTAL_CHARS`
characters. A restart, or another process behind the same address, forgets them: the client
then sends the query once more (step 2), nothing fails.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from app.errors import SaasTrackerError
from app.graphql.over_http import RequestRefused

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
# The version of Apollo's protocol, the only one there is.
VERSION = 1
# What all remembered queries of a process may hold, in characters: a document is at most
# 2,000 tokens (app/graphql/schema.py), a few kB written as clients write them, but its
# whitespace and comments are not bounded by that.
MAX_TOTAL_CHARS = 8 * 1024 * 1024

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryNotFound(SaasTrackerError):
    """The hash is not (or no longer) known: send the query with it. Not a failure of the
    request: HTTP 200."""

    code = PERSISTED_QUERY_NOT_FOUND
    status = 200


class PersistedQueryNotSupported(SaasTrackerError):
    """Persisted queries are off on this server: send full queries. HTTP 200."""

    code = PERSISTED_QUERY_NOT_SUPPORTED
    status = 200


def miss(error: PersistedQueryNotFound | PersistedQueryNotSupported) -> ExecutionResult:
    """The answer to a hash that cannot be executed (Apollo's message, which links match)."""
    return ExecutionResult(
        data=None, errors=[GraphQLError(error.message, extensions=error.extensions())]
    )


def is_miss(result: ExecutionResult) -> bool:
    codes = {PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_NOT_SUPPORTED}
    return any((error.extensions or {}).get("code") in codes for error in result.errors or ())


@dataclass(frozen=True)
class Lookup:
    """An operation with its query, and the hash to remember it under once it has proved a
    valid document (None: nothing to remember)."""

    request: GraphQLRequestData
    register: str | None = None


def _requested_hash(request: GraphQLRequestData) -> str | None:
    """The hash of `extensions.persistedQuery` (None without one); `RequestRefused` (400) for
    one that is not Apollo's protocol."""
    persisted = (request.extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise RequestRefused(
            400, "`extensions.persistedQuery` must be an object: {version: 1, sha256Hash}."
        )
    version = persisted.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise RequestRefused(
            400, f"Unsupported persisted query version: send `version: {VERSION}`."
        )
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or _SHA256_HEX.fullmatch(sha256_hash) is None:
        raise RequestRefused(
            400,
            "`extensions.persistedQuery.sha256Hash` must be the SHA-256 of the query in "
            "64 hexadecimal digits.",
        )
    return sha256_hash.lower()


class PersistedQueries:
    """The remembered queries of this process, by hash (least recently used out first)."""

    def __init__(self, max_entries: int, *, max_chars: int = MAX_TOTAL_CHARS) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, sha256_hash: object) -> bool:
        return sha256_hash in self._queries

    def lookup(self, request: GraphQLRequestData) -> Lookup:
        """The operation to execute for `request` (its own query, or the one its hash names).

        Raises `PersistedQueryNotFound` / `PersistedQueryNotSupported` for a hash that cannot
        be executed, `RequestRefused` (400) for a malformed one or one not matching its query.
        """
        sha256_hash = _requested_hash(request)
        if sha256_hash is None:
            return Lookup(request)
        if self.max_entries <= 0:
            raise PersistedQueryNotSupported("PersistedQueryNotSupported")
        if request.query is None:
            query = self._get(sha256_hash)
            if query is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            return Lookup(replace(request, query=query))
        if hashlib.sha256(request.query.encode()).hexdigest() != sha256_hash:
            raise RequestRefused(
                400,
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of the query: "
                "hash the query's exact UTF-8 text.",
            )
        return Lookup(request, register=sha256_hash)

    def _get(self, sha256_hash: str) -> str | None:
        with self._lock:
            query = self._queries.get(sha256_hash)
            if query is not None:
                self._queries.move_to_end(sha256_hash)
            return query

    def remember(self, sha256_hash: str, query: str) -> None:
        """Keep `query` under its hash, dropping the least recently used beyond the bounds."""
        if len(query) > self.max_chars or self.max_entries <= 0:
            return
        with self._lock:
            known = self._queries.pop(sha256_hash, None)
            if known is not None:
                self._chars -= len(known)
            self._queries[sha256_hash] = query
            self._chars += len(query)
            while len(self._queries) > self.max_entries or self._chars > self.max_chars:
                _, dropped = self._queries.popitem(last=False)
                self._chars -= len(dropped)
