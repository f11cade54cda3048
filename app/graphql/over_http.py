"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): what `/graphql`
accepts and how it answers, apart from the GraphQL execution itself (`app.graphql.app`).

Media types. The response is `application/graphql-response+json` when the request's `Accept`
prefers it (q-values honoured; at equal q, the type named exactly wins and then this one), and
`application/json` otherwise: without `Accept`, for `*/*`, and for anything else (the legacy
answer clients of the first version keep getting).

Status codes. With `application/json`, every GraphQL response is 200, errors or not (as before
the specification: Apollo Client and other existing clients read the errors from the body). With
`application/graphql-response+json`, a *request error* (the document does not parse or
validate, a variable does not coerce, the operation is unknown, or it is refused before it runs
as too costly: nothing executed) is 400 and its body has no `data` entry; once execution began,
200 with `data`. In both, a request that is not a GraphQL request at all (JSON that does not
parse, parameters of the wrong type, no query) is refused with a 4xx and a GraphQL error whose
`extensions` carry `code` BAD_USER_INPUT and `status` 400: 400 itself, 405 for a mutation sent
with GET (with `Allow: POST`), 413 for a body over the limit, 415 for a POST that is not JSON.

Parameters. `query` and `operationName` are strings or null, `variables` and `extensions` JSON
objects or null; a GET sends them URL-encoded (`variables` and `extensions` as JSON text).

Batches. A POST body may be a JSON array of 1 to `MAX_BATCH_OPERATIONS` operations; the answer
is the array of their results in the same order, with status 200 (each result carries its own
errors; a request error's result has no `data` entry with `application/graphql-response+json`).
A malformed batch (empty, too long, an operation that is not one) is refused whole with 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from app.errors import BadUserInput

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
# Operations one batch may hold: a page's queries, sent together. Each is a request of its
# own for the cost budget's sake (app/graphql/cost.py: the batch shares one budget).
MAX_BATCH_OPERATIONS = 10

_CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8",
    APPLICATION_JSON: APPLICATION_JSON,
}


def content_type(media_type: str) -> str:
    """The `Content-Type` header of a response in `media_type`."""
    return _CONTENT_TYPES[media_type]


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def negotiate(accept: str | None) -> str:
    """The media type of the response to a request with this `Accept` header."""
    if not accept or not accept.strip():
        return APPLICATION_JSON
    # For each type we answer in: (q, specificity) of the most specific range matching it.
    best: dict[str, tuple[float, int]] = {}
    for media_range in accept.split(","):
        name, *parameters = media_range.split(";")
        name = name.strip().lower()
        for media_type in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
            if name == media_type:
                specificity = 2
            elif name == "application/*":
                specificity = 1
            elif name == "*/*":
                specificity = 0
            else:
                continue
            found = best.get(media_type)
            if found is None or specificity > found[1]:
                best[media_type] = (_quality(parameters), specificity)
    acceptable = {media_type: rank for media_type, rank in best.items() if rank[0] > 0}
    if not acceptable:
        return APPLICATION_JSON  # nothing we speak: the legacy answer rather than 406
    graphql_response = acceptable.get(GRAPHQL_RESPONSE_JSON, (0.0, -1))
    json_ = acceptable.get(APPLICATION_JSON, (0.0, -1))
    if graphql_response[0] != json_[0]:
        return GRAPHQL_RESPONSE_JSON if graphql_response[0] > json_[0] else APPLICATION_JSON
    # Equal q: the type the client named exactly (`*/*` names neither: application/json).
    return GRAPHQL_RESPONSE_JSON if graphql_response[1] == 2 else APPLICATION_JSON


class RequestRefused(Exception):
    """A request refused before any operation of it executes, answered with `status_code` and
    a GraphQL error (`BAD_USER_INPUT`, status 400, and `extensions`)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = extensions

    def error(self) -> GraphQLError:
        return GraphQLError(
            self.message,
            extensions={
                "code": BadUserInput.code,
                "status": BadUserInput.status,
                **self.extensions,
            },
        )

    def result(self) -> ExecutionResult:
        """The refusal as the result of one operation of a batch."""
        return ExecutionResult(data=None, errors=[self.error()])

    def response(self, media_type: str) -> Response:
        body: dict[str, Any] = {"errors": [self.error().formatted]}
        if media_type == APPLICATION_JSON:
            # As every application/json response: `data` is there (null when nothing ran).
            body = {"data": None, **body}
        return Response(
            json.dumps(body, separators=(",", ":")),
            status_code=self.status_code,
            headers={**self.headers, "vary": "Accept"},
            media_type=content_type(media_type),
        )


def is_request_error(result: ExecutionResult) -> bool:
    """Whether nothing of the operation executed: no data and no error of a field (every error
    of execution has a `path`)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def _refused(where: str, message: str) -> RequestRefused:
    return RequestRefused(400, f"{where}: {message}" if where else message)


_NOT_AN_OPERATION = (
    "A GraphQL request is a JSON object with `query` and, optionally, `operationName`, "
    "`variables` and `extensions`."
)


def operation(data: object, *, where: str = "") -> GraphQLRequestData:
    """One operation's parameters, checked (`where` names it in a batch's refusals)."""
    if not isinstance(data, dict):
        raise _refused(where, _NOT_AN_OPERATION)
    query = data.get("query")
    if not isinstance(query, str | None):
        raise _refused(where, "`query` must be a string (the GraphQL document) or null.")
    operation_name = data.get("operationName")
    if not isinstance(operation_name, str | None):
        raise _refused(where, "`operationName` must be a string or null.")
    variables = data.get("variables")
    if not isinstance(variables, dict | None):
        raise _refused(where, "`variables` must be a JSON object or null.")
    extensions = data.get("extensions")
    if not isinstance(extensions, dict | None):
        raise _refused(where, "`extensions` must be a JSON object or null.")
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )


def operations(data: object) -> GraphQLRequestData | list[GraphQLRequestData]:
    """The operation of a request body, or the operations of a batch (a JSON array)."""
    if not isinstance(data, list):
        return operation(data)
    if not data:
        raise RequestRefused(400, "A batch holds at least one operation.")
    if len(data) > MAX_BATCH_OPERATIONS:
        raise RequestRefused(
            400,
            f"A batch holds at most {MAX_BATCH_OPERATIONS} operations; this one has "
            f"{len(data)}: send the others in another request.",
            maxOperations=MAX_BATCH_OPERATIONS,
        )
    return [
        operation(item, where=f"Operation {index} of the batch") for index, item in enumerate(data)
    ]


def get_operation(params: Mapping[str, Any]) -> GraphQLRequestData:
    """The operation of a GET request's parameters (`variables` and `extensions` already
    decoded from JSON; an empty one is absent)."""
    return operation({name: None if value == "" else value for name, value in params.items()})
