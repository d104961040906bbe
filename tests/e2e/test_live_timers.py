"""Timers that really fire: APScheduler wakes the bot and the job runs, with nobody calling
`run_due()` or moving a clock.

Each test runs its own bot on the real clock (`SystemClock`, as `circlekeeper run` does),
stores jobs due a second or two ahead, and waits for their effect on the local server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.domain.checkins import Visibility
from bot.storage.repositories import jobs as jobs_repo
from bot.timeutil import to_db
from tests.e2e.checkin_helpers import rounds_of
from tests.e2e.conftest import Stage, World, new_world, open_stage

SOON = timedelta(seconds=1.5)
WAIT = 10.0  # seconds: far more than SOON, for a loaded machine


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    async with open_stage(tmp_path, clock=SystemClock()) as own:
        yield own


@pytest.fixture
async def world(stage: Stage) -> World:
    return await new_world(stage)


async def test_a_stored_open_job_fires_on_time_and_posts_the_round(world: World) -> None:
    services, jobs = world.bot.resources.services, world.bot.resources.jobs
    circle = await services.circles.create(
        world.guild.id, "Live", world.channel.id, None, world.facilitator.id
    )
    await services.circles.join(circle.id, world.sam.id)
    await services.checkins.set_schedule(circle, "daily", "19:00", "2h")
    due = world.clock.now() + SOON
    await jobs.schedule(f"checkin-open:{circle.id}", "checkin-open", due, {"circle_id": circle.id})
    assert world.channel.messages == []  # not before its time

    prompt = await world.server.wait_for(
        lambda: next((m for m in world.channel.messages if m.buttons == ["Check in"]), None),
        timeout=WAIT,
        message="the open timer never fired",
    )

    await world.bot.resources.services.outbox.drain()  # the post's id is recorded after it
    [round_] = await rounds_of(world.bot, circle)
    assert round_.slot == to_db(due)
    assert round_.opened_at >= due
    assert prompt.id == round_.message_id
    async with world.bot.resources.db.read() as tx:
        following = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert following is not None and following.run_at > due  # the next slot is armed


async def test_a_short_round_reminds_and_closes_by_its_own_timers(world: World) -> None:
    services = world.bot.resources.services
    circle = await services.circles.create(
        world.guild.id, "Short", world.channel.id, None, world.facilitator.id
    )
    for member in (world.sam, world.kai):
        await services.circles.join(circle.id, member.id)
    await services.checkins.set_reminders(world.kai.id, True)
    round_ = (await services.checkins.open_now(circle, close_after=timedelta(seconds=2))).round
    await services.checkins.answer(round_.id, world.sam.id, 4, "on time", Visibility.CIRCLE)

    summary = await world.server.wait_for(
        lambda: next((m for m in world.channel.messages if "Check-in closed" in m.text), None),
        timeout=WAIT,
        message="the close timer never fired",
    )

    assert "**1** checked in" in summary.text and "on time" in summary.text
    [reminder] = world.kai.dms  # the remind timer fired before the close
    assert "A gentle reminder" in reminder.text
    [closed] = await rounds_of(world.bot, circle)
    assert closed.closed_at is not None and closed.closed_at >= round_.closes_at
    async with world.bot.resources.db.read() as tx:
        assert await jobs_repo.all_jobs(tx) == []
