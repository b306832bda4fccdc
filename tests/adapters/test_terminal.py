"""The terminal adapter end to end: the real console script in a subprocess, the other
commands in this process (tests/support/cli_runner.py), scripted mode through the real core
and a real SQLite file, and the interactive loop's consent question."""

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.terminal import (
    TerminalOutbox,
    TerminalSession,
    chat,
    flatten,
    run_interactive,
    run_scripted,
)
from bot.digest import digests_for
from bot.events import Reply as BotReply
from bot.llm import ScriptedBackend
from bot.llm.anthropic_backend import AnthropicBackend
from profiles.models import (
    ConversationTurn,
    Feedback,
    Interest,
    Person,
    Recommendation,
    Signal,
)
from tests.support.cli_runner import MODEL_VARIABLES, Run, tailorbot
from tests.support.fake_llm_server import Reply as FakeReply
from tests.support.helpers import count

ROOT = Path(__file__).resolve().parents[2]


def run_console_script(args, stdin, cwd):
    """``tailorbot`` as a person starts it: a new interpreter, reading a pipe."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in MODEL_VARIABLES:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
    )


def run_cli(args, stdin, cwd, **env) -> Run:
    """The same command in this process (tests/support/cli_runner.py): what it prints and
    its exit status are the console script's, without an interpreter's start each time."""
    return tailorbot(args, stdin=stdin, cwd=cwd, env=env)


def test_console_script_scripted_session_learns_and_exports(tmp_path, data_dir):
    lines = [
        "hello",
        "/consent grant",
        "I love Rust async programming and distributed systems",
        "/react 👍",
        "/prefs set tone pirate",
        "",
        "/export",
        "/profile",
    ]
    result = run_console_script(["chat", "--user", "dana"], "\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines), result.stdout  # one line out per line in
    assert "without a language model" in out[0]
    assert "learn from your messages" in out[1]
    assert "noted your 👍" in out[3]
    assert "tone must be one of" in out[4] and "\\n" in out[4]
    assert "empty message" in out[5]
    [export] = (data_dir / "exports").glob("*/tailorbot-export-terminal-local-dana.json")
    assert export.exists() and oct(export.stat().st_mode & 0o777) == "0o600"
    assert f"Saved to {export}" in out[6]
    assert not list(tmp_path.glob("*.json"))  # never into the working directory (the checkout)
    data = json.loads(export.read_text())
    assert any(row["topic"] == "distributed system" for row in data["tables"]["interest"])
    assert "distributed system" in out[7]
    assert "learning is off until consent" in result.stderr
    assert (tmp_path / "tailorbot.db").exists()  # the default database, created on first run


def test_run_with_consent_learns_from_the_first_message(tmp_path, data_dir):
    """`tailorbot run` starts the terminal chat when no platform is configured, and its note
    says "start with --consent": `run` takes it as `chat` does (it refused the option)."""
    result = run_cli(
        ["run", "--consent"],
        "I mostly listen to jazz while reading about sourdough baking\n/profile\n",
        tmp_path,
        TAILORBOT_HTTP_ENABLED="false",
    )
    assert result.returncode == 0, result.output
    assert "learning is off until consent" not in result.stderr
    profile = result.stdout.splitlines()[-1]
    assert "jazz" in profile and "sourdough baking" in profile


def test_run_with_consent_refuses_on_a_platform(tmp_path):
    """On Slack and Discord consent is each person's own: `run --consent` with a platform
    configured stops before anything starts, saying why."""
    refused = run_cli(["run", "--consent"], "", tmp_path, COLUMNS="300",
                      SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test")
    assert refused.returncode == 2
    assert "--consent" in refused.stderr and "each person gives their own" in refused.stderr
    assert not (tmp_path / "tailorbot.db").exists()  # nothing started


def test_console_script_users_admin_commands(tmp_path):
    run_cli(
        ["chat", "--user", "erin", "--consent"],
        "Kubernetes operators and Helm charts in production\n",
        tmp_path,
    )
    listing = run_cli(["users", "list"], "", tmp_path)
    assert "erin" in listing.stdout and "granted" in listing.stdout
    shown = run_cli(["users", "show", "erin"], "", tmp_path)
    assert "helm charts" in shown.stdout.lower()
    exported = run_cli(["users", "export", "erin"], "", tmp_path)
    assert json.loads(exported.stdout)["person"]["user_id"] == "erin"
    refused = run_cli(["users", "forget", "erin"], "n\n", tmp_path)
    assert refused.returncode == 1
    forgotten = run_cli(["users", "forget", "erin", "--yes"], "", tmp_path)
    assert json.loads(forgotten.stdout)["total"] > 0
    assert "erin" not in run_cli(["users", "list"], "", tmp_path).stdout
    missing = run_cli(["users", "show", "nobody"], "", tmp_path)
    assert missing.returncode == 1 and "No person matches" in missing.stderr


def test_db_upgrade_command_and_bad_config(tmp_path):
    upgraded = run_cli(["db", "upgrade"], "", tmp_path)
    from profiles.migrate import head_revision

    assert f"revision {head_revision()}" in upgraded.stdout
    (tmp_path / "tailorbot.toml").write_text('consent_mode = "sometimes"\n')
    bad = run_cli(["chat"], "hi\n", tmp_path)
    assert bad.returncode == 2 and "consent_mode" in bad.stderr


def test_a_prompt_variant_s_missing_template_stops_the_bot_at_start(tmp_path):
    """docs/measurement.md's example named a template that did not exist: it was accepted,
    then every message of an enrolled person was journaled as a database outage."""
    (tmp_path / "tailorbot.toml").write_text(
        '[experiments.concise_prompt]\nkind = "prompt"\n'
        '[experiments.concise_prompt.variants]\ncontrol = {}\n'
        'concise = { template = "chat_system_concise.j2" }\n'
    )
    refused = run_cli(["chat"], "hi\n", tmp_path, COLUMNS="300")
    assert refused.returncode == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert ("Configuration error: experiment concise_prompt, variant concise: no template "
            "'chat_system_concise.j2' (have: chat_system.j2,") in said
    assert "Traceback" not in said


def test_a_config_file_that_does_not_exist_is_an_error(tmp_path):
    """A mistyped --config ran on the defaults without a word."""
    missing = run_cli(["config", "-c", str(tmp_path / "nope.toml")], "", tmp_path, COLUMNS="300")
    assert missing.returncode == 2
    assert f"no configuration file at {tmp_path / 'nope.toml'}" in " ".join(
        missing.stderr.split())


def test_run_and_chat_read_the_experiments_of_their_config_file(tmp_path):
    """`experiments report -c FILE` read FILE's experiments, `chat -c FILE` ./tailorbot.toml's."""
    (tmp_path / "prod.toml").write_text(
        '[experiments.concise_prompt]\nkind = "prompt"\n'
        '[experiments.concise_prompt.variants]\ncontrol = {}\n'
        'concise = { template = "missing.j2" }\n'
    )
    refused = run_cli(["chat", "-c", "prod.toml"], "hi\n", tmp_path, COLUMNS="300")
    assert refused.returncode == 2, refused.stdout
    assert "variant concise: no template 'missing.j2'" in " ".join(refused.stderr.split())


def test_toml_and_env_settings(tmp_path):
    (tmp_path / "tailorbot.toml").write_text(
        'bot_name = "buddy"\ndatabase_url = "sqlite:///x.db"\n'
    )
    result = run_cli(["config"], "", tmp_path, TAILORBOT_BOT_NAME="envbuddy")
    assert "envbuddy" in result.stdout and "sqlite:///x.db" in result.stdout
    # unset, but decided at start: shown as what they come to, not "None"
    assert "x.db.journal (default)" in result.stdout


async def test_scripted_jsonl_and_reactions(core):
    session = TerminalSession(core, "frank")
    stdin = io.StringIO("/consent grant\nTell me about sourdough bread baking at home\n/react 👎\n")
    stdout = io.StringIO()
    assert await run_scripted(session, stdin, stdout, jsonl=True, stderr=io.StringIO()) == 3
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert records[1][0]["purpose"] == "chat" and records[1][0]["reply_id"].startswith("turn:")
    assert "noted your 👎" in records[2][0]["text"]
    assert await count(core, Interest) > 0 and await count(core, Signal) > 0


async def test_react_says_what_a_typed_reaction_did(core):
    """"/react banana" said "(noted your banana …)" though nothing was recorded, and "/react"
    alone counted as 👍 without saying so. A reaction that rates nothing says so; a Slack-style
    alias is the emoji it names."""
    session = TerminalSession(core, "hana")
    lines = ["/react", "/react banana", "/react 👍", "/consent grant",
             "Tell me about sourdough bread baking at home",
             "/react 🍌", "/react :thumbsup:", "/react"]
    stdout = io.StringIO()
    await run_scripted(session, io.StringIO("\n".join(lines) + "\n"), stdout, jsonl=True,
                       stderr=io.StringIO())
    [usage, banana, early, _, _, fruit, alias, bare] = [
        json.loads(line)[0]["text"] for line in stdout.getvalue().splitlines()]
    assert usage == bare == "React to my last reply with one emoji, e.g. /react 👍 or /react 👎."
    assert banana.startswith("“banana” is not an emoji.")
    assert early == "Nothing to react to yet."
    assert fruit.startswith("(🍌 rates nothing: reactions such as 👍 or 👎")
    assert alias == "(noted your 👍 on my last reply)"
    async with core.services.db.session() as db:
        judged = list(await db.exec(select(Feedback)))
    assert [(row.value, row.emoji) for row in judged] == [(1, "👍")]


def test_a_model_s_line_breaks_stay_line_breaks_on_the_console():
    """A digest's bold heading and its first line ran together (a single newline only
    continues a CommonMark paragraph); Slack and Discord keep every break. Code is kept."""
    from rich.console import Console

    from adapters.terminal import renderable

    text = "**Your digest · Saturday**\nNothing new.\nSee you.\n```\nx = 1  # a\ny = 2\n```"
    console = Console(file=io.StringIO(), width=80)
    console.print(renderable(BotReply(text=text, purpose="digest")))
    shown = [line.strip() for line in console.file.getvalue().splitlines() if line.strip()]
    assert shown == ["Your digest · Saturday", "Nothing new.", "See you.", "x = 1  # a", "y = 2"]


async def test_interactive_consent_is_a_numbered_choice_and_quit(core):
    from rich.console import Console

    session = TerminalSession(core, "gina")
    answers = iter(["Tell me about mechanical keyboards and switches", "1", "/quit"])
    console = Console(file=io.StringIO(), width=200)
    await run_interactive(session, console=console, ask=lambda _: next(answers))
    output = console.file.getvalue()
    assert "[1] Allow  [2] Not now" in output
    assert "learn from your messages from now on" in output
    # the terminal notice speaks of this bot, not of channels and colleagues
    assert "colleagues" not in output and "channels" not in output
    assert await count(core, Interest) == 0  # the first message was not learned from…
    assert await count(core, ConversationTurn) == 2  # …but the conversation keeps it


async def test_interactive_text_after_choices_is_an_ordinary_line(core, data_dir):
    """/forget offers Delete/Cancel; typing "/forget confirm" (as the text says) works."""
    from rich.console import Console

    session = TerminalSession(core, "olga")
    answers = iter(
        ["/consent grant", "I like jazz piano", "/export", "/forget", "/forget confirm", "/quit"]
    )
    console = Console(file=io.StringIO(), width=200)
    await run_interactive(session, console=console, ask=lambda _: next(answers))
    output = console.file.getvalue()
    assert "Type /forget confirm" in output and "[1] Delete everything  [2] Cancel" in output
    assert "I deleted everything about you" in output
    assert await count(core, Person) == 0
    assert not list((data_dir / "exports").glob("*.json"))  # /forget removed the export too


async def test_interactive_thumbs_down_records_a_dislike(make_core, fake_llm_server):
    """The buttons under recommendations are a numbered choice: "2" is 👎 on the first item,
    not the last button of the set (which the old y/n question picked for "no")."""
    from rich.console import Console

    core = await make_core(
        AnthropicBackend(
            api_key="k",
            base_url=fake_llm_server.anthropic_base_url,
            max_retries=0,
            timeout_seconds=5,
        )
    )
    items = [
        {"title": title, "topics": ["science fiction"], "reason": f"because {title}"}
        for title in ("Leviathan Wakes", "Blindsight", "Hyperion")
    ]
    fake_llm_server.enqueue(
        "anthropic", FakeReply(text="```json\n" + json.dumps({"items": items}) + "\n```")
    )
    session = TerminalSession(core, "pat")
    await session.send(session.action("consent.grant"))
    answers = iter(["/recommend a sci-fi book", "2", "/quit"])
    console = Console(file=io.StringIO(), width=200)
    await run_interactive(session, console=console, ask=lambda _: next(answers))
    output = console.file.getvalue()
    assert "[1] 👍 1  [2] 👎 1  [3] 👍 2" in output
    assert "Noted, less like that." in output
    async with core.services.db.session() as db:
        rows = {r.title: r.status for r in (await db.exec(select(Recommendation))).all()}
    first = output.split(" 1 ", 1)[1].split(" —", 1)[0]  # the first item, as rendered
    assert f"Noted, less like that. ({first})" in output
    assert rows[first] == "disliked"
    assert [status for title, status in rows.items() if title != first] == ["shown", "shown"]


async def test_interactive_renders_the_models_markdown(core):
    from rich.console import Console

    core.services.llm = ScriptedBackend(["# Plan\n\n**Bold** move and `code`"])
    session = TerminalSession(core, "quinn")
    await session.send(session.action("consent.grant"))
    answers = iter(["hi", "/prefs", "/quit"])
    console = Console(file=io.StringIO(), width=100)
    await run_interactive(session, console=console, ask=lambda _: next(answers))
    output = console.file.getvalue()
    assert "**Bold**" not in output and "Bold move" in output and "# Plan" not in output
    assert "/prefs set <key> <value>" in output  # the bot's own texts stay literal


async def test_chat_grant_flag_non_tty(core):
    stdout = io.StringIO()
    await chat(
        core,
        user="hank",
        grant_consent=True,
        stdin=io.StringIO("I like tea\n"),
        stdout=stdout,
        interactive=False,
    )
    assert stdout.getvalue().count("\n") == 1


async def test_digests_reach_the_running_chat_through_its_outbox(core):
    """While a chat runs, the digest runner finds the terminal's outbox (no delivery of its
    own); a digest sent through it is written into the chat, line for line; it closes with
    the chat."""
    digests = digests_for(core.services)
    found = []

    class Stdin(io.StringIO):
        def readline(self, *args):
            found.append(digests.delivery_for("terminal"))  # while the chat is running
            return super().readline(*args)

    stdout, stderr = io.StringIO(), io.StringIO()
    await chat(core, user="ivy", stdin=Stdin("hello\n"), stdout=stdout, interactive=False,
               stderr=stderr)

    deliver = found[0]
    assert deliver is not None and isinstance(deliver.__self__, TerminalOutbox)
    assert "terminal" not in core.services.outboxes  # closed with the chat
    assert digests.delivery_for("terminal") is None
    answers = stdout.getvalue()
    before = stderr.getvalue()
    ivy = Person(platform="terminal", workspace="local", user_id="ivy")
    await deliver(ivy, [BotReply(text="Your digest\nfor today", purpose="digest"),
                        BotReply(text="• an item", purpose="digest")])
    # scripted: on stderr, so stdout stays one line per input line (input audit)
    assert stderr.getvalue().removeprefix(before) == "Your digest\\nfor today\n• an item\n"
    assert stdout.getvalue() == answers and answers.count("\n") == 1

    # another terminal user's (the journal beside the database file is everyone's): not here
    zed = Person(platform="terminal", workspace="local", user_id="zed")
    with pytest.raises(LookupError):  # refused, so the runner keeps it due (not "sent")
        await deliver(zed, [BotReply(text="Zed's digest", purpose="digest")])
    outbox = deliver.__self__
    replayed = TerminalSession(core, "zed").event_for_line("hello from zed")
    assert not isinstance(replayed, str)
    await outbox.reply(replayed, [BotReply(text="Zed's answer", purpose="chat")])
    assert "Zed" not in stderr.getvalue() + stdout.getvalue()


def test_flatten_is_reversible_for_newlines():
    assert flatten("a\nb\\n") == "a\\nb\\\\n"


def test_prompt_preview_prints_the_exact_prompt(tmp_path):
    run_cli(
        ["chat", "--user", "ivy", "--consent"],
        "I'm into urban gardening and bird watching\n",
        tmp_path,
    )
    shown = run_cli(["prompt", "preview", "--user", "ivy", "-m", "any tips?"], "", tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "=== system (" in shown.stdout and '"urban gardening"' in shown.stdout
    assert "=== user ===\nany tips?" in shown.stdout
    # printed as the model gets it: no line broken at the 80 columns of a pipe
    system = shown.stdout.split("=== user ===")[0]
    longest = max(len(line) for line in system.splitlines())
    assert longest > 80, "the prompt's long lines came out wrapped"
    assert "are\nDATA" not in system  # the line the audit found broken
    summarize = run_cli(["profiles", "summarize"], "", tmp_path)
    assert summarize.returncode == 1 and "No model configured" in summarize.stderr


def test_a_refused_template_stops_the_cli_with_one_line(tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "chat_system.j2").write_text("{% if %}", encoding="utf-8")
    result = run_cli(
        ["chat"], "hi\n", tmp_path, TAILORBOT_PROMPT_TEMPLATES_DIR=str(tmp_path / "tpl")
    )
    assert result.returncode == 2
    assert "Prompt template error" in result.stderr and "chat_system.j2 line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelt_override_is_named_at_start(tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "chat_sytem.j2").write_text("Be brief.", encoding="utf-8")
    result = run_cli(
        ["chat"], "hi\n", tmp_path, TAILORBOT_PROMPT_TEMPLATES_DIR=str(tmp_path / "tpl")
    )
    assert result.returncode == 0, result.stderr  # a warning, not a refusal
    assert ("prompt_templates_dir: chat_sytem.j2 overrides no built-in template"
            in " ".join(result.stderr.split()))


async def test_the_consoles_own_notes_follow_the_persons_language(core):
    """With language=fr, the terminal's own texts (welcome line, choice hint, 'noted your 👍')
    are French, like the core's replies."""
    from rich.console import Console

    session = TerminalSession(core, "hana")
    scripted = io.StringIO()
    stdin = io.StringIO("/consent grant\n/prefs set language fr\n/react 👍\n")
    await run_scripted(session, stdin, scripted, stderr=io.StringIO())
    answers = iter(["Parle-moi des claviers mécaniques", "/react 👍", "/forget", "/quit"])
    console = Console(file=io.StringIO(), width=200)
    await run_interactive(session, console=console, ask=lambda _: next(answers))
    output = console.file.getvalue()
    assert "vous parlez en tant que" in output and "talking as" not in output
    assert "tapez un numéro pour choisir" in output and "type a number" not in output
    assert "j'ai noté votre 👍" in output and "noted your" not in output


