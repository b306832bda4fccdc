"""/digest — a scheduled personal digest: status, subscribe, unsubscribe, preview, sources,
and the "more / less like this" buttons on each item (``digest.more`` / ``digest.less``)."""

from __future__ import annotations

import re

from babel.dates import format_datetime

from bot import lifecycle
from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    command,
    parse_row_id,
    usage_error,
    usage_lines,
)
from bot.consent import consent_buttons
from bot.digest import store
from bot.digest.feeds import FeedError, check_url
from bot.digest.schedule import CADENCES, DEFAULT_TIME, Schedule, parse_preference
from bot.digest.service import NOT_ALLOWED, DigestService, NotAllowed, digests_for
from bot.events import ActionEvent, Reply
from bot.i18n import N_, join
from bot.profile_texts import preference_error
from profiles.engine import FEEDBACK_TOPIC_DELTA
from profiles.preferences import PreferenceError

_TIME = re.compile(r"^\d{1,2}:\d{2}$")


@command("digest")
async def digest(ctx: CommandContext, args: list[str]) -> list[Reply]:
    service = digests_for(ctx.services)
    action = args[0].lower() if args else "status"
    if action == "status":
        return [ctx.reply(await status(ctx, service))]
    if action == "subscribe":
        return await subscribe(ctx, args[1:])
    if action in ("unsubscribe", "off", "stop"):
        return await unsubscribe(ctx)
    if action == "preview":
        return await preview(ctx, service)
    if action == "sources":
        return await sources(ctx, service, args[1:])
    if action in ("more", "less"):
        value = args[1] if len(args) > 1 else ""
        if not value and isinstance(ctx.event, ActionEvent):
            value = ctx.event.value  # the button carries the item id
        return await feedback(ctx, value, 1 if action == "more" else -1, action)
    raise usage_error(REGISTRY["digest"])


async def _allowed(ctx: CommandContext) -> bool:
    consent = await ctx.engine.consent(ctx.session, ctx.person_id)
    return await ctx.engine.may_learn_in(ctx.session, ctx.person, consent)


def _consent_needed(ctx: CommandContext) -> list[Reply]:
    return [
        ctx.reply(
            ctx.t(NOT_ALLOWED),
            buttons=consent_buttons(ctx.person.platform, ctx.locale),
            purpose="consent_needed",
        )
    ]


_LAST_STATUS = {
    "sent": N_("sent"),
    "empty": N_("nothing new, not sent"),
    "failed": N_("failed"),
}


async def _when(schedule: Schedule, ctx: CommandContext) -> str:
    """The next digest that will really be sent: a period whose digest was already built
    (sent, or found empty) gets no second one, so a time still ahead today is not it — it
    said "today 23:24" after today's run, and nothing came (operations audit)."""
    moment = schedule.next_fire(ctx.now)
    for _ in range(3):
        if moment is None or not await store.existing_periods(
            ctx.session, [(ctx.person_id, schedule.period_key(moment))]
        ):
            break
        moment = schedule.next_fire(moment)
    if moment is None:
        return ctx.t("not scheduled")
    return format_datetime(
        moment.astimezone(schedule.zone), "EEEE d MMMM, HH:mm", locale=ctx.locale
    )


async def status(ctx: CommandContext, service: DigestService) -> str:
    subscription = await store.subscription(ctx.session, ctx.person_id)
    prefs = await ctx.engine.preferences(ctx.session, ctx.person_id, ctx.now)
    if subscription is None:
        lines = [ctx.t("You're not subscribed to a digest.")]
        wanted = parse_preference(prefs.get("digest"), prefs.get("timezone"))
        if wanted is not None and not await _allowed(ctx):
            lines.append(ctx.t(
                "Your preference says {schedule}, but I need your consent to personalise "
                "anything (/consent grant).", schedule=wanted.describe(ctx.locale)))
        lines.append(ctx.t(
            "/digest subscribe [daily|weekdays|weekly] [HH:MM] — e.g. /digest subscribe "
            "weekdays 07:30. Times are in your timezone ({timezone}; change it with /prefs "
            "set timezone …).", timezone=prefs.get("timezone")))
        return "\n".join(lines)
    schedule = store.schedule_of(subscription)
    lines = [
        ctx.t("Your digest: {schedule}. Next one: {when}.",
              schedule=schedule.describe(ctx.locale), when=await _when(schedule, ctx)),
    ]
    last = await store.last_run(ctx.session, ctx.person_id)
    if last is None:
        lines.append(ctx.t("No digest sent yet."))
    else:
        when = store.as_utc(last.sent_at or last.scheduled_for).astimezone(schedule.zone)
        status = _LAST_STATUS.get(last.status)
        lines.append(ctx.nt(
            "Last one ({period}): {status}, {n} item, {when}.",
            "Last one ({period}): {status}, {n} items, {when}.",
            last.item_count, period=last.period_key,
            status=ctx.t(status) if status else last.status, when=f"{when:%Y-%m-%d %H:%M}"))
    labels = join((ctx.t(s.label) for s in service.sources), ctx.locale)
    lines.append(ctx.t("Sources: {sources} (/digest sources).", sources=labels))
    lines.append(ctx.t("/digest preview shows one now; /digest unsubscribe stops it."))
    return "\n".join(lines)


