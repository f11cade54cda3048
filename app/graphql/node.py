"""Global object identification (CONTRACT §7): the `Node` interface and `node(id:)`.

Every type that stands for a stored thing implements `Node`: its `id` is stable and opaque,
base64url of "TypeName:key" (the key is one value, or a JSON array of several), so a client's
normalized cache (Apollo's `__typename:id`, Relay's `id`) keeps one copy of each thing and a
mutation's answer updates every list that shows it.

`node(id:)` fetches any of them again. Each feature registers how to load its types
(`node_loader`), with the same authorization as the type's own query: a thing of another
workspace, an operators' thing asked for by a workspace credential, one that does not exist
(any more) or an id that is not one of ours all answer null, never an error that would tell
them apart. A refusal that is not about who may see it (UPGRADE_REQUIRED) stays an error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

import orjson
import strawberry

from app.errors import BadUserInput, Forbidden, NotFound
from app.graphql.context import Info
from app.graphql.permissions import IsAuthenticated

# An id longer than this was not made here: refused before any decoding work.
MAX_ID_LENGTH = 1024

NodeKey = tuple[str, ...]
NodeLoader = Callable[[Info, NodeKey], Awaitable[Any]]
L = TypeVar("L", bound=NodeLoader)

# GraphQL type name -> (how many parts its key has, how to load it).
_LOADERS: dict[str, tuple[int, NodeLoader]] = {}


def encode_node_id(type_name: str, *key: str) -> str:
    """The opaque id of the `type_name` thing whose key is `key`."""
    text = key[0] if len(key) == 1 else orjson.dumps(list(key)).decode()
    raw = f"{type_name}:{text}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_node_id(node_id: str) -> tuple[str, NodeKey] | None:
    """The type name and key an id names, or None when it is not an id of a known type."""
    if not node_id or len(node_id) > MAX_ID_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(node_id + "=" * (-len(node_id) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    type_name, separator, text = raw.partition(":")
    entry = _LOADERS.get(type_name)
    if not separator or entry is None:
        return None
    arity, _ = entry
    if arity == 1:
        return type_name, (text,)
    try:
        parts = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(parts, list)
        or len(parts) != arity
        or not all(isinstance(part, str) for part in parts)
    ):
        return None
    return type_name, tuple(parts)


@strawberry.interface(
    description=(
        "A stored thing with a stable, opaque, globally unique `id` (Global Object "
        "Identification): `node(id:)` fetches it again, and a normalized client cache keys "
        "it by `id`, so a mutation's answer updates every list that shows it. Ids are "
        "opaque: never build or parse them."
    )
)
class Node:
    @strawberry.field(
        description="Its global id: stable, opaque, unique among every type of the schema."
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_node_id(self.node_type(), *self.node_key()))

    @classmethod
    def node_type(cls) -> str:
        """The GraphQL type name its ids carry."""
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        name: str = definition.name
        return name

    def node_key(self) -> NodeKey:
        """What identifies it among the things of its type."""
        raise NotImplementedError


def node_loader(node_type: type[Node], *, arity: int = 1) -> Callable[[L], L]:
    """Register how `node(id:)` loads a `node_type` from its key of `arity` parts: the loader
    returns the thing, or None (or raises NotFound/Forbidden) when the caller may not see it."""

    def register(loader: L) -> L:
        _LOADERS[node_type.node_type()] = (arity, loader)
        return loader

    return register


def key_uuid(text: str) -> UUID:
    """A UUID part of a key; NotFound (null from `node`) for one that is not a UUID."""
    try:
        return UUID(text)
    except ValueError:
        raise NotFound("Unknown id.") from None


def registered_types() -> frozenset[str]:
    """The types `node(id:)` can load."""
    return frozenset(_LOADERS)


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description=(
            "Any stored thing by its global `id` (see Node), with the authorization of its "
            "own query. Null for an id the caller may not see: another workspace's, an "
            "operators' thing for a workspace credential, one that does not exist (any more) "
            "or an id that is not one. Still an error when the caller's plan lacks the "
            "feature (UPGRADE_REQUIRED)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="A global id some `id` field gave.")
        ],
    ) -> Node | None:
        decoded = decode_node_id(id)
        if decoded is None:
            return None
        type_name, key = decoded
        _, loader = _LOADERS[type_name]
        try:
            found = await loader(info, key)
        except (NotFound, Forbidden, BadUserInput):
            return None
        if found is None:
            return None
        assert isinstance(found, Node)
        return found