def test_users_export_includes_linked_identities_as_export_does(sqlite_url, settings_for, tmp_path):
    """An operator answering a data request got the identity's tables only; the person's own
    /export also carries every identity they linked (here their memory, kept on Slack)."""
    from bot.core import Core
    from bot.llm import ScriptedBackend
    from profiles.db import Database
    from tests.bot.memory.test_links import DISCORD, SLACK, link
    from tests.support.helpers import message

    async def linked() -> None:  # the command runs its own event loop: this one ends first
        core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
        await core.handle(message(SLACK, "remember that my locker code hint is quokkazebra"))
        await link(core)
        await core.aclose()

    asyncio.run(linked())
    exported = run_cli(
        ["users", "export", DISCORD.user_id], "", tmp_path, TAILORBOT_DATABASE_URL=sqlite_url
    )

    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["person"]["platform"] == "discord"
    [other] = data["linked_identities"]
    assert other["person"]["platform"] == "slack"
    assert other["tables"]["memory"][0]["text"] == "my locker code hint is quokkazebra"


def test_a_choice_typed_in_another_script_s_digit_is_no_choice():
    """"፩" is a digit to isdigit() that int() refuses: the chat ended with a traceback."""
    from adapters.terminal import pick
    from bot.events import Button

    choices = [Button("consent.grant", "Allow")]
    assert pick(choices, "፩") is None and pick(choices, "1") is choices[0]