async def subscribe(ctx: CommandContext, words: list[str]) -> list[Reply]:
    if not await _allowed(ctx):
        return _consent_needed(ctx)
    cadence: str | None = None
    time: str | None = None
    for word in words:
        if word.lower() in CADENCES:
            cadence = word.lower()
        elif _TIME.match(word):
            time = word
        else:
            raise CommandError(N_("I didn't understand “{word}”. Usage: {usage}"), word=word,
                               usage=lambda locale: usage_lines(REGISTRY["digest"], locale))
    current = await store.subscription(ctx.session, ctx.person_id)
    value = (
        f"{cadence or (current.cadence if current else 'daily')} "
        f"{time or (current.time if current else DEFAULT_TIME)}"
    )
    try:
        clean = await ctx.engine.set_preference(
            ctx.session, ctx.person_id, "digest", value, at=ctx.now
        )
    except PreferenceError as exc:
        raise CommandError(N_("{error}. e.g. /digest subscribe weekdays 07:30"),
                           error=preference_error(exc)) from exc
    prefs = await ctx.engine.preferences(ctx.session, ctx.person_id, ctx.now)
    schedule = parse_preference(clean, prefs.get("timezone"))
    assert schedule is not None
    await store.save_subscription(
        ctx.session,
        ctx.person_id,
        schedule,
        platform=ctx.person.platform,
        channel_id=current.channel_id if current else "",
        now=ctx.now,
    )
    # The preference hook moves the job once this command has committed.
    lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, "digest")
    return [
        ctx.reply(ctx.t(
            "Subscribed: {schedule}. Your next digest: {when}. Each item says why I picked "
            "it, with buttons to get more or less like it. /digest preview shows one now; "
            "/digest unsubscribe stops it.",
            schedule=schedule.describe(ctx.locale), when=await _when(schedule, ctx)))
    ]


async def unsubscribe(ctx: CommandContext) -> list[Reply]:
    existed = await store.drop_subscription(ctx.session, ctx.person_id)
    await ctx.engine.set_preference(ctx.session, ctx.person_id, "digest", "off", at=ctx.now)
    lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, "digest")
    if not existed and not ctx.replayed:  # replayed: it was this command that dropped it
        return [ctx.reply(ctx.t("You weren't subscribed; your digest preference is now off."))]
    return [ctx.reply(ctx.t("Unsubscribed: no more digests. /digest subscribe brings them "
                            "back."))]


async def preview(ctx: CommandContext, service: DigestService) -> list[Reply]:
    """Built now, shown only to the person, nothing marked as sent. With a model, the
    writing happens after this command's transaction (a model call must never hold
    database locks) and the preview is delivered when ready."""
    if not await _allowed(ctx):
        return _consent_needed(ctx)
    services, person, event, locale = ctx.services, ctx.person, ctx.event, ctx.locale
    delivery = service.delivery_for(person.platform)
    later = services.deliver is not None or delivery is not None
    if services.llm.configured and later:

        async def work() -> None:
            replies = await service.preview(person, locale=locale)
            if services.deliver is not None:
                await services.deliver(event, replies)
            elif delivery is not None:
                await delivery(person, replies)

        service.after_event(person, work)
        return [ctx.reply(ctx.t("Putting a preview of your digest together; it'll be here in "
                                "a moment."))]

    async def build() -> list[Reply]:
        try:
            return await service.preview(person, use_model=False, locale=locale)
        except NotAllowed:
            return _consent_needed(ctx)

    # After the commit, like a model call: the sources read in tasks of their own, which on
    # SQLite would queue behind this command's write transaction until they time out.
    ctx.defer(build)
    return []


