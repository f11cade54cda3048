"""The ids the server gives events that a signed request sends without one."""

from __future__ import annotations

from uuid import UUID, uuid5


def replayable_event_id(app_uuid: UUID, signature: bytes, position: int) -> str:
    """The id the server gives the event at `position` of a signed request that names none.

    Derived from the request's signature (a name-based UUID, version 5, in the app's UUID as
    namespace), not drawn at random: the same signed bytes sent again within the timestamp
    window (a replay, or a client's retry) get the same ids, and the writers' de-duplication
    on (app, event_id) stores them once. Two requests differ in signature whenever their
    bytes or their `x-timestamp` differ.
    """
    return str(uuid5(app_uuid, f"{signature.hex()}:{position}"))
