"""The one translation of errors into GraphQL errors (CONTRACT §4).

- A `SaasTrackerError` raised by a resolver becomes an error whose `extensions` are its own:
  `code`, `status` and its details (`feature`/`requiredPlan`, `limit`/`current`/`max`, …).
- An error of the request itself (syntax, validation, a variable or literal of the wrong type:
  none of them has a `path`) keeps its message and gets `BAD_USER_INPUT` / 400, or the code
  of the refusal behind it (`QUERY_TOO_COSTLY`, app/graphql/cost.py).
- Anything else is unexpected: masked as "Unexpected error." with code `INTERNAL`, logged in
  full (see `SaasTrackerSchema.process_errors`), its text never sent to the client.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.errors import BadUserInput, SaasTrackerError

UNEXPECTED_MESSAGE = "Unexpected error."
INTERNAL = "INTERNAL"
INTERNAL_STATUS = 500

# Exceptions that scalars raise when a value cannot be parsed: the client sent it.
_PARSE_ERRORS = (SaasTrackerError, ValueError, TypeError, ArithmeticError)


def _cause(error: GraphQLError) -> Exception | None:
    """The exception behind an error (graphql-core may wrap a scalar's error in another)."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def _is_request_error(error: GraphQLError) -> bool:
    """Parse, validation and variable-coercion errors: raised before any resolver ran."""
    cause = _cause(error)
    return error.path is None and (
        cause is None or isinstance(cause, (GraphQLError, *_PARSE_ERRORS))
    )


def _expected(error: GraphQLError) -> SaasTrackerError | None:
    cause = _cause(error)
    if isinstance(cause, SaasTrackerError) and cause.code != INTERNAL:
        return cause
    return None


def is_expected(error: GraphQLError) -> bool:
    """Whether the client may be told what went wrong (otherwise: mask and log)."""
    return _is_request_error(error) or _expected(error) is not None


def translate(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it (a new error: the original stays for the logs)."""
    expected = _expected(error)
    extensions: dict[str, Any]
    if _is_request_error(error):
        # A refusal of the request before it ran keeps its own code (QUERY_TOO_COSTLY); a
        # scalar's refusal of a value is BAD_USER_INPUT, like every other request error.
        own = expected.extensions() if expected is not None else {}
        message = error.message
        extensions = {"code": BadUserInput.code, "status": BadUserInput.status, **own}
    elif expected is not None:
        message = expected.message
        extensions = expected.extensions()
    else:
        message = UNEXPECTED_MESSAGE
        extensions = {"code": INTERNAL, "status": INTERNAL_STATUS}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class TranslateErrors(MaskErrors):
    """strawberry's `MaskErrors`, with every error going through `translate`."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _error: True, error_message=UNEXPECTED_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return translate(error)