async def sources(ctx: CommandContext, service: DigestService, words: list[str]) -> list[Reply]:
    action = words[0].lower() if words else "list"
    settings = ctx.services.settings
    if action in ("add", "remove"):
        if len(words) != 2:
            raise CommandError(
                N_("Say which feed, e.g. /digest sources {action} https://example.org/feed.xml"),
                action=action,
            )
        try:
            url = check_url(words[1], allow_private=settings.digest_feeds_allow_private_hosts)
        except FeedError as exc:
            raise CommandError(N_("I can't use that feed: {error}."), error=exc.text) from exc
        if action == "remove":
            removed = await store.remove_person_feed(ctx.session, ctx.person_id, url)
            # replayed: it was this command that removed it
            return [ctx.reply(ctx.t("Removed.") if removed or ctx.replayed
                              else ctx.t("That feed wasn't in your list."))]
        mine = await store.person_feeds(ctx.session, ctx.person_id)
        if len(mine) >= settings.digest_max_personal_feeds:
            raise CommandError(N_("You already have {n} feeds (the limit). Remove one first."),
                               n=len(mine))
        added = await store.add_person_feed(ctx.session, ctx.person_id, url, at=ctx.now)
        return [
            ctx.reply(
                ctx.t("Added {url} to your digest sources.", url=url)
                if added
                else ctx.t("That feed is already in your list.")
            )
        ]
    if action != "list":
        raise usage_error(REGISTRY["digest"])
    shared = await store.workspace_feeds(ctx.session, ctx.person.platform, ctx.person.workspace)
    mine = await store.person_feeds(ctx.session, ctx.person_id)
    none = ctx.t("none")
    lines = [ctx.t("Where your digest items come from:")]
    for source in service.sources:
        lines.append(f"• {ctx.t(source.label)}")
        if source.name == "channels":
            lines.append("  " + ctx.t(
                "(only from people who allow it; private channels only if you posted there)"))
        if source.name == "rss":
            lines.append("  " + ctx.t("workspace feeds: {feeds}",
                                      feeds=", ".join(f.url for f in shared) or none))
            lines.append("  " + ctx.t("your feeds: {feeds}",
                                      feeds=", ".join(f.url for f in mine) or none))
    lines.append(ctx.t(
        "Add or remove your own feed with /digest sources add <url> or /digest sources "
        "remove <url>."
    ))
    return [ctx.reply("\n".join(lines))]


async def feedback(ctx: CommandContext, raw_id: str, value: int, action: str = "more"
                   ) -> list[Reply]:
    """ "More / less like this": the item's topics gain or lose weight in the profile, and
    the press counts as engagement with that item. A button sends the item's row id; a typed
    number is the position shown in the latest digest ("**2. …**"): it was read as a row id,
    so ``/digest more 2`` judged another digest's item, or none (input audit)."""
    item_id = parse_row_id(raw_id)
    if item_id is None:
        # the example is the command typed: "/digest less" suggested "/digest more" (input audit)
        raise CommandError(N_("Which digest item? Give its number, e.g. /digest {action} 2"),
                           action=action)
    item = (
        await store.item_of(ctx.session, ctx.person_id, item_id)
        if isinstance(ctx.event, ActionEvent)
        else await store.item_at(ctx.session, ctx.person_id, item_id)
    )
    if item is None:
        return [ctx.reply(ctx.t("That digest item is no longer available."), purpose="error")]
    if not await _allowed(ctx):
        return [
            ctx.reply(ctx.t(
                "I'm not learning from you right now, so I can't adjust your digest. "
                "/consent grant turns it back on."
            ))
        ]
    delta = value - item.feedback
    if delta == 0:
        noted = (N_("Already noted: more like “{title}”.") if value > 0
                 else N_("Already noted: less like “{title}”."))
        return [ctx.reply(ctx.t(noted, title=item.title), purpose="ack")]
    topics = list(item.topics) or [t for t, _ in ctx.services.extractor.extract(item.title).topics]
    await ctx.engine.add_interests(
        ctx.session,
        ctx.person_id,
        [(topic, FEEDBACK_TOPIC_DELTA * delta) for topic in topics[:5]],
        at=ctx.now,
        evidence=0,
        positive=int(value > 0) - int(item.feedback > 0),
        negative=int(value < 0) - int(item.feedback < 0),
    )
    item.feedback = value
    item.engaged_at = item.engaged_at or ctx.now
    ctx.session.add(item)
    if topics:
        got = (N_("Got it: more like “{title}” ({topics}).") if value > 0
               else N_("Got it: less like “{title}” ({topics})."))
    else:
        got = (N_("Got it: more like “{title}”.") if value > 0
               else N_("Got it: less like “{title}”."))
    return [ctx.reply(ctx.t(got, title=item.title, topics=", ".join(topics[:3])), purpose="ack")]
