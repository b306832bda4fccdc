"""Property: whatever a person who has not consented does, no implicit row is written; an
explicit memory exists only when they asked for one (asking is consent for that item)."""

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.core import Core
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.memory_models import Memory
from profiles.models import ConversationTurn, Feedback, Interest, Signal, StyleProfile, Trait
from tests.support.helpers import action, command, count, message, person, reaction

IMPLICIT = (Signal, Interest, Trait, StyleProfile, ConversationTurn, Feedback)

REQUESTS = ("remember that I'm vegetarian", "remember that my team ships on Thursdays")
texts = st.one_of(
    st.text(min_size=0, max_size=300),
    st.sampled_from([*REQUESTS, "forget that I'm vegetarian", "I'm vegetarian, remember?"]),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("message"), texts),
        st.tuples(st.just("reaction"), st.sampled_from(["👍", "👎", "🎉", "x", ":heart:"])),
        st.tuples(
            st.just("command"),
            st.sampled_from(
                [
                    "prefs",
                    "prefs set tone casual",
                    "profile",
                    "consent",
                    "consent revoke",
                    "consent decline",
                    "export",
                    "help",
                    "prefs reset",
                    "memory",
                    "memory add I like green tea",
                    "memory remove 1",
                    "memory clear",
                    "link",
                    "link list",
                    "bogus",
                ]
            ),
        ),
        st.tuples(
            st.just("action"),
            st.sampled_from(
                ["consent.decline", "feedback.up", "feedback.down", "forget.cancel", "nope"]
            ),
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
def test_nothing_implicit_is_stored_without_consent(sqlite_url, plan):
    async def scenario() -> None:
        core = Core(
            Settings(database_url=sqlite_url, _env_file=None),  # type: ignore[call-arg]
            Database(sqlite_url),
            ScriptedBackend(),
        )
        who = person("carol", workspace="prop")
        remembered = await count(core, Memory)  # examples share the database
        try:
            for kind, value in plan:
                if kind == "message":
                    replies = await core.handle(message(who, value))
                    for reply in replies:
                        if reply.reply_id:
                            await core.handle(reaction(who, reply.reply_id, "👍"))
                elif kind == "reaction":
                    await core.handle(
                        reaction(
                            who,
                            "some-message",
                            value,
                            target_text="Kubernetes operators in production",
                        )
                    )
                elif kind == "command":
                    name, _, args = value.partition(" ")
                    await core.handle(command(who, name, args))
                else:
                    await core.handle(action(who, value, "turn:1"))
            for model in IMPLICIT:
                assert await count(core, model) == 0, model.__tablename__
            asked = any(
                value in REQUESTS or value == "memory add I like green tea" for _, value in plan
            )
            assert asked or await count(core, Memory) <= remembered  # none added unasked
        finally:
            await core.aclose()
            await core.services.db.dispose()

    asyncio.run(scenario())
