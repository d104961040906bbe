"""`/buddy …`, `/facilitate buddies …` and the answer buttons, end to end (real bot, local server).

Each test uses its own circle, channel and members; tests that move the clock only touch
timers of their own cycles (other tests' cycles end on their own, harmlessly).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.circles import Circle
from bot.localdiscord import Channel, Member, together
from bot.localdiscord.state import Message
from bot.storage.repositories import buddies as repo
from bot.storage.repositories import jobs as jobs_repo
from tests.e2e.checkin_helpers import check_in, circle_named, create_circle, join
from tests.e2e.conftest import World, run_due


async def _circle(world: World, name: str, *members: Member) -> Channel:
    channel = world.guild.create_text_channel(name.lower().replace(" ", "-"))
    await create_circle(world.facilitator, name, channel)
    for member in members:
        await join(member, name, channel)
    return channel


async def _opt_in(member: Member, name: str, channel: Channel) -> None:
    reply = await member.run("/buddy join", circle=name, channel=channel)
    assert reply.ephemeral and "You're in buddy pairing" in reply.content, reply.describe()


async def _members(world: World, prefix: str, count: int) -> list[Member]:
    return [world.guild.add_member(f"{prefix}{i}") for i in range(count)]


async def _start(world: World, name: str, channel: Channel) -> str:
    reply = await world.facilitator.run("/facilitate buddies now", circle=name, channel=channel)
    assert reply.ephemeral, reply.describe()
    await world.bot.resources.services.outbox.drain()
    return reply.content


async def _paired(world: World, prefix: str) -> tuple[Member, Member, Channel, Circle]:
    """Two members of a new circle `<prefix> Circle`, opted in and paired in a running cycle."""
    a, b = await _members(world, prefix, 2)
    name = f"{prefix} Circle"
    channel = await _circle(world, name, a, b)
    for member in (a, b):
        await _opt_in(member, name, channel)
    await _start(world, name, channel)
    return a, b, channel, await circle_named(world.bot, world.guild.id, name)


def _intro(member: Member) -> Message:
    found = [m for m in member.dms if "A first question" in m.text or "couldn't place" in m.text]
    assert found, f"{member.name} got no introduction: {[m.text for m in member.dms]}"
    return found[-1]


async def _cycle_rows(world: World, name: str) -> list[tuple[int, int | None, object]]:
    circle = await circle_named(world.bot, world.guild.id, name)
    async with world.bot.resources.db.read() as tx:
        cycle = await repo.running_cycle(tx, circle.id)
        assert cycle is not None
        return await repo.members_of(tx, cycle.id)


async def test_five_opt_in_one_avoids_another_and_everyone_gets_one_introduction(
    world: World,
) -> None:
    people = await _members(world, "Five", 5)
    channel = await _circle(world, "Five Circle", *people)
    for member in people:
        await _opt_in(member, "Five Circle", channel)
    avoid = await people[0].run("/buddy avoid", member=people[1].user, channel=channel)
    assert avoid.ephemeral and "won't be paired" in avoid.content, avoid.describe()

    said = await _start(world, "Five Circle", channel)
    assert "5 members in 2 groups (1 trio)" in said, said
    rows = await _cycle_rows(world, "Five Circle")
    groups: dict[int | None, set[int]] = {}
    for user_id, group_no, _ in rows:
        groups.setdefault(group_no, set()).add(user_id)
    assert None not in groups and sorted(len(g) for g in groups.values()) == [2, 3]
    assert not any({people[0].id, people[1].id} <= g for g in groups.values())
    for member in people:
        intros = [m for m in member.dms if "A first question" in m.text]
        assert len(intros) == 1, (member.name, [m.text for m in member.dms])
        mates = next(g for g in groups.values() if member.id in g) - {member.id}
        assert all(f"<@{mate}>" in intros[0].text for mate in mates)
        assert intros[0].buttons == ["We connected", "Not yet", "Skip this cycle"]
    # Nobody is told about the avoid list, and nothing about it reached a channel.
    assert not any("avoid" in m.text.lower() for m in channel.messages)
    assert not any("avoid" in m.text.lower() for p in people for m in p.dms)


async def test_we_connected_counts_once_even_when_double_clicked_and_stats_show_counts(
    world: World,
) -> None:
    a, b = await _members(world, "Pair", 2)
    channel = await _circle(world, "Pair Circle", a, b)
    for member in (a, b):
        await _opt_in(member, "Pair Circle", channel)
    await _start(world, "Pair Circle", channel)
    first, second = await together(
        a.click("We connected", message=_intro(a)), a.click("We connected", message=_intro(a))
    )
    texts = sorted([first.content, second.content])
    assert texts[0] == "Already noted — thank you.", texts
    assert texts[1].startswith("Lovely — noted that you connected"), texts
    stats = await world.facilitator.run(
        "/facilitate buddies stats", circle="Pair Circle", channel=channel
    )
    assert stats.ephemeral and "2 opted in" in stats.content, stats.describe()
    assert "2 paired in 1 groups, “we connected” 1/1 (100%)" in stats.content, stats.content
    assert str(a.id) not in stats.content and str(b.id) not in stats.content


async def test_we_connected_pressed_as_the_cycle_ends_is_refused_not_counted_silent(
    world: World,
) -> None:
    """The end counts who stayed silent; an answer stored beside it, uncounted, would be
    thanked and still count towards the pause. The answer waits for the end, then is told."""
    a, _, _, circle = await _paired(world, "Edge")
    async with world.bot.resources.db.transaction() as ending:
        cycle = await repo.running_cycle(ending, circle.id)
        assert cycle is not None and await repo.end_cycle(ending, cycle.id, world.clock.now())
        await repo.count_silence(ending, cycle.id, circle.id, 3)
        pressed = asyncio.create_task(a.click("We connected", message=_intro(a)))
        await asyncio.wait({pressed}, timeout=2.0)  # unheld, the answer is stored meanwhile
    reply = await pressed
    assert reply.ephemeral and "has ended" in reply.content, reply.describe()
    async with world.bot.resources.db.read() as tx:
        answers = {user: answer for user, _, answer in await repo.members_of(tx, cycle.id)}
        optin = await tx.fetchone(
            "SELECT silent_cycles FROM buddy_optins WHERE circle_id = ? AND user_id = ?",
            (circle.id, a.id),
        )
    assert answers[a.id] is None and optin is not None and optin["silent_cycles"] == 1


async def test_many_members_press_their_buttons_at_the_same_moment(world: World) -> None:
    people = await _members(world, "Crowd", 12)
    channel = await _circle(world, "Crowd Circle", *people)
    for member in people:
        await _opt_in(member, "Crowd Circle", channel)
    await _start(world, "Crowd Circle", channel)
    labels = ["We connected", "Not yet", "Skip this cycle"]
    replies = await together(
        *(m.click(labels[i % 3], message=_intro(m)) for i, m in enumerate(people)), seed=7
    )
    assert all(r.ephemeral and r.content for r in replies)
    answers = {user: answer for user, _, answer in await _cycle_rows(world, "Crowd Circle")}
    assert [answers[m.id].value for m in people] == [  # type: ignore[union-attr]
        ("connected", "not_yet", "skip")[i % 3] for i in range(len(people))
    ]


async def test_closed_dms_get_a_private_thread_for_the_pair(world: World) -> None:
    a, b = await _members(world, "Thread", 2)
    channel = await _circle(world, "Thread Circle", a, b)
    for member in (a, b):
        await _opt_in(member, "Thread Circle", channel)
    b.dms_closed = True
    await _start(world, "Thread Circle", channel)
    await world.bot.resources.services.outbox.drain()
    assert len([m for m in a.dms if "A first question" in m.text]) == 1
    threads = channel.threads
    assert len(threads) == 1, threads
    thread = threads[0]
    assert {a.id, b.id} <= thread.member_ids
    said = thread.messages[-1]
    assert "couldn't reach one of you by direct message" in said.text
    connected = await b.click("We connected", message=said)
    assert connected.ephemeral and connected.content.startswith("Lovely"), connected.describe()
    assert not channel.messages or all("Thread" not in m.text for m in channel.messages)


async def test_a_lone_member_is_told_privately(world: World) -> None:
    (solo,) = await _members(world, "Solo", 1)
    channel = await _circle(world, "Solo Circle", solo)
    await _opt_in(solo, "Solo Circle", channel)
    said = await _start(world, "Solo Circle", channel)
    assert "1 could not be placed (told privately)" in said, said
    assert "couldn't place you with anyone" in _intro(solo).text
    current = await solo.run("/buddy current", channel=channel)
    assert "nobody could be paired with you" in current.content


async def test_current_leave_unavoid_and_snooze(world: World) -> None:
    a, b, c = await _members(world, "Cur", 3)
    channel = await _circle(world, "Cur Circle", a, b, c)
    for member in (a, b):
        await _opt_in(member, "Cur Circle", channel)
    again = await a.run("/buddy join", circle="Cur Circle", channel=channel)
    assert "already in buddy pairing" in again.content
    await _start(world, "Cur Circle", channel)
    current = await a.run("/buddy current", channel=channel)
    assert current.ephemeral and f"<@{b.id}>, since <t:" in current.content, current.describe()
    avoid = await a.run("/buddy avoid", member=c.user, channel=channel)
    assert "won't be paired" in avoid.content
    unavoid = await a.run("/buddy unavoid", member=c.user, channel=channel)
    assert unavoid.content == "Taken off your avoid list."
    unavoid = await a.run("/buddy unavoid", member=c.user, channel=channel)
    assert unavoid.content == "They weren't on your avoid list."
    snooze = await a.run("/buddy snooze", until="2w", channel=channel)
    assert snooze.ephemeral and snooze.content.startswith("Snoozed until"), snooze.describe()
    left = await b.run("/buddy leave", circle="Cur Circle", channel=channel)
    assert "You've left buddy pairing" in left.content
    left = await b.run("/buddy leave", circle="Cur Circle", channel=channel)
    assert "You weren't in buddy pairing" in left.content
    # a snoozed, b left: the next cycle places nobody.
    said = await _start(world, "Cur Circle", channel)
    assert "0 members in 0 groups" in said, said


async def test_bad_input_gets_a_short_refusal_with_an_example(world: World) -> None:
    a, outsider = await _members(world, "Bad", 2)
    channel = await _circle(world, "Bad Circle", a)
    cases = [
        (
            world.facilitator,
            "/facilitate buddies schedule",
            {"circle": "Bad Circle", "every": "3x", "day": "mon", "time": "18:00"},
            "every:1w",
        ),
        (
            world.facilitator,
            "/facilitate buddies schedule",
            {"circle": "Bad Circle", "every": "1w", "day": "someday", "time": "18:00"},
            "days:mon",
        ),
        (
            world.facilitator,
            "/facilitate buddies schedule",
            {"circle": "Bad Circle", "every": "1w", "day": "mon", "time": "25:00"},
            "time:19:00",
        ),
        (
            world.facilitator,
            "/facilitate buddies schedule",
            {"circle": "Nope", "every": "1w", "day": "mon", "time": "18:00"},
            "circle",
        ),
        (a, "/buddy avoid", {"member": a.user}, "/buddy avoid member:@someone"),
        (a, "/buddy avoid", {"member": outsider.user}, "@someone-in-your-circle"),
        (a, "/buddy snooze", {"until": "2020-01-01"}, "For example"),
        (outsider, "/buddy join", {"circle": "Bad Circle"}, "/circle join circle:Bad Circle"),
        (a, "/facilitate buddies now", {"circle": "Bad Circle"}, "Only facilitators"),
    ]
    for member, command, options, example in cases:
        reply = await member.run(command, channel=channel, force=True, options=options)
        assert reply.ephemeral, (command, options, reply.describe())
        assert example in reply.content, (command, options, reply.content)
        assert len(reply.content) < 400
    # a snooze with nothing to snooze says how to join
    nothing = await a.run("/buddy snooze", until="2w", channel=channel)
    assert "/buddy join" in nothing.content


async def test_a_scheduled_cycle_fires_follows_up_midway_and_asks_again_after_not_yet(
    world: World,
) -> None:
    a, b = await _members(world, "Sched", 2)
    channel = await _circle(world, "Sched Circle", a, b)
    for member in (a, b):
        await _opt_in(member, "Sched Circle", channel)
    reply = await world.facilitator.run(
        "/facilitate buddies schedule",
        circle="Sched Circle",
        every="2w",
        day="mon",
        time="18:00",
        channel=channel,
    )
    assert reply.ephemeral and "every 2 weeks, Mon at 18:00 (UTC)" in reply.content, (
        reply.describe()
    )
    circle = await circle_named(world.bot, world.guild.id, "Sched Circle")
    async with world.bot.resources.db.read() as tx:
        job = await jobs_repo.get(tx, f"buddy-start:{circle.id}")
    assert job is not None
    await world.advance(job.run_at - world.clock.now() + timedelta(minutes=1))
    assert len([m for m in a.dms if "A first question" in m.text]) == 1
    # Midway (one week in): one follow-up each; a says Not yet, b answers.
    await world.advance(timedelta(weeks=1))
    for member in (a, b):
        follow = [m for m in member.dms if "did you and" in m.text]
        assert len(follow) == 1, (member.name, [m.text for m in member.dms])
    await a.click("Not yet", message=next(m for m in a.dms if "did you and" in m.text))
    await b.click("We connected", message=_intro(b))
    await world.advance(timedelta(hours=49))
    asked_again = [m for m in a.dms if "Checking once more" in m.text]
    assert len(asked_again) == 1
    assert not [m for m in b.dms if "Checking once more" in m.text]
    # The next start ends this cycle and begins another; nothing is sent twice.
    async with world.bot.resources.db.read() as tx:
        job = await jobs_repo.get(tx, f"buddy-start:{circle.id}")
    assert job is not None
    await world.advance(job.run_at - world.clock.now() + timedelta(minutes=1))
    assert len([m for m in a.dms if "A first question" in m.text]) == 2
    off = await world.facilitator.run(
        "/facilitate buddies off", circle="Sched Circle", channel=channel
    )
    assert "are off" in off.content
    await run_due(world.bot)


async def test_a_member_who_left_the_server_is_not_paired(world: World) -> None:
    a, b, gone = await _members(world, "Gone", 3)
    channel = await _circle(world, "Gone Circle", a, b, gone)
    for member in (a, b, gone):
        await _opt_in(member, "Gone Circle", channel)
    world.guild.remove_member(gone)
    said = await _start(world, "Gone Circle", channel)
    assert "2 members in 1 groups" in said, said
    assert not [m for m in gone.dms if "A first question" in m.text]


async def test_a_buddy_who_leaves_the_server_mid_cycle_is_not_asked_about(world: World) -> None:
    a, b = await _members(world, "Mid", 2)
    channel = await _circle(world, "Mid Circle", a, b)
    for member in (a, b):
        await _opt_in(member, "Mid Circle", channel)
    await _start(world, "Mid Circle", channel)
    world.guild.remove_member(b)
    circle = await circle_named(world.bot, world.guild.id, "Mid Circle")
    async with world.bot.resources.db.read() as tx:
        cycle = await repo.running_cycle(tx, circle.id)
        assert cycle is not None
        job = await jobs_repo.get(tx, f"buddy-follow:{cycle.id}")
    assert job is not None
    await world.advance(job.run_at - world.clock.now() + timedelta(minutes=1))
    assert [m.text for m in a.dms if "no longer in this server" in m.text]
    assert not [m for m in a.dms if "did you and" in m.text]
    assert not [m for m in b.dms if "did you and" in m.text or "no longer" in m.text]
    # Next cycle: a is alone, b is not placed.
    said = await _start(world, "Mid Circle", channel)
    assert "0 members in 0 groups (0 trios), 1 could not be placed" in said, said


async def test_an_avoided_pair_is_never_made_even_when_that_leaves_both_alone(
    world: World,
) -> None:
    a, b = await _members(world, "Apart", 2)
    channel = await _circle(world, "Apart Circle", a, b)
    for member in (a, b):
        await _opt_in(member, "Apart Circle", channel)
    await b.run("/buddy avoid", member=a.user, channel=channel)
    said = await _start(world, "Apart Circle", channel)
    assert "0 members in 0 groups (0 trios), 2 could not be placed" in said, said
    for member in (a, b):  # each told only that nobody was available: never why
        assert "not enough members were available" in _intro(member).text


async def test_three_silent_cycles_pause_gently_and_join_resumes(world: World) -> None:
    quiet, talker = await _members(world, "Quiet", 2)
    channel = await _circle(world, "Quiet Circle", quiet, talker)
    for member in (quiet, talker):
        await _opt_in(member, "Quiet Circle", channel)
    for _ in range(3):
        await _start(world, "Quiet Circle", channel)
        await talker.click("Not yet", message=_intro(talker))
    said = await _start(world, "Quiet Circle", channel)  # ends the third silent cycle
    assert "0 members in 0 groups (0 trios), 1 could not be placed" in said, said
    paused = [m.text for m in quiet.dms if "I've paused your buddy pairing" in m.text]
    assert len(paused) == 1 and "/buddy join" in paused[0]
    assert not [m for m in talker.dms if "paused" in m.text]
    back = await quiet.run("/buddy join", circle="Quiet Circle", channel=channel)
    assert "You're in buddy pairing" in back.content
    said = await _start(world, "Quiet Circle", channel)
    assert "2 members in 1 groups" in said, said


async def test_a_double_clicked_now_starts_one_cycle(world: World) -> None:
    people = await _members(world, "Twice", 4)
    channel = await _circle(world, "Twice Circle", *people)
    for member in people:
        await _opt_in(member, "Twice Circle", channel)
    await _start(world, "Twice Circle", channel)
    replies = await together(
        *(
            world.facilitator.run("/facilitate buddies now", circle="Twice Circle", channel=channel)
            for _ in "ab"
        )
    )
    await world.bot.resources.services.outbox.drain()
    said = sorted(r.content for r in replies)
    assert said[0].startswith("A buddy cycle of “Twice Circle” was just started"), said
    assert said[1].startswith("New buddy cycle until"), said
    assert [len([m for m in p.dms if "A first question" in m.text]) for p in people] == [2] * 4
    circle = await circle_named(world.bot, world.guild.id, "Twice Circle")
    async with world.bot.resources.db.read() as tx:
        assert (
            await tx.scalar("SELECT COUNT(*) FROM buddy_cycles WHERE circle_id = ?", (circle.id,))
            == 2
        )


async def test_the_gentle_nudge_names_the_current_buddy(world: World) -> None:
    ash, buddy = await _members(world, "Nudge", 2)
    channel = await _circle(world, "Nudge Buddies", ash, buddy)
    for member in (ash, buddy):
        await _opt_in(member, "Nudge Buddies", channel)
    await _start(world, "Nudge Buddies", channel)
    for mood in ("2", "1", "2"):
        opened = await world.facilitator.run(
            "/facilitate checkin now", circle="Nudge Buddies", channel=channel
        )
        assert opened.ephemeral, opened.describe()
        prompt = next(m for m in reversed(channel.messages) if "Check in" in m.buttons)
        await check_in(ash, prompt, mood=mood, who_sees_this="just me")
        await world.facilitator.run(
            "/facilitate checkin close", circle="Nudge Buddies", channel=channel
        )
    nudges = [
        m.text
        for m in world.server.state.channels[channel.id].messages
        if m.visible_to == ash.id and "hard ones" in m.text
    ]
    assert nudges and f"Your buddy this cycle (<@{buddy.id}>)" in nudges[-1], nudges


async def test_a_now_that_saw_an_older_cycle_starts_nothing(world: World) -> None:
    """The second of two clicks, if it read the running cycle before the first replaced it."""
    a, b, channel, circle = await _paired(world, "Stale")
    async with world.bot.resources.db.read() as tx:
        seen = await repo.running_cycle(tx, circle.id)
    assert seen is not None
    await _start(world, "Stale Circle", channel)  # the first click replaced it
    service = world.bot.resources.services.buddies
    now = world.clock.now()
    assert await service._start(circle, "now:stale", now, replaces=seen.id) is None
    await world.bot.resources.services.outbox.drain()
    assert [len([m for m in p.dms if "A first question" in m.text]) for p in (a, b)] == [2, 2]


async def test_members_joining_and_avoiding_at_the_same_moment(world: World) -> None:
    people = await _members(world, "Rush", 10)
    channel = await _circle(world, "Rush Circle", *people)
    joined = await together(
        *(m.run("/buddy join", circle="Rush Circle", channel=channel) for m in people), seed=3
    )
    assert all("You're in buddy pairing" in r.content for r in joined)
    avoided = await together(
        *(m.run("/buddy avoid", member=people[0].user, channel=channel) for m in people[1:]),
        seed=4,
    )
    assert all("won't be paired" in r.content for r in avoided)
    said = await _start(world, "Rush Circle", channel)
    assert "9 members in 4 groups (1 trio), 1 could not be placed" in said, said
    assert "couldn't place you" in _intro(people[0]).text
