"""Services: an adapter's outbox is where replays and digests leave, until it is closed."""

from __future__ import annotations

from typing import Any

from bot.digest import digests_for
from bot.events import AnyEvent, Reply
from profiles.models import Person
from tests.support.helpers import message, person


class RecordingOutbox:
    platform = "test"

    def __init__(self) -> None:
        self.replied: list[str] = []
        self.sent: list[str] = []

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        self.replied.extend(r.text for r in replies)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        self.sent.extend(f"{person.user_id}:{r.text}" for r in replies)


async def test_an_open_outbox_carries_replays_and_digests_until_closed(core: Any) -> None:
    services = core.services
    outbox = RecordingOutbox()
    services.open_outbox(outbox)
    event = message(person("alice"), "hi")
    assert await services.deliver_to(event, [Reply(text="late answer")])
    delivery = digests_for(core.services).delivery_for("test")
    assert delivery is not None
    await delivery(Person(platform="test", workspace="W1", user_id="alice"), [Reply(text="d")])
    assert outbox.replied == ["late answer"] and outbox.sent == ["alice:d"]

    services.close_outbox(outbox)
    assert not await services.deliver_to(event, [Reply(text="nobody")])
    assert digests_for(core.services).delivery_for("test") is None
    assert outbox.replied == ["late answer"]
