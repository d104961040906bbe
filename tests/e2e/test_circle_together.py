"""A circle acts together: many members in the same second, double clicks, restarts, a slow
database. Every test here drives members concurrently through the local server."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.domain.checkins import Visibility
from bot.domain.circles import Circle
from bot.localdiscord import Member, together
from bot.localdiscord.state import Message
from bot.storage import database as database_module
from bot.tree import BUSY
from tests.e2e.checkin_helpers import answers_of, check_in, rounds_of
from tests.e2e.conftest import World, run_due

MOODS = ["1", "2", "3", "4", "5"]
SEES = ["the circle", "facilitators only", "just me"]
SEEDS = [1, 2, 3]


async def circle_of(world: World, name: str, members: list[Member]) -> Circle:
    services = world.bot.resources.services
    circle = await services.circles.create(
        world.guild.id, name, world.channel.id, None, world.facilitator.id
    )
    for member in members:
        await services.circles.join(circle.id, member.id)
    return circle


async def opened_prompt(world: World, name: str) -> Message:
    reply = await world.facilitator.run(
        "/facilitate checkin now", circle=name, channel=world.channel
    )
    assert reply.content.startswith("Opened a round"), reply.describe()
    prompts = [m for m in world.channel.messages if m.buttons == ["Check in"]]
    return prompts[-1]


def crowd(world: World, count: int) -> list[Member]:
    return [world.guild.add_member(f"Member {n}") for n in range(count)]


async def test_three_members_with_the_form_open_at_once_are_all_saved(world: World) -> None:
    trio = [world.sam, world.kai, world.noor]
    circle = await circle_of(world, "Trio", trio)
    prompt = await opened_prompt(world, "Trio")
    forms = await together(*(m.click("Check in", message=prompt) for m in trio), seed=7)
    assert all(form.modal is not None for form in forms)
    # All three forms are open now; they are submitted in the opposite order.
    replies = []
    for member, form, mood in reversed(list(zip(trio, forms, ("2", "3", "4"), strict=True))):
        replies.append(
            await member.submit(
                form, mood=mood, note=f"note of {member.name}", who_sees_this="just me"
            )
        )
    assert all("Thank you" in reply.text for reply in replies), [r.describe() for r in replies]
    [round_] = await rounds_of(world.bot, circle)
    stored = {a.member_id: (a.mood, a.note) for a in await answers_of(world.bot, round_.id)}
    assert stored == {
        world.sam.id: (2, "note of Sam"),
        world.kai.id: (3, "note of Kai"),
        world.noor.id: (4, "note of Noor"),
    }


@pytest.mark.parametrize("seed", SEEDS)
async def test_thirty_members_check_in_in_the_same_moment(world: World, seed: int) -> None:
    members = crowd(world, 30)
    circle = await circle_of(world, f"Thirty {seed}", members)
    prompt = await opened_prompt(world, f"Thirty {seed}")
    chosen = {
        m.id: (MOODS[i % 5], SEES[i % 3], f"a note from member {i}") for i, m in enumerate(members)
    }

    async def answer(member: Member) -> str:
        mood, sees, note = chosen[member.id]
        return await check_in(member, prompt, mood=mood, who_sees_this=sees, note=note)

    texts = await together(*(answer(m) for m in members), seed=seed)
    assert all(text.startswith("Thank you") for text in texts), texts
    [round_] = await rounds_of(world.bot, circle)
    stored = {a.member_id: a for a in await answers_of(world.bot, round_.id)}
    assert set(stored) == set(chosen)
    for member_id, (mood, _sees, note) in chosen.items():
        assert (stored[member_id].mood, stored[member_id].note) == (int(mood), note)


async def test_a_double_clicked_submit_keeps_one_answer(world: World) -> None:
    circle = await circle_of(world, "Double", [world.sam])
    prompt = await opened_prompt(world, "Double")
    forms = await together(*(world.sam.click("Check in", message=prompt) for _ in range(2)))
    replies = await together(
        *(
            world.sam.submit(form, mood="4", note="once", who_sees_this="the circle")
            for form in forms
        ),
        seed=3,
    )
    assert all(reply.ephemeral and "Thank you" in reply.text for reply in replies)
    [round_] = await rounds_of(world.bot, circle)
    [answer] = await answers_of(world.bot, round_.id)
    assert (answer.member_id, answer.mood, answer.note) == (world.sam.id, 4, "once")


@pytest.mark.parametrize("seed", SEEDS)
async def test_two_facilitators_opening_and_closing_at_once_make_one_round(
    world: World, seed: int
) -> None:
    second = world.guild.add_member("Bea", manage_guild=True)
    name = f"Both {seed}"
    circle = await circle_of(world, name, [world.sam])
    opened = await together(
        *(
            f.run("/facilitate checkin now", circle=name, channel=world.channel)
            for f in (world.facilitator, second)
        ),
        seed=seed,
    )
    said = sorted(r.content for r in opened)
    assert said[0].startswith("Opened a round") and "already has an open round" in said[1], said
    assert len(await rounds_of(world.bot, circle)) == 1
    assert len([m for m in world.channel.messages if m.buttons == ["Check in"]]) == 1

    closed = await together(
        *(
            f.run("/facilitate checkin close", circle=name, channel=world.channel)
            for f in (world.facilitator, second)
        ),
        seed=seed,
    )
    assert sum(r.content.startswith("Closed.") for r in closed) == 1, [r.describe() for r in closed]
    await world.bot.resources.services.outbox.drain()
    summaries = [m for m in world.channel.messages if f"Check-in closed — {name}" in m.text]
    assert len(summaries) == 1


@contextmanager
def another_writer(path: Path, seconds: float) -> Iterator[threading.Event]:
    """A second process's write lock on the database, held for `seconds`."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            done.wait(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    held.wait(5)
    try:
        yield held
    finally:
        done.set()
        thread.join()


