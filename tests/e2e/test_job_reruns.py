"""A check-in job that runs twice has one effect: one round and one prompt per slot, one
reminder DM per member, one summary and one facilitators delivery per round.

A job runs again when the bot stops after its handler finished but before its row was
removed (the next start runs it again): "in sequence" stores the job again and runs what is
due, twice. "At once" runs its handler twice concurrently, as two overlapping runs would
(the scheduler's own in-process guard is tested in tests/storage/test_scheduler.py).
Effects are read on the local server; the clock is not moved.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.checkins import Visibility
from bot.domain.circles import Circle
from bot.localdiscord import Member
from bot.localdiscord.state import Message
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob
from tests.e2e.checkin_helpers import rounds_of
from tests.e2e.conftest import World

MODES = ["in sequence", "at once"]
REMINDER = "A gentle reminder"
SUMMARY = "Check-in closed"


async def run_twice(world: World, job: StoredJob, mode: str) -> None:
    jobs = world.bot.resources.jobs
    if mode == "in sequence":
        for _ in range(2):
            async with world.bot.resources.db.transaction() as tx:
                await jobs_repo.upsert(tx, job)  # stored again, as after a crash
            await jobs.run_due()
    else:
        handler = jobs._handlers[job.kind]  # what the scheduler calls for this kind
        await asyncio.gather(handler(job), handler(job))
    await world.bot.resources.services.outbox.drain()  # and deliver what the runs owe


async def quiet(world: World, effect: object) -> None:
    """Wait for the first effect, then a moment more, so a second one would have shown."""
    await world.server.wait_for(lambda: effect() if callable(effect) else effect)
    await asyncio.sleep(0.2)


async def circle_of(world: World, *members: Member) -> Circle:
    services = world.bot.resources.services
    circle = await services.circles.create(
        world.guild.id, "Reruns", world.channel.id, None, world.facilitator.id
    )
    for member in members:
        await services.circles.join(circle.id, member.id)
    return circle


async def circles_get(world: World, circle_id: int) -> Circle:
    async with world.bot.resources.db.read() as tx:
        circle = await circles_repo.get(tx, circle_id)
    assert circle is not None
    return circle


def prompts(world: World) -> list[Message]:
    return [m for m in world.channel.messages if m.buttons == ["Check in"]]


def summaries(world: World) -> list[Message]:
    return [m for m in world.channel.messages if SUMMARY in m.text]


@pytest.mark.parametrize("mode", MODES)
async def test_an_open_job_run_twice_opens_one_round_with_one_prompt(
    world: World, mode: str
) -> None:
    checkins = world.bot.resources.services.checkins
    circle = await circle_of(world, world.sam)
    await checkins.set_schedule(circle, "daily", "19:00", "2h")
    circle = await circles_get(world, circle.id)
    slot = world.clock.now() - timedelta(minutes=1)  # this slot is due now
    job = StoredJob(f"checkin-open:{circle.id}", "checkin-open", slot, {"circle_id": circle.id})

    await run_twice(world, job, mode)
    await quiet(world, lambda: prompts(world))

    [round_] = await rounds_of(world.bot, circle)
    assert round_.opened_at == world.clock.now()
    assert [m.id for m in prompts(world)] == [round_.message_id]
    await checkins.close_now(circle)
    await checkins.clear_schedule(circle)


@pytest.mark.parametrize("mode", MODES)
async def test_a_remind_job_run_twice_dms_each_member_once(world: World, mode: str) -> None:
    checkins = world.bot.resources.services.checkins
    for member in (world.sam, world.kai):
        await checkins.set_reminders(member.id, True)
    circle = await circle_of(world, world.sam, world.kai, world.noor)
    round_ = (await checkins.open_now(circle)).round
    job = StoredJob(
        f"checkin-remind:{round_.id}", "checkin-remind", world.clock.now(), {"round_id": round_.id}
    )

    await run_twice(world, job, mode)
    await quiet(world, lambda: world.sam.dms and world.kai.dms)

    for member in (world.sam, world.kai):
        assert [REMINDER in m.text for m in member.dms] == [True], member.dms
    assert world.noor.dms == []  # reminders off
    await checkins.close_now(circle)


@pytest.mark.parametrize("mode", MODES)
async def test_a_close_job_run_twice_posts_one_summary_and_delivers_once(
    world: World, mode: str
) -> None:
    checkins = world.bot.resources.services.checkins
    circle = await circle_of(world, world.sam, world.kai)
    round_ = (await checkins.open_now(circle)).round
    private = "for the facilitators alone, once"
    await checkins.answer(round_.id, world.sam.id, 2, private, Visibility.FACILITATORS)
    await checkins.answer(round_.id, world.kai.id, 4, "shared", Visibility.CIRCLE)
    job = StoredJob(
        f"checkin-close:{round_.id}", "checkin-close", world.clock.now(), {"round_id": round_.id}
    )

    await run_twice(world, job, mode)
    await quiet(world, lambda: summaries(world) and world.facilitator.dms)

    [summary] = summaries(world)
    assert "**2** checked in" in summary.text
    assert [private in m.text for m in world.facilitator.dms] == [True]
    [closed] = await rounds_of(world.bot, circle)
    assert closed.closed_at is not None
