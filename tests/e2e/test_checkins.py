"""`/checkin …`, the Check in button and its modal, end to end through the local server.

Tests in this module share one server and bot: each uses its own circle, channel and,
where per-member state matters (reminders, pauses, history), its own members. Every test
closes the rounds it opens, so moving the clock never touches another test's round.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.domain.circles import Round
from bot.localdiscord import Channel, Member, Reply
from bot.localdiscord.state import Message
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import dm_status
from bot.storage.repositories import jobs as jobs_repo
from cogs.checkins._cog import DMS_CLOSED_NOTICE
from tests.e2e.checkin_helpers import (
    all_text_seen,
    answers_of,
    check_in,
    circle_named,
    create_circle,
    join,
    member_ids,
    open_round,
    round_message,
)
from tests.e2e.conftest import World

FACILITATOR_REFUSAL = "Only facilitators can do that"


async def _circle_with(world: World, name: str, *members: Member) -> Channel:
    channel = world.guild.create_text_channel(name.lower().replace(" ", "-"))
    await create_circle(world.facilitator, name, channel)
    for member in members:
        await join(member, name, channel)
    return channel


async def _open(world: World, name: str, channel: Channel) -> tuple[Round, Message]:
    reply = await world.facilitator.run("/facilitate checkin now", circle=name, channel=channel)
    assert reply.ephemeral, reply.describe()
    assert reply.content.startswith(f"Opened a round in <#{channel.id}>; it closes <t:")
    round_ = await open_round(world.bot, await circle_named(world.bot, world.guild.id, name))
    assert round_ is not None and round_.message_id is not None
    return round_, round_message(channel, round_)


async def _close(world: World, name: str, channel: Channel) -> str:
    before = len(channel.messages)
    reply = await world.facilitator.run("/facilitate checkin close", circle=name, channel=channel)
    assert reply.ephemeral, reply.describe()
    assert reply.content.endswith(f"the summary is posted in <#{channel.id}>.")
    posted = channel.messages[before:]
    assert posted, "no summary posted"
    return "\n".join(m.text for m in posted)


async def _followup(reply: Reply) -> Message:
    """The last followup of a reply, waiting for one if none came yet."""
    return reply.followups[-1] if reply.followups else await reply.next_followup()


def _member(world: World, name: str) -> Member:
    return world.guild.add_member(name)


# -- /facilitate checkin schedule -------------------------------------------------------------------


async def test_schedule_refuses_every_malformed_value_with_an_example(world: World) -> None:
    channel = await _circle_with(world, "Sched Circle")
    circle = await circle_named(world.bot, world.guild.id, "Sched Circle")
    cases = {
        ("mon,thu", "25:00", None): ("'25:00' is not a time on a clock", "time:19:00"),
        (",", "19:00", None): ("Say which days the round runs.", "days:mon,thu"),
        ("funday", "19:00", None): ("funday", "days:mon,thu"),
        ("mon,thu", "19:00", "0h"): ("between 15 minutes and 7 days", "close_after:12h"),
        ("mon,thu", "19:00", "soon"): ("as a length of time", "close_after:12h"),
        ("mon,thu", "teatime", None): ("as a time of day", "time:19:00"),
        ("mon,tue", "19:00", "2d"): ("still be open when the next one starts", "close_after:24h"),
        ("mon,thu", None, None): ("Add the time rounds open", "time:19:00"),
    }
    for (days, time, close_after), (problem, example) in cases.items():
        options = {"circle": "Sched Circle", "days": days}
        if time is not None:
            options["time"] = time
        if close_after is not None:
            options["close_after"] = close_after
        reply = await world.facilitator.run(
            "/facilitate checkin schedule", channel=channel, options=options
        )
        assert reply.ephemeral, reply.describe()
        assert problem in reply.content, (days, time, close_after, reply.content)
        assert "For example: " in reply.content and example in reply.content, reply.content
    assert (await circle_named(world.bot, world.guild.id, "Sched Circle")).schedule is None
    async with world.bot.resources.db.read() as tx:
        assert await jobs_repo.get(tx, f"checkin-open:{circle.id}") is None

    unknown = await world.facilitator.run(
        "/facilitate checkin schedule", circle="Nope", days="mon", time="19:00", channel=channel
    )
    assert unknown.ephemeral and "There is no circle called “Nope”" in unknown.content


async def test_schedule_stores_the_round_and_off_clears_it(world: World) -> None:
    channel = await _circle_with(world, "Weekly Circle")
    reply = await world.facilitator.run(
        "/facilitate checkin schedule",
        circle="Weekly Circle",
        days="mon,thu",
        time="7pm",
        close_after="12h",
        channel=channel,
    )
    assert reply.ephemeral
    assert re.fullmatch(
        r"\*\*Weekly Circle\*\*: Mon and Thu at 19:00 \(UTC\), open 12h\. "
        r"Next round <t:(\d+):f> \(<t:\1:R>\)\.",
        reply.content,
    ), reply.content
    circle = await circle_named(world.bot, world.guild.id, "Weekly Circle")
    assert circle.schedule is not None
    assert (circle.schedule.days, f"{circle.schedule.time:%H:%M}") == ((0, 3), "19:00")
    assert circle.schedule.close_after == timedelta(hours=12)
    async with world.bot.resources.db.read() as tx:
        job = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert job is not None
    assert job.run_at == circle.schedule.next_open_after(world.clock.now())

    off = await world.facilitator.run(
        "/facilitate checkin schedule", circle="Weekly Circle", days="off", channel=channel
    )
    assert off.ephemeral and off.content.startswith(
        "Scheduled rounds of **Weekly Circle** are off."
    )
    assert (await circle_named(world.bot, world.guild.id, "Weekly Circle")).schedule is None
    async with world.bot.resources.db.read() as tx:
        assert await jobs_repo.get(tx, f"checkin-open:{circle.id}") is None
    assert channel.messages == []


async def test_facilitator_round_commands_are_refused_to_members_at_run_time(
    world: World,
) -> None:
    channel = await _circle_with(world, "Guarded Circle", world.sam)
    circle = await circle_named(world.bot, world.guild.id, "Guarded Circle")
    attempts = [
        (
            "/facilitate checkin schedule",
            {"circle": "Guarded Circle", "days": "mon", "time": "19:00"},
        ),
        ("/facilitate checkin schedule", {"circle": "Guarded Circle", "days": "off"}),
        ("/facilitate checkin now", {"circle": "Guarded Circle"}),
        ("/facilitate checkin close", {"circle": "Guarded Circle"}),
    ]
    for command, options in attempts:
        reply = await world.sam.run(command, channel=channel, force=True, options=options)
        assert reply.ephemeral and reply.content.startswith(FACILITATOR_REFUSAL), command
    assert (await circle_named(world.bot, world.guild.id, "Guarded Circle")).schedule is None
    assert await open_round(world.bot, circle) is None
    assert channel.messages == []


async def test_now_and_close_refuse_a_second_round_and_a_missing_one(world: World) -> None:
    channel = await _circle_with(world, "Twice Circle")
    nothing = await world.facilitator.run(
        "/facilitate checkin close", circle="Twice Circle", channel=channel
    )
    assert nothing.ephemeral
    assert nothing.content.startswith("“Twice Circle” has no open round to close.")
    await _open(world, "Twice Circle", channel)
    again = await world.facilitator.run(
        "/facilitate checkin now", circle="Twice Circle", channel=channel
    )
    assert again.ephemeral and "already has an open round. Close it first." in again.content
    assert len(channel.messages) == 1  # one prompt only
    summary = await _close(world, "Twice Circle", channel)
    assert "**0** checked in" in summary


# -- answering and privacy ---------------------------------------------------------------


async def test_a_round_answers_and_a_summary_that_keeps_each_choice(world: World) -> None:
    sam, kai, noor = _member(world, "Sam2"), _member(world, "Kai2"), _member(world, "Noor2")
    outsider, neighbour = _member(world, "Outsider"), _member(world, "Neighbour")
    channel = await _circle_with(world, "Privacy Circle", sam, kai, noor)
    other = await _circle_with(world, "Neighbour Circle", neighbour)
    round_, prompt = await _open(world, "Privacy Circle", channel)

    # The prompt: in the channel, public, with the persistent Check in button.
    assert prompt.buttons == ["Check in"]
    assert not prompt.ephemeral
    assert prompt.embeds[0]["title"] == "Check-in — Privacy Circle"
    assert prompt.embeds[0]["description"] == f"**{round_.prompt}**"
    assert prompt.components[0]["components"][0]["custom_id"] == f"checkin:{round_.id}"

    # Non-members, including members of another circle, are told how to join.
    for stranger in (outsider, neighbour):
        refused = await stranger.click("Check in", message=prompt)
        assert refused.modal is None and refused.ephemeral
        assert refused.content.startswith("Check-ins in “Privacy Circle” are for its members.")
        assert "For example: /circle join circle:Privacy Circle" in refused.content
    assert other.messages == []

    # Sam shares with the circle, then changes the answer.
    first = await check_in(sam, prompt, mood="3 okay", note="First try", who_sees_this="the circle")
    assert first.startswith("Thank you. Your check-in is saved: 3 okay, seen by the circle.")
    again = await check_in(
        sam, prompt, mood="4", note="Glad to be here tonight", who_sees_this="circle"
    )
    assert again.startswith("Thank you. Your check-in is updated: 4 good, seen by the circle.")
    # Kai: facilitators only. Noor: just me.
    kai_note = "Struggling with the move, please keep this between facilitators"
    noor_note = "A note only for myself about the diary"
    await check_in(kai, prompt, mood="2 low", note=kai_note, who_sees_this="facilitators only")
    await check_in(noor, prompt, mood="5", note=noor_note, who_sees_this="just me")

    # A note over 1,000 characters is refused and nothing changes.
    modal = await noor.click("Check in", message=prompt)
    long = await noor.submit(modal, mood="1", note="x" * 1001, who_sees_this="the circle")
    assert long.ephemeral
    assert long.content.startswith("Your note is 1,001 characters; the limit is 1,000.")

    stored = {a.member_id: a for a in await answers_of(world.bot, round_.id)}
    assert {m: (a.mood, a.note, a.visibility.value) for m, a in stored.items()} == {
        sam.id: (4, "Glad to be here tonight", "circle"),
        kai.id: (2, kai_note, "facilitators"),
        noor.id: (5, noor_note, "self"),
    }
    async with world.bot.resources.db.read() as tx:
        raw = await tx.fetchall("SELECT note FROM checkins WHERE round_id = ?", (round_.id,))
    assert all(noor_note.encode() not in bytes(r["note"]) for r in raw)  # encrypted at rest

    summary = await _close(world, "Privacy Circle", channel)
    assert "**3** checked in" in summary
    assert "Moods shared with the circle: 4 good: **1**" in summary
    assert "2 kept their answer private." in summary
    assert f"<@{sam.id}> — 4 good\n> Glad to be here tonight" in summary
    assert kai_note not in summary and noor_note not in summary
    assert "First try" not in summary
    assert f"<@{kai.id}>" not in summary and f"<@{noor.id}>" not in summary
    assert (
        await open_round(world.bot, await circle_named(world.bot, world.guild.id, "Privacy Circle"))
    ) is None

    # Facilitators-only reaches the facilitator by DM; just-me reaches no one.
    dm = await world.server.wait_for(
        lambda: [m for m in world.facilitator.dms if kai_note in m.text], message="facilitator DM"
    )
    assert "For facilitators — Privacy Circle" in dm[0].text
    assert f"<@{kai.id}> — 2 low" in dm[0].text
    assert noor_note not in all_text_seen(world.server)
    assert kai_note not in all_text_seen(world.server, besides=world.facilitator)
    assert not world.guild.threads or all(
        kai_note not in m.text for t in world.guild.threads for m in t.messages
    )

    # A closed round's button explains itself.
    late = await sam.click("Check in", message=prompt)
    assert late.modal is None and late.content.startswith("This round has closed.")


async def test_facilitators_with_closed_dms_get_a_private_thread(world: World) -> None:
    bea = world.guild.add_member("Bea", manage_guild=True)
    bea.dms_closed = True
    member = _member(world, "Quill")
    channel = world.guild.create_text_channel("thread-circle")
    await create_circle(bea, "Thread Circle", channel)
    await join(member, "Thread Circle", channel)
    reply = await bea.run("/facilitate checkin now", circle="Thread Circle", channel=channel)
    assert reply.ephemeral, reply.describe()
    circle = await circle_named(world.bot, world.guild.id, "Thread Circle")
    round_ = await open_round(world.bot, circle)
    assert round_ is not None
    note = "Only the facilitators should read this one"
    await check_in(
        member,
        round_message(channel, round_),
        mood="2",
        note=note,
        who_sees_this="facilitators only",
    )
    closed = await bea.run("/facilitate checkin close", circle="Thread Circle", channel=channel)
    assert closed.ephemeral, closed.describe()

    thread = await world.server.wait_for(
        lambda: next((t for t in channel.threads if any(note in m.text for m in t.messages)), None),
        message="the facilitators-only answer in a private thread",
    )
    assert thread.name == "Facilitators — Thread Circle"
    assert thread.record.type == 12  # private thread
    assert bea.id in thread.member_ids and member.id not in thread.member_ids
    assert note in "\n".join(m.text for m in thread.messages)
    assert bea.dms == []
    assert all(note not in m.text for m in channel.messages)
    assert "**1** checked in" in channel.messages[-1].text


async def test_the_safety_net_shows_the_author_the_crisis_card_and_keeps_the_answer(
    world: World,
) -> None:
    member = _member(world, "Rowan")
    channel = await _circle_with(world, "Safety Circle", member)
    round_, prompt = await _open(world, "Safety Circle", channel)
    modal = await member.click("Check in", message=prompt)
    note = "honestly I want to end it all"
    reply = await member.submit(modal, mood="3", note=note, who_sees_this="just me")
    assert reply.ephemeral and reply.content.startswith("Thank you. Your check-in is saved")
    card = await _followup(reply)
    assert card.ephemeral
    assert "It sounds like things might be really heavy right now." in card.text
    [stored] = await answers_of(world.bot, round_.id)
    assert (stored.mood, stored.note, stored.visibility.value) == (3, note, "self")
    await _close(world, "Safety Circle", channel)
    assert note not in all_text_seen(world.server)


async def test_three_hard_answers_bring_a_gentle_private_nudge(world: World) -> None:
    member = _member(world, "Ash")
    channel = await _circle_with(world, "Nudge Circle", member)
    texts: list[str] = []
    for mood in ("2", "1", "2"):
        _, prompt = await _open(world, "Nudge Circle", channel)
        modal = await member.click("Check in", message=prompt)
        reply = await member.submit(modal, mood=mood, who_sees_this="the circle")
        if mood == "2" and texts:
            nudge = await _followup(reply)
            assert nudge.ephemeral and nudge.visible_to == member.id
            texts.append(nudge.text)
        else:
            texts.append("\n".join(m.text for m in reply.followups))
        await _close(world, "Nudge Circle", channel)
    assert "hard ones" not in texts[0] and "hard ones" not in texts[1]
    assert "Your last few check-ins have been hard ones." in texts[2]
    assert f"<@{world.facilitator.id}>" in texts[2]  # who they could reach
    assert "hard ones" not in all_text_seen(world.server)


# -- reminders, pauses, history ----------------------------------------------------------


async def test_reminders_dm_once_and_closed_dms_are_remembered_and_told_once(
    world: World,
) -> None:
    eager, closed, quiet, done = (_member(world, n) for n in ("Eager", "Closed", "Quiet", "Done"))
    for member in (eager, closed, done):
        on = await member.run("/checkin reminders", setting="on")
        assert on.ephemeral and on.content.startswith("Reminders on")
    closed.dms_closed = True
    channel = await _circle_with(world, "Remind Circle", closed, eager, quiet, done)
    round_, prompt = await _open(world, "Remind Circle", channel)
    await check_in(done, prompt, mood="4", who_sees_this="the circle")

    assert await world.advance(timedelta(hours=20)) == 0  # not yet: 3 h before close
    assert eager.dms == []
    await world.advance(timedelta(hours=1, minutes=1))
    [reminder] = eager.dms
    assert "A gentle reminder: the check-in of **Remind Circle** closes" in reminder.content
    assert f"/channels/{world.guild.id}/{channel.id}/{round_.message_id}" in reminder.content
    assert quiet.dms == [] and done.dms == [] and closed.dms == []
    refused = [e for e in world.server.transcript.events if e.kind == "dm_refused"]
    assert [e.target for e in refused].count("Closed") == 1
    async with world.bot.resources.db.read() as tx:
        assert await dm_status.closed_ids(tx, [closed.id, eager.id]) == {closed.id}
    await world.advance(timedelta(hours=1))
    assert len(eager.dms) == 1  # one reminder per round
    await _close(world, "Remind Circle", channel)

    # The next round: no new attempt at the closed DMs.
    await _open(world, "Remind Circle", channel)
    await world.advance(timedelta(hours=21, minutes=1))
    assert len(eager.dms) == 2
    refused = [e for e in world.server.transcript.events if e.kind == "dm_refused"]
    assert [e.target for e in refused].count("Closed") == 1
    await _close(world, "Remind Circle", channel)

    # Told once, privately, the next time they use a command.
    reply = await closed.run("/checkin history")
    notice = await _followup(reply)
    assert notice.ephemeral and notice.content == DMS_CLOSED_NOTICE
    again = await closed.run("/ping", channel=channel)
    assert all(DMS_CLOSED_NOTICE not in m.text for m in again.messages)
    async with world.bot.resources.db.transaction() as tx:
        assert not await dm_status.take_untold(tx, closed.id)


async def test_pause_skips_reminders_and_counts_away_then_resume(world: World) -> None:
    away, here = _member(world, "Away"), _member(world, "Here")
    for member in (away, here):
        await member.run("/checkin reminders", setting="on")
    paused = await away.run("/checkin pause", until="2w")
    assert paused.ephemeral and paused.content.startswith("You're away until ")
    until = (world.clock.now() + timedelta(weeks=2)).date()
    async with world.bot.resources.db.read() as tx:
        assert await checkins_repo.away(tx, [away.id, here.id], world.clock.now().date()) == {
            away.id
        }
    bad = await away.run("/checkin pause", until="yesterday-ish")
    assert bad.ephemeral and "For example: until:" in bad.content
    assert f"{until:%d %b %Y}" in paused.content

    channel = await _circle_with(world, "Away Circle", away, here)
    await _open(world, "Away Circle", channel)
    await world.advance(timedelta(hours=21, minutes=1))
    assert len(here.dms) == 1 and away.dms == []
    summary = await _close(world, "Away Circle", channel)
    assert "**0** checked in · 1 away · 1 didn't this time" in summary

    back = await away.run("/checkin resume")
    assert back.ephemeral and back.content.startswith("Welcome back.")
    async with world.bot.resources.db.read() as tx:
        assert await checkins_repo.away(tx, [away.id], world.clock.now().date()) == set()
    await _open(world, "Away Circle", channel)
    await world.advance(timedelta(hours=21, minutes=1))
    assert len(away.dms) == 1
    summary = await _close(world, "Away Circle", channel)
    assert "away" not in summary.split("\n")[1]


async def test_history_is_a_friendly_line_then_a_private_chart(world: World) -> None:
    member = _member(world, "Hana")
    empty = await member.run("/checkin history")
    assert empty.ephemeral and empty.files == []
    assert empty.content == (
        "No check-ins in the last 30 days yet. When you answer a round, your moods show up here."
    )
    channel = await _circle_with(world, "History Circle", member)
    asked: list[str] = []
    for mood in ("3", "4"):
        round_, prompt = await _open(world, "History Circle", channel)
        asked.append(round_.prompt)
        await check_in(member, prompt, mood=mood, who_sees_this="just me")
        await _close(world, "History Circle", channel)
    assert len(set(asked)) == 2  # no repeat from the prompt bank
    chart = await member.run("/checkin history", days=7)
    assert chart.ephemeral
    assert chart.content.startswith("Your last 7 days: **2** check-in(s), average **3.5**")
    [png] = chart.files
    assert png.filename == "mood.png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert all(m.files == [] for m in channel.messages)
    bad = await member.run("/checkin reminders", setting="maybe")
    assert bad.ephemeral and bad.content.startswith("Reminders are on or off.")


async def test_privacy_export_has_check_ins_decrypted_and_delete_removes_them(
    world: World,
) -> None:
    member = _member(world, "Iris")
    channel = await _circle_with(world, "Rights Circle", member)
    circle = await circle_named(world.bot, world.guild.id, "Rights Circle")
    round_, prompt = await _open(world, "Rights Circle", channel)
    note = "Exported but never shown in the channel"
    await check_in(member, prompt, mood="2", note=note, who_sees_this="facilitators only")
    await member.run("/checkin reminders", setting="on")

    export = await member.run("/privacy export", channel=channel)
    assert export.ephemeral
    [file] = export.files
    data = json.loads(file.content)
    assert note in json.dumps(data, ensure_ascii=False)  # decrypted, not ciphertext

    asked = await member.run("/privacy delete", channel=channel)
    assert asked.ephemeral
    erased = await member.click("Erase everything", message=asked)
    message = erased.message
    assert message is not None, erased.describe()
    await world.server.wait_for(lambda: message.content.startswith("Done. Erased"))
    assert await answers_of(world.bot, round_.id) == []
    async with world.bot.resources.db.read() as tx:
        assert (
            await tx.scalar("SELECT COUNT(*) FROM circle_members WHERE user_id = ?", (member.id,))
            == 0
        )
        assert await checkins_repo.opted_in(tx, [member.id]) == set()
    assert member.id not in await member_ids(world.bot, circle)
    summary = await _close(world, "Rights Circle", channel)
    assert "**0** checked in" in summary and note not in all_text_seen(world.server)