async def test_a_write_lock_held_past_the_deadline_still_gets_an_answer_in_time(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    if world.db_url is not None:
        pytest.skip("SQLite's single writer: PostgreSQL has row locks instead")
    members = crowd(world, 3)
    circle = await circle_of(world, "Locked", members)
    prompt = await opened_prompt(world, "Locked")
    forms = await together(*(m.click("Check in", message=prompt) for m in members))
    late_before = world.bot.late_interactions
    with another_writer(world.db_path, seconds=4.0):
        replies = await together(
            *(
                m.submit(form, mood="3", note="while locked", who_sees_this="just me")
                for m, form in zip(members, forms, strict=True)
            ),
            seed=5,
        )
        for reply in replies:
            assert reply.deferred, reply.describe()  # acknowledged inside Discord's 3 s
    for reply in replies:
        answered = await reply.wait(timeout=15)
        assert "Thank you" in answered.text, answered.describe()
    [round_] = await rounds_of(world.bot, circle)
    assert {a.member_id for a in await answers_of(world.bot, round_.id)} == {m.id for m in members}
    assert world.bot.late_interactions == late_before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_write_that_gives_up_says_nothing_was_saved_and_nothing_is(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if world.db_url is not None:
        pytest.skip("SQLite's single writer")
    circle = await circle_of(world, "Gives up", [world.sam])
    prompt = await opened_prompt(world, "Gives up")
    form = await world.sam.click("Check in", message=prompt)
    monkeypatch.setattr(database_module, "WRITE_ATTEMPTS", 1)
    async with world.bot.resources.db.transaction() as tx:
        await tx.execute("PRAGMA busy_timeout=300")  # give up quickly for the test
    try:
        with another_writer(world.db_path, seconds=3.0):
            reply = await world.sam.submit(form, mood="2", note="lost?", who_sees_this="just me")
            answer = await reply.wait(timeout=5)
    finally:
        async with world.bot.resources.db.transaction() as tx:
            await tx.execute(f"PRAGMA busy_timeout={database_module.BUSY_TIMEOUT_MS}")
    assert BUSY in answer.text, answer.describe()
    [round_] = await rounds_of(world.bot, circle)
    assert await answers_of(world.bot, round_.id) == []  # told "nothing was saved": true


@pytest.mark.parametrize("what", ["/ping", "the Check in form"])
async def test_an_answer_too_late_for_discord_is_a_counted_warning(
    world: World, caplog: pytest.LogCaptureFixture, what: str
) -> None:
    if what == "/ping":
        action = world.sam.run("/ping", channel=world.channel, timeout=6)
    else:
        await circle_of(world, "Late form", [world.sam])
        prompt = await opened_prompt(world, "Late form")
        action = world.sam.click("Check in", message=prompt, timeout=6)
    before = world.bot.late_interactions
    registry, late = world.bot.metrics.registry, ("circlekeeper_errors_total", {"kind": "late"})
    late_counted = registry.get_sample_value(*late)
    hold = world.server.hold("POST /interactions/{interaction_id}/{token}/callback", stage="before")
    ping = asyncio.create_task(action)
    await hold.wait_caught()
    await asyncio.sleep(world.server.interaction_deadline + 0.2)  # past Discord's 3 s
    hold.release()
    await asyncio.wait({ping})  # the member saw nothing in time; the driver says so
    assert ping.exception() is not None
    await world.server.wait_for(lambda: world.bot.late_interactions > before, timeout=5)
    assert world.bot.late_interactions == before + 1
    assert registry.get_sample_value(*late) == (late_counted or 0) + 1  # on /metrics too
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("could not be answered" in r.getMessage() for r in caplog.records)


async def test_facilitators_only_answers_skip_a_facilitator_who_lost_the_role(
    world: World,
) -> None:
    services = world.bot.resources.services
    role = world.guild.add_role("Facilitators", manage_guild=True)
    former = world.guild.add_member("Former")
    former.add_role(role)
    circle = await circle_of(world, "Roles", [world.sam])
    await services.circles.note_facilitator(circle, former.id)
    await services.circles.note_facilitator(circle, world.facilitator.id)
    round_ = (await services.checkins.open_now(circle)).round
    await services.checkins.answer(
        round_.id, world.sam.id, 2, "for facilitators", Visibility.FACILITATORS
    )
    former.remove_role(role)  # no longer a facilitator when the answers go out
    await services.checkins.close_round(round_.id)
    await run_due(world.bot)
    assert any("for facilitators" in m.text for m in world.facilitator.dms)
    assert not any("for facilitators" in m.text for m in former.dms)


async def test_joining_and_pausing_during_a_long_write_lock_are_answered_in_time(
    world: World,
) -> None:
    if world.db_url is not None:
        pytest.skip("SQLite's single writer")
    await circle_of(world, "Lock join", [])
    shown = await world.sam.run("/circle join", circle="Lock join", channel=world.channel)
    with another_writer(world.db_path, seconds=4.0):
        agreed, paused = await together(
            world.sam.click("I agree", message=shown),
            world.kai.run("/checkin pause", until="2w", channel=world.channel, timeout=15),
        )
        assert agreed.deferred and paused.deferred  # acknowledged inside Discord's 3 s
    joined = await agreed.wait(timeout=15)
    assert "Welcome to **Lock join**" in joined.text, joined.describe()
    assert "You're away until" in (await paused.wait(timeout=15)).text


async def test_twenty_members_agree_at_once_and_a_double_click_joins_once(world: World) -> None:
    members = crowd(world, 20)
    circle = await circle_of(world, "Agree", [])
    shown = [await m.run("/circle join", circle="Agree", channel=world.channel) for m in members]
    pressed = [m.click("I agree", message=s) for m, s in zip(members, shown, strict=True)]
    pressed.append(members[0].click("I agree", message=shown[0]))  # a double click
    replies = await together(*pressed, seed=11)
    texts = [r.text for r in replies]
    assert sum(t.startswith("Welcome to **Agree**") for t in texts) == 20, texts
    assert sum("already a member" in t for t in texts) == 1, texts
    async with world.bot.resources.db.read() as tx:
        from bot.storage.repositories import circles as circles_repo

        assert sorted(await circles_repo.member_ids(tx, circle.id)) == sorted(m.id for m in members)


async def test_two_facilitators_creating_the_same_circle_at_once_make_one(world: World) -> None:
    second = world.guild.add_member("Bea", manage_guild=True)
    replies = await together(
        *(
            f.run("/facilitate circle create", name="Same Name", channel=world.channel)
            for f in (world.facilitator, second)
        ),
        seed=4,
    )
    said = sorted(r.content for r in replies)
    assert said[0].startswith("Created **Same Name**"), said
    assert "already has a circle called" in said[1], said