async def test_an_export_replayed_after_an_outage_is_saved(core, tmp_path):
    """/export sent while the database was away is answered when it is back, through the
    chat's outbox: it said "here is everything I store about you" and saved no file (input
    audit). The file is written where /export writes it, and the line says where."""
    found = []

    class Stdin(io.StringIO):
        def readline(self, *args):
            found.append(digests_for(core.services).delivery_for("terminal"))
            return super().readline(*args)

    stderr = io.StringIO()
    await chat(core, user="ivy", stdin=Stdin("hello\n"), stdout=io.StringIO(),
               interactive=False, stderr=stderr)
    outbox = found[0].__self__
    event = TerminalSession(core, "ivy").event_for_line("/export")
    assert not isinstance(event, str)
    before = stderr.getvalue()
    await outbox.reply(event, [BotReply(text="Here is everything I store about you.",
                                        attachment=("export.json", b'{"ivy": 1}'))])
    line = stderr.getvalue().removeprefix(before)
    assert line.startswith("Here is everything I store about you. Saved to ")
    path = Path(line.removeprefix("Here is everything I store about you. Saved to ")
                .strip().removesuffix("."))
    assert await asyncio.to_thread(path.read_bytes) == b'{"ivy": 1}'


async def test_an_export_that_cannot_be_saved_says_so_and_the_chat_goes_on(
    make_core, tmp_path
):
    """A data directory it cannot write (here a file stands where it should be): the line
    says the file was not saved, instead of the delivery failing."""
    blocked = tmp_path / "not-a-directory"
    await asyncio.to_thread(blocked.write_text, "")
    core = await make_core(data_dir=blocked)
    outbox = TerminalOutbox(io.StringIO(), "ivy",
                            save=TerminalSession(core, "ivy").save_attachment)
    event = TerminalSession(core, "ivy").event_for_line("/export")
    assert not isinstance(event, str)
    await outbox.reply(event, [BotReply(text="Here is everything I store about you.",
                                        attachment=("export.json", b"{}"))])
    written = outbox._stdout.getvalue()
    assert "could not be saved" in written and "Saved to" not in written
