"""Buddy cycles across restarts: introductions and follow-ups are sent once, none lost.

The bot is stopped while an introduction DM is in flight (Discord has created it; the bot
never heard back), restarted, and the clock moved through the cycle with restarts between
pairing, the follow-up and the next cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.localdiscord import Member
from bot.storage.repositories import jobs as jobs_repo
from tests.e2e.checkin_helpers import circle_named, create_circle, join
from tests.e2e.test_checkin_timers import Timers, timers  # noqa: F401 (the fixture)

POST = "POST /channels/{channel_id}/messages"


def _count(member: Member, words: str) -> int:
    return len([m for m in member.dms if words in m.text])


async def _start_job_time(env: Timers, name: str) -> datetime:
    circle = await circle_named(env.live, env.guild.id, name)
    async with env.live.resources.db.read() as tx:
        job = await jobs_repo.get(tx, f"buddy-start:{circle.id}")
    assert job is not None
    return job.run_at


async def test_nothing_is_sent_twice_and_nothing_lost_across_restarts(timers: Timers) -> None:  # noqa: F811
    env = timers
    people = [env.member, *(env.guild.add_member(f"Re{i}") for i in range(3))]
    channel = env.channel("restart-circle")
    await create_circle(env.facilitator, "Restart Circle", channel)
    for member in people:
        await join(member, "Restart Circle", channel)
        reply = await member.run("/buddy join", circle="Restart Circle", channel=channel)
        assert "You're in buddy pairing" in reply.content, reply.describe()
    reply = await env.facilitator.run(
        "/facilitate buddies schedule",
        circle="Restart Circle",
        every="1w",
        day="tue",
        time="18:00",
        channel=channel,
    )
    assert reply.ephemeral and "every week, Tue at 18:00" in reply.content, reply.describe()
    start = await _start_job_time(env, "Restart Circle")

    # The first introduction is created by Discord, but the bot stops before hearing back.
    hold = env.server.hold(
        POST, stage="after", match=lambda body: "A first question" in str(body.get("content"))
    )
    try:
        env.clock.set(start + timedelta(minutes=1))
        await env.live.resources.jobs.run_due()
        await hold.wait_caught(10)
        await env.stop()
    finally:
        hold.release()
    await env.start()
    await env.run_due()
    assert [_count(m, "A first question") for m in people] == [1, 1, 1, 1]

    # A restart between pairing and the follow-up: one follow-up each, midway.
    await env.restart()
    await env.at(start + timedelta(days=3, hours=12, minutes=2))
    assert [_count(m, "did you and") for m in people] == [1, 1, 1, 1]
    await env.restart()
    await env.run_due()
    assert [_count(m, "did you and") for m in people] == [1, 1, 1, 1]
    assert [_count(m, "A first question") for m in people] == [1, 1, 1, 1]

    # The next cycle starts on time after one more restart: one new introduction each.
    await env.restart()
    await env.at(start + timedelta(weeks=1, minutes=1))
    assert [_count(m, "A first question") for m in people] == [2, 2, 2, 2]
