"""The chat model's tools, end to end: the real core, real SDKs over HTTP to the fake server
scripted to call tools, real databases. Every tool is bound to the asking person."""

from __future__ import annotations

import json

import pytest

from bot.llm.anthropic_backend import AnthropicBackend
from bot.llm.openai_backend import OpenAICompatibleBackend
from profiles.memory_models import Memory
from profiles.models import LLMCall
from tests.support.fake_llm_server import Reply, ToolCall
from tests.support.helpers import command, count, grant, message, person, person_id


def backend_for(kind, server):
    if kind == "anthropic":
        return AnthropicBackend(
            api_key="sk-test", base_url=server.anthropic_base_url, max_retries=0
        )
    return OpenAICompatibleBackend(base_url=server.openai_base_url, max_retries=0)


@pytest.fixture(params=["anthropic", "openai"])
def api(request):
    return request.param


def results_in(api, body) -> list[str]:
    found = []
    for m in body["messages"]:
        if api == "openai" and m.get("role") == "tool":
            found.append(m["content"])
        if api == "anthropic" and isinstance(m.get("content"), list):
            found += [b["content"] for b in m["content"] if b.get("type") == "tool_result"]
    return found


async def test_search_reads_only_the_asking_persons_history(make_core, fake_llm_server, api):
    core = await make_core(backend_for(api, fake_llm_server))
    ann, bob = person("ann"), person("bob")
    for who, said in ((ann, "I love oolong tea with honey"), (bob, "I love tea from Kenya")):
        await grant(core, who)
        await core.handle(message(who, said))
    fake_llm_server.enqueue(
        api,
        Reply(
            tool_calls=(
                ToolCall("search_history", {"query": "tea"}),
                ToolCall("search_history", {"query": "tea", "person_id": 2}),
            )
        ),
        Reply("You love oolong tea."),
    )

    [reply] = await core.handle(message(ann, "Which tea do I like?"))

    assert reply.text == "You love oolong tea."
    body = fake_llm_server.requests_for(api)[-1].body
    found, hostile = results_in(api, body)
    assert "oolong" in found and "Kenya" not in json.dumps(body)
    assert "Extra inputs are not permitted" in hostile
    pid = await person_id(core, ann)
    async with core.services.db.session() as session:
        from sqlmodel import select

        calls = list(await session.exec(select(LLMCall).where(LLMCall.person_id == pid)))
    assert calls[-1].tools == "search_history,search_history"


async def test_remember_and_ambiguous_forget_tools(make_core, fake_llm_server, api):
    core = await make_core(backend_for(api, fake_llm_server))
    ann = person("ann")  # no consent: asking to remember is consent for that item
    await core.handle(command(ann, "memory", "add my cat is called Miso"))
    await core.handle(command(ann, "memory", "add my dog is called Rex"))
    fake_llm_server.enqueue(
        api,
        Reply(
            tool_calls=(
                ToolCall("remember", {"fact": "I am allergic to peanuts"}),
                ToolCall("forget", {"description": "the pet called something"}),
            )
        ),
        Reply("Noted. Which pet should I forget?"),
    )

    await core.handle(message(ann, "Keep in mind my peanut allergy, and drop the pet thing"))

    pid = await person_id(core, ann)
    assert await count(core, Memory, person_id=pid, source="tool") == 1
    assert await count(core, Memory, person_id=pid) == 3  # the ambiguous forget removed nothing
    remembered, forgot = results_in(api, fake_llm_server.requests_for(api)[-1].body)
    assert "Remembered" in remembered
    assert "Ambiguous" in forgot and "my cat is called Miso" in forgot
    assert await count(core, LLMCall, tools="remember,forget") == 1


async def test_profile_and_digest_tools(make_core, fake_llm_server, api):
    core = await make_core(backend_for(api, fake_llm_server))
    ann = person("ann")
    await core.handle(command(ann, "prefs", "set tone formal"))
    fake_llm_server.enqueue(
        api,
        Reply(tool_calls=(ToolCall("read_profile"), ToolCall("list_digest_items"))),
        Reply("Here is what I know."),
    )
    await core.handle(message(ann, "What do you know about me?"))
    profile, digest = results_in(api, fake_llm_server.requests_for(api)[-1].body)
    assert "tone: formal (set by you)" in profile
    assert "No digest items yet" in digest


async def test_recommend_tool_uses_the_ranked_recommend_path(make_core, fake_llm_server, api):
    core = await make_core(backend_for(api, fake_llm_server))
    ann = person("ann")
    await grant(core, ann)
    proposal = {
        "items": [
            {"title": "Dune", "reason": "epic", "topics": ["science fiction"]},
            {"title": "Solaris", "reason": "ocean", "topics": ["science fiction"]},
        ]
    }
    fake_llm_server.enqueue(
        api,
        Reply(tool_calls=(ToolCall("recommend", {"what": "a sci-fi book"}),)),
        Reply(json.dumps(proposal)),  # the /recommend path's own model call
        Reply("Try Dune."),
    )
    [reply] = await core.handle(message(ann, "Any book for me?"))
    assert reply.text == "Try Dune."
    [result] = results_in(api, fake_llm_server.requests_for(api)[-1].body)
    assert "Dune" in result
    pid = await person_id(core, ann)
    assert await count(core, LLMCall, person_id=pid, purpose="recommend") == 1


async def test_without_tool_support_the_request_has_no_tools(make_core, fake_llm_server, api):
    core = await make_core(backend_for(api, fake_llm_server), llm_tools=False)
    await core.handle(message(person("ann"), "hello"))
    assert "tools" not in fake_llm_server.requests_for(api)[-1].body
