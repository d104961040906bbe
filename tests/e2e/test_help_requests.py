"""Help requests end to end: /ask → form → thread, routing DMs, offers, acceptance, closing,
idle care, anonymity, reveal, /capacity, /thanks, /ledger, /facilitate help, through the
local Discord server with the real bot, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest

from bot.localdiscord.driver import DriverError, together
from bot.localdiscord.state import CREATE_PUBLIC_THREADS
from bot.storage.repositories import help_requests as help_repo
from tests.e2e import help_helpers as hh
from tests.e2e.checkin_helpers import all_text_seen, circle_named
from tests.e2e.conftest import World


async def test_anonymous_ask_routes_offers_accepts_resolves_and_never_names_the_asker(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sam, kai, noor = world.sam, world.kai, world.noor
    ida = world.guild.add_member("Ida")
    channel = await hh.circle(world, "Help Circle", sam, kai, noor, ida)
    await hh.capacity(kai, channel, "available", kinds="practical")
    await hh.capacity(ida, channel, "available")
    await hh.capacity(noor, channel, "resting")

    reply = await hh.ask(sam, channel, anonymous=True, what="A ride to my appointment")
    await hh.settle(world)
    thread = hh.thread(channel)
    assert thread.name == "Practical · A ride to my appointment"
    assert sam.id not in thread.member_ids  # never added: Discord would announce it
    opening = hh.opening(thread)
    assert "Someone in the circle asked" in opening.text
    assert "I told 2 member(s)" in reply.text and "anonymous" in reply.text

    # Routed privately to the two with room; the resting member is skipped.
    assert [m for m in kai.dms if "asked for practical help" in m.text]
    assert [m for m in ida.dms if "asked for practical help" in m.text]
    assert not [m for m in noor.dms if "asked for" in m.text]

    offered = await kai.click("I can help", message=opening)
    assert offered.ephemeral and "told privately" in offered.text
    again = await kai.click("I can help", message=opening)  # a double click
    assert "already offered" in again.text
    await hh.settle(world)
    offer_dm = [m for m in sam.dms if "offered to help" in m.text]
    assert len(offer_dm) == 1 and f"<@{kai.id}>" in offer_dm[0].text

    accepted, twice = await together(
        sam.click("Accept", message=offer_dm[0]), sam.click("Accept", message=offer_dm[0])
    )
    assert sorted(["Accepted" in accepted.text, "Accepted" in twice.text]) == [False, True]
    await hh.settle(world)
    assert [m for m in thread.messages if f"<@{kai.id}> is helping" in m.text]
    assert len([m for m in kai.dms if "You're helping with" in m.text]) == 1

    resolved = await sam.click("Resolved", message=opening)
    assert "Resolved" in resolved.text and "/thanks" in resolved.text
    await hh.settle(world)
    assert thread.archived and "Resolved." in thread.messages[-1].text

    # Anonymity: the asker appears nowhere anyone else can see, nor in any log line.
    seen = all_text_seen(world.server, besides=sam)
    assert str(sam.id) not in seen and sam.name not in seen
    assert all(str(sam.id) not in t.name for t in world.guild.threads)
    logged = [r.getMessage() for r in caplog.records]
    assert [line for line in logged if line.startswith("Ask ")]  # the flow was logged…
    assert not [line for line in logged if str(sam.id) in line]  # …without the asker

    # A second click on a closed ask is refused kindly.
    late = await kai.click("I can help", message=opening)
    assert "already closed" in late.text


async def test_reveal_is_recorded_and_the_asker_told(world: World) -> None:
    sam = world.sam
    channel = await hh.circle(world, "Reveal Circle", sam)
    await hh.ask(sam, channel, anonymous=True, kind="emotional", what="Someone to talk to tonight")
    await hh.settle(world)
    circle = await circle_named(world.bot, world.guild.id, "Reveal Circle")
    async with world.bot.resources.db.read() as tx:
        ask_id = int(await tx.scalar("SELECT id FROM help_asks WHERE circle_id = ?", (circle.id,)))
    member_try = await sam.run(
        "/facilitate help reveal", channel=channel, force=True, ask=ask_id, reason="curious"
    )
    assert "Only facilitators" in member_try.text
    short = await world.facilitator.run(
        "/facilitate help reveal", channel=channel, ask=ask_id, reason="x"
    )
    assert "3 to 300 characters" in short.text
    missing = await world.facilitator.run(
        "/facilitate help reveal", channel=channel, ask=ask_id + 999, reason="safety concern"
    )
    assert f"no ask #{ask_id + 999}" in missing.text
    shown = await world.facilitator.run(
        "/facilitate help reveal", channel=channel, ask=ask_id, reason="safety concern"
    )
    assert shown.ephemeral and f"<@{sam.id}>" in shown.text
    await hh.settle(world)
    told = [m for m in sam.dms if "revealed to facilitators" in m.text]
    assert len(told) == 1 and f"<@{world.facilitator.id}>" in told[0].text
    assert "safety concern" in told[0].text
    async with world.bot.resources.db.read() as tx:
        rows = await tx.fetchall("SELECT * FROM help_reveals WHERE ask_id = ?", (ask_id,))
    assert [(r["revealed_by_user_id"], r["requester_id"]) for r in rows] == [
        (world.facilitator.id, sam.id)
    ]


async def test_routing_skips_capped_members_and_spreads_load(world: World) -> None:
    sam, kai, noor = world.sam, world.kai, world.noor
    channel = await hh.circle(world, "Cap Circle", sam, kai, noor)
    await hh.capacity(kai, channel, "limited")  # one help at a time
    await hh.capacity(noor, channel, "available")
    await hh.ask(sam, channel, what="Help moving a sofa")
    await hh.settle(world)
    first = hh.opening(hh.thread(channel))
    await kai.click("I can help", message=first)
    await hh.settle(world)
    await sam.click("Accept", message=[m for m in sam.dms if "offered" in m.text][-1])
    await hh.settle(world)
    before_kai, before_noor = len(kai.dms), len(noor.dms)
    await hh.ask(sam, channel, what="Someone to water plants")
    await hh.settle(world)
    assert len(kai.dms) == before_kai  # at their cap: not told
    assert len(noor.dms) == before_noor + 1


async def test_named_addition_and_bad_input_everywhere(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Input Circle", sam)
    refusals = {
        ("/ask", "kind", "cooking"): "emotional, practical, informational or social",
        ("/capacity", "state", "busy"): "available, limited or resting",
    }
    for (command, option, value), text in refusals.items():
        reply = await sam.run(command, channel=channel, options={option: value})
        assert reply.ephemeral and text in reply.text, reply.describe()
    for options, text in [
        ({"state": "available", "until": "someday"}, "as a date"),
        ({"state": "available", "until": "2001-01-01"}, "not in the future"),
        ({"state": "available", "kinds": "rides"}, "kinds:practical,social"),
    ]:
        reply = await sam.run("/capacity", channel=channel, options=options)
        assert text in reply.text, reply.describe()
    unknown = await sam.run("/ask", channel=channel, kind="social", circle="Nope")
    assert "no circle called" in unknown.text
    # Bounded options are enforced by Discord's client before the bot sees them.
    with pytest.raises(DriverError, match=r"outside 1\.\.2"):
        await sam.run("/capacity", channel=channel, state="available", max_helps=3)
    with pytest.raises(DriverError, match=r"outside 1\.\.30"):
        await world.facilitator.run(
            "/facilitate help settings", channel=channel, circle="Input Circle", idle_days=0
        )
    outsider = await kai.run("/ask", channel=channel, kind="social")
    assert "Join first" in outsider.text
    form = await sam.run("/ask", channel=channel, kind="social")
    blank = await sam.submit(form, what_you_need="   ")
    assert "What you need" in blank.text
    assert not channel.threads  # nothing half-written

    await hh.ask(sam, channel, kind="social", what="Company for a walk")
    await hh.settle(world)
    opening = hh.opening(hh.thread(channel))
    assert f"<@{sam.id}> asked" in opening.text
    not_mine = await world.facilitator.click("Resolved", message=opening)
    assert "Only the person who asked" in not_mine.text
    add = await sam.click("Add to my ask", message=opening)
    assert add.modal is not None
    added = await sam.submit(add, add_to_your_ask="Saturday morning works best")
    assert "Added" in added.text
    await hh.settle(world)
    assert "Saturday morning works best" in hh.thread(channel).messages[-1].text
    withdrawn = await sam.click("Withdraw", message=opening)
    assert "Withdrawn" in withdrawn.text


async def test_open_ask_cap_refuses_kindly(world: World) -> None:
    sam = world.sam
    channel = await hh.circle(world, "Many Circle", sam)
    for n in range(3):
        await hh.ask(sam, channel, what=f"Ask number {n}", when=None)
    refused = await sam.run("/ask", channel=channel, kind="practical")
    assert refused.ephemeral and refused.modal is None and "3 open asks" in refused.text


async def test_idle_care_asks_then_closes_and_a_crisis_ask_is_never_auto_closed(
    world: World,
) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Idle Circle", sam, kai)
    await hh.ask(sam, channel, what="Help with a form", when=None)
    crisis = await hh.ask(sam, channel, kind="emotional", what="I want to kill myself", when=None)
    assert any("988" in m.text or "lines" in m.text.lower() for m in crisis.messages[1:]), (
        crisis.describe()
    )
    await hh.settle(world)
    quiet, flagged = channel.threads[-2], channel.threads[-1]
    await world.advance(timedelta(days=3, minutes=1))
    care = [m for m in sam.dms if "Do you still need this?" in m.text]
    assert len(care) == 2
    await world.advance(timedelta(days=3, minutes=1))
    assert quiet.archived and "quiet spell" in quiet.messages[-1].text
    assert not flagged.archived  # offered the card again instead
    assert len([m for m in sam.dms if "Do you still need this?" in m.text]) == 3
    kept = await sam.click(
        "Yes, keep it open", message=[m for m in sam.dms if "still need" in m.text][-1]
    )
    assert "Kept open" in kept.text


async def test_a_member_who_left_has_their_open_ask_closed_at_care_time(world: World) -> None:
    sam = world.sam
    channel = await hh.circle(world, "Leave Circle", sam)
    await hh.ask(sam, channel, anonymous=True, what="Borrow a drill")
    await hh.settle(world)
    world.guild.remove_member(sam)
    await world.advance(timedelta(days=3, minutes=1))
    thread = hh.thread(channel)
    assert thread.archived and "no longer in the server" in thread.messages[-1].text


async def test_idle_care_while_the_bot_is_out_of_the_server_does_not_close_as_left(
    world: World,
) -> None:
    """Removed from the server (and invited back within the grace period), the bot cannot
    tell whether an asker left: their ask stays open and idle care resumes on its return."""
    sam = world.sam
    channel = await hh.circle(world, "Away Circle", sam)
    await hh.ask(sam, channel, what="Borrow a ladder")
    await hh.settle(world)
    await world.server.remove_bot_from_guild(world.guild)
    await world.server.wait_for(lambda: world.bot.get_guild(world.guild.id) is None)
    await world.advance(timedelta(days=3, minutes=1))  # care comes due while it is away
    circle = await circle_named(world.bot, world.guild.id, "Away Circle")
    async with world.bot.resources.db.read() as tx:
        rows = await tx.fetchall(
            "SELECT outcome, closed_at FROM help_asks WHERE circle_id = ?", (circle.id,)
        )
    assert [(r["outcome"], r["closed_at"]) for r in rows] == [(None, None)]
    await world.server.invite_bot_to_guild(world.guild)
    await world.server.wait_for(lambda: world.bot.get_guild(world.guild.id) is not None)
    await world.advance(timedelta(days=1, minutes=1))
    assert [m for m in sam.dms if "Do you still need this?" in m.text]
    assert "no longer in the server" not in "\n".join(m.text for m in hh.thread(channel).messages)


async def test_an_offer_on_the_ask_of_a_member_who_left_closes_it(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Gone Circle", sam, kai)
    await hh.ask(sam, channel, anonymous=True, what="Return a library book")
    await hh.settle(world)
    first = hh.opening(hh.thread(channel))
    world.guild.remove_member(sam)
    offered = await kai.click("I can help", message=first)
    assert "told privately" in offered.text
    await hh.settle(world)
    assert not [m for m in sam.dms if "offered to help" in m.text]
    thread = hh.thread(channel)
    assert thread.archived and "no longer in the server" in thread.messages[-1].text
    assert str(sam.id) not in "\n".join(m.text for m in thread.messages)


async def test_thanks_ledger_balance_and_channels(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Thanks Circle", sam, kai)
    gratitude = world.guild.create_text_channel("gratitude")
    set_reply = await world.facilitator.run(
        "/facilitate circle gratitude-channel",
        channel=channel,
        circle="Thanks Circle",
        options={"channel": gratitude},
    )
    assert "thank-yous are posted" in set_reply.text
    helps = world.guild.create_text_channel("asks")
    set_help = await world.facilitator.run(
        "/facilitate circle help-channel",
        channel=channel,
        circle="Thanks Circle",
        options={"channel": helps},
    )
    assert "Asks open their threads" in set_help.text
    await hh.capacity(kai, channel, "available")
    await hh.ask(sam, channel, what="Read over a letter")
    await hh.settle(world)
    opening = hh.opening(hh.thread(helps))
    await kai.click("I can help", message=opening)
    await hh.settle(world)
    await sam.click("Accept", message=[m for m in sam.dms if "offered" in m.text][-1])
    resolved = await sam.click("Resolved", message=opening)
    await hh.settle(world)
    log_form = await sam.click("Log time with helper 1", message=resolved)
    bad = await sam.submit(log_form, how_much_time="forever")
    assert "30m, 1h or 1h30m" in bad.text
    one = await sam.submit(log_form, how_much_time="45m")
    assert "once the other side confirms" in one.text
    helper_dm = [m for m in kai.dms if "was resolved" in m.text][-1]
    helper_form = await kai.click("Log time", message=helper_dm)
    both = await kai.submit(helper_form, how_much_time="1h")
    assert "45 minutes count" in both.text

    thanked = await sam.run("/thanks", channel=channel, member=kai, note="for the careful read")
    assert "Thanks posted" in thanked.text
    assert "for the careful read" in gratitude.messages[-1].text
    again = await sam.run("/thanks", channel=channel, member=kai)
    assert "already thanked them today" in again.text
    myself = await sam.run("/thanks", channel=channel, member=sam)
    assert "someone else" in myself.text
    private = await kai.run("/thanks", channel=channel, member=sam, private=True, note="x")
    assert "Sent privately" in private.text
    assert "A private thank-you" in sam.dms[-1].text

    kai_ledger = await kai.run("/ledger", channel=channel)
    assert "given: **45 min**" in kai_ledger.text and "received: **0 min**" in kai_ledger.text
    sam_ledger = await sam.run("/ledger", channel=channel)
    assert "received: **45 min**" in sam_ledger.text

    balance = await world.facilitator.run(
        "/facilitate help balance", channel=channel, circle="Thanks Circle"
    )
    assert f"<@{kai.id}>: 0 ask(s), 1 help(s)" in balance.text
    assert f"<@{sam.id}>: 1 ask(s), 0 help(s)" in balance.text


async def test_export_and_delete_of_an_anonymous_asker(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Erase Circle", sam, kai)
    await hh.capacity(kai, channel, "available")
    await hh.ask(sam, channel, anonymous=True, what="A lift to the station")
    await hh.settle(world)
    await kai.click("I can help", message=hh.opening(hh.thread(channel)))
    await hh.settle(world)
    kai_export = await kai.run("/privacy export", channel=channel)
    kai_data = kai_export.files[0].content.decode()
    assert "help_offers" in kai_data and str(sam.id) not in kai_data
    sam_export = await sam.run("/privacy export", channel=channel)
    sam_data = json.loads(sam_export.files[0].content)
    assert sam_data["tables"]["help_asks"][0]["what"] == "A lift to the station"
    confirm = await sam.run("/privacy delete", channel=channel)
    await sam.click("Erase everything", message=confirm)
    await hh.settle(world)
    thread = hh.thread(channel)
    assert "This ask was withdrawn." in thread.messages[-1].text and thread.archived
    async with world.bot.resources.db.read() as tx:
        assert await help_repo.open_ask_count(tx, sam.id) == 0


async def test_more_bad_input_and_the_safety_net_on_an_anonymous_addition(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Edge Circle", sam, kai)
    long_note = await sam.run("/thanks", channel=channel, member=kai, note="x" * 501)
    assert "the limit is 500" in long_note.text
    nowhere = await world.facilitator.run(
        "/facilitate help balance", channel=channel, circle="Nope"
    )
    assert "no circle called" in nowhere.text
    closed = world.guild.create_text_channel("no-threads")
    closed.deny_bot(CREATE_PUBLIC_THREADS)
    refused = await world.facilitator.run(
        "/facilitate circle help-channel",
        channel=channel,
        circle="Edge Circle",
        options={"channel": closed},
    )
    assert "I can't use" in refused.text and "Create Public Threads" in refused.text

    await hh.ask(sam, channel, what="Company at the hospital")  # named
    await hh.ask(kai, channel, what="Someone to talk to", anonymous=True, kind="emotional")
    await hh.settle(world)
    _named, anonymous = channel.threads
    async with world.bot.resources.db.read() as tx:
        named_id = await tx.scalar(
            "SELECT id FROM help_asks WHERE requester_id = ? AND closed_at IS NULL", (sam.id,)
        )
    not_anonymous = await world.facilitator.run(
        "/facilitate help reveal", channel=channel, ask=named_id, reason="checking"
    )
    assert "is not anonymous" in not_anonymous.text

    add = await kai.click("Add to my ask", message=hh.opening(anonymous))
    blank = await kai.submit(add, add_to_your_ask="   ")
    assert "Add to your ask" in blank.text
    add = await kai.click("Add to my ask", message=hh.opening(anonymous))
    heavy = await kai.submit(add, add_to_your_ask="Honestly I want to end my life")
    assert "Added anonymously" in heavy.text
    assert heavy.followups and heavy.followups[-1].embeds, heavy.describe()  # the crisis card
    await hh.settle(world)
    kept = anonymous.messages[-1].text
    assert "The asker added" in kept and "end my life" in kept and str(kai.id) not in kept
    not_theirs = await sam.click("Add to my ask", message=hh.opening(anonymous))
    assert not_theirs.modal is not None  # a form can't wait; the submit checks whose ask it is
    refused_add = await sam.submit(not_theirs, add_to_your_ask="hello")
    assert "Only the person who asked" in refused_add.text
    assert "hello" not in anonymous.messages[-1].text


async def test_see_offers_when_dms_are_closed_and_circle_settings(world: World) -> None:
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Quiet Circle", sam, kai)
    settings = await world.facilitator.run(
        "/facilitate help settings",
        channel=channel,
        circle="Quiet Circle",
        idle_days=5,
        time_bank=False,
    )
    assert "after 5 quiet day(s); time bank off" in settings.text
    sam.dms_closed = True
    try:
        await hh.ask(sam, channel, anonymous=True, what="Someone to feed my cat")
        await hh.settle(world)
        first = hh.opening(hh.thread(channel))
        empty = await sam.click("See offers", message=first)
        assert "No offers yet" in empty.text
        await kai.click("I can help", message=first)
        await hh.settle(world)
        assert not sam.dms  # closed: the offer waits in See offers
        offers = await sam.click("See offers", message=first)
        assert f"<@{kai.id}> offered" in offers.text
        accepted = await sam.click("Accept offer 1", message=offers)
        assert "Accepted" in accepted.text
        not_theirs = await kai.click("See offers", message=first)
        assert "Only the person who asked" in not_theirs.text
        resolved = await sam.click("Resolved", message=first)
        assert not resolved.buttons  # time bank off: nothing to log
        await world.advance(timedelta(days=4))
    finally:
        sam.dms_closed = False


async def test_thanks_whose_post_is_held_up_is_still_answered_in_time(world: World) -> None:
    """Found by the simulated year: /thanks waited for its post before answering at all, so a
    post queued behind the channel's rate limit made Discord refuse the answer (10062)."""
    sam, kai = world.sam, world.kai
    channel = await hh.circle(world, "Slow Thanks", sam, kai)
    hold = world.server.hold(
        "POST /channels/{channel_id}/messages",
        match=lambda body: "for the soup" in json.dumps(body),
    )
    thanking = asyncio.create_task(
        sam.run("/thanks", channel=channel, member=kai, note="for the soup", timeout=15.0)
    )
    try:
        await hold.wait_caught(10.0)
        await asyncio.sleep(3.5)  # the post stays held past Discord's deadline
    finally:
        hold.release()
    thanked = await thanking
    assert thanked.deferred  # acknowledged at once, answered when the post went out
    assert thanked.interaction.callback_at is not None
    assert thanked.interaction.callback_at - thanked.interaction.created < 3.0
    assert "Thanks posted" in thanked.text


async def test_a_channel_the_bot_has_not_seen_yet_gets_a_clear_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    channel = await hh.circle(world, "Unseen Circle", world.sam)
    # Made in the server's state without CHANNEL_CREATE: Discord resolves the option, but the
    # bot has not heard of the channel yet (as when the event is still on its way).
    unseen = world.server.state.new_channel(world.guild.record, "asks-new")
    reply = await world.facilitator.run(
        "/facilitate circle help-channel",
        channel=channel,
        circle="Unseen Circle",
        options={"channel": world.server.channel(unseen.id)},
    )
    assert reply.ephemeral, reply.describe()
    assert "can't see that channel yet" in reply.text and "channel:#" in reply.text
    assert "Unhandled error" not in caplog.text
    circle = await circle_named(world.bot, world.guild.id, "Unseen Circle")
    async with world.bot.resources.db.read() as tx:
        assert (await help_repo.settings(tx, circle.id)).help_channel_id is None  # nothing set
