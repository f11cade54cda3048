"""Cursor connections (CONTRACT §7): the one shape of every paged list, beside the plain lists
of CONTRACT §4 — `edges { cursor node }`, `pageInfo { hasNextPage endCursor }`, arguments
`first` and `after` (Relay's connection specification, forward only).

A connection is built from one page its list's own keyset pagination read (one statement, one
row more than `first` to learn whether more follow): the cursors are that list's cursors, so a
cursor of `eventsPage` or of an item's `cursor` field continues a connection too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

import strawberry

from app.errors import BadUserInput

T = TypeVar("T")

DEFAULT_FIRST = 50

AfterArgument = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Continue after this cursor: an edge's `cursor` or `pageInfo.endCursor` of this "
            "connection with the same arguments. BAD_USER_INPUT if it is not one."
        )
    ),
]


def first_argument(maximum: int) -> object:
    """The `first` argument of a connection whose pages hold at most `maximum` items."""
    return strawberry.argument(description=f"Page size: how many edges, 1 to {maximum}.")


def check_first(first: int, maximum: int) -> None:
    if not 1 <= first <= maximum:
        raise BadUserInput(f"'first' must be between 1 and {maximum}.", field="first")


@strawberry.type(
    description=(
        "Where a page of a connection ends and whether another follows. Pages go forward "
        "only: pass `endCursor` as `after` for the next one."
    )
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether more edges follow this page (then `endCursor` continues)."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last edge; null when the page is empty."
    )
    has_previous_page: bool = strawberry.field(
        description="Always false: connections page forward only (`first`/`after`)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first edge; null when the page is empty."
    )


@strawberry.type(description="One item of a connection, with the cursor of its position.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque: pass it as `after` for the items that follow this one."
    )
    node: T = strawberry.field(description="The item.")


@strawberry.type(
    description=(
        "One page of a list as a cursor connection: `edges` in the list's order and "
        "`pageInfo`. Walking the pages lists every item exactly once."
    )
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items, in order.")
    page_info: PageInfo = strawberry.field(description="Where the page ends; whether more follow.")

    @classmethod
    def of(
        cls, nodes: Sequence[T], cursor: Callable[[T], str], *, has_next_page: bool
    ) -> Connection[T]:
        edges = [Edge(cursor=cursor(node), node=node) for node in nodes]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
            ),
        )
