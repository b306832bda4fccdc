"""Digests say only what matches the person: no unrelated padding by default, an optional
labelled "also new" tail, and never a reason made of filler."""

from tests.bot.digest.conftest import interests
from tests.bot.digest.test_runner import ITEMS, StaticSource, item, subscribed
from tests.support.helpers import command, person


async def test_unrelated_items_are_left_out_by_default(make_digests, clock):
    core, _ = await make_digests(
        sources=[StaticSource(*ITEMS)], digest_also_new_items=0
    )
    alice = person("alice")
    await subscribed(core, alice, "rust async")
    shown = await core.handle(command(alice, "digest", "preview"))
    text = "\n".join(r.text for r in shown)
    assert "Rust async runtimes compared" in text
    assert "Sourdough" not in text and "Raft" not in text


async def test_also_new_items_are_labelled_as_such(make_digests, clock):
    core, _ = await make_digests(
        sources=[StaticSource(*ITEMS)], digest_also_new_items=1
    )
    alice = person("alice")
    await subscribed(core, alice, "rust async")
    text = "\n".join(r.text for r in await core.handle(command(alice, "digest", "preview")))
    assert text.count("also new — not matched to your interests") == 1
    assert "why: new" not in text


async def test_filler_interests_are_never_a_reason(make_digests, clock):
    core, _ = await make_digests(
        sources=[StaticSource(item("h", "Haha moments of the week", "haha"), *ITEMS)],
        digest_also_new_items=0,
    )
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async")
    await interests(core, pid, "haha", "yeah", weight=9.0)  # learned by an older version
    text = "\n".join(r.text for r in await core.handle(command(alice, "digest", "preview")))
    assert "interest in haha" not in text and "Haha moments" not in text
    assert "matches your interest in rust async" in text
