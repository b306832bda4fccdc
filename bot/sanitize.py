"""Bring platform identifiers and names into the shape storage expects, once, at the door.

Platforms (and attackers) can send ids and names of any length and content; columns have
limits. Over-long ids keep a readable prefix plus a hash of the whole, so two different long
ids never collide into one person or one event.
"""

from __future__ import annotations

import dataclasses
import hashlib

from bot.events import AnyEvent, PersonRef
from profiles.signals import clean_text

ID_LIMIT = 128
EVENT_ID_LIMIT = 200
NAME_LIMIT = 256


def fit_id(value: str, limit: int = ID_LIMIT) -> str:
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[: limit - 17]}~{digest}"


def fit_person(ref: PersonRef) -> PersonRef:
    name = clean_text(ref.display_name, max_chars=NAME_LIMIT).strip() if ref.display_name else None
    return PersonRef(
        platform=fit_id(ref.platform, 32),
        workspace=fit_id(ref.workspace),
        user_id=fit_id(ref.user_id),
        display_name=name or None,
    )


def fit_event(event: AnyEvent) -> AnyEvent:
    changes: dict[str, object] = {
        "person": fit_person(event.person),
        "event_id": fit_id(event.event_id, EVENT_ID_LIMIT),
        "channel_id": fit_id(event.channel_id),
    }
    for name, limit in (
        ("thread_id", ID_LIMIT),
        ("message_id", EVENT_ID_LIMIT),
        ("target_message_id", EVENT_ID_LIMIT),
    ):
        value = getattr(event, name, None)
        if isinstance(value, str):
            changes[name] = fit_id(value, limit)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]
