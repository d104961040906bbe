"""Scheduled rounds against the clock: opening and closing on time, DST, restarts.

Each test runs its own local server and restarts the real bot on the same database
and server. The FakeClock is set to fixed dates; every persisted job that became due is
run with `run_due()`, as APScheduler would at start or at the job's time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from bot.app import CircleBot
from bot.clock import FakeClock
from bot.localdiscord import Channel, Guild, LocalDiscord, Member
from bot.sandbox.harness import running_bot
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob
from tests.conftest import BACKENDS, fresh_database
from tests.e2e.checkin_helpers import (
    answers_of,
    check_in,
    circle_named,
    create_circle,
    join,
    open_round,
    round_message,
    rounds_of,
)
from tests.e2e.conftest import run_due
from tests.e2e.strict import assert_spec_clean, strict_server


@dataclass
class Timers:
    server: LocalDiscord
    clock: FakeClock
    guild: Guild
    facilitator: Member
    member: Member
    db_path: Path
    db_url: str | None = None  # on PostgreSQL: its database (the key file sits by db_path)
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    bot: CircleBot | None = None

    @property
    def live(self) -> CircleBot:
        assert self.bot is not None, "the bot is stopped"
        return self.bot

    async def start(self) -> CircleBot:
        assert self.bot is None
        self.stack = contextlib.AsyncExitStack()
        self.bot = await self.stack.enter_async_context(
            running_bot(self.server, self.db_path, clock=self.clock, db_url=self.db_url)
        )
        return self.bot

    async def stop(self) -> None:
        await self.stack.aclose()
        self.bot = None

    async def restart(self) -> CircleBot:
        await self.stop()
        return await self.start()

    async def run_due(self) -> int:
        return await run_due(self.live)

    async def at(self, when: datetime) -> int:
        """Set the clock and run whatever became due."""
        self.clock.set(when)
        return await self.run_due()

    def channel(self, name: str) -> Channel:
        return self.guild.create_text_channel(name)


@pytest.fixture(params=BACKENDS)
async def timers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Timers]:
    """A server, a bot and a database of each test's own: tests set the clock to fixed dates."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    db_path = tmp_path / "circlekeeper.db"
    target = fresh_database(request, request.param, db_path)
    clock = FakeClock(datetime(2026, 2, 2, 12, 0, tzinfo=UTC))
    async with strict_server() as server:
        guild = server.create_guild("Timers")
        env = Timers(
            server,
            clock,
            guild,
            guild.add_member("Ada", manage_guild=True),
            guild.add_member("Sam"),
            db_path,
            target if isinstance(target, str) else None,
        )
        try:
            await env.start()
            await server.wait_until_connected()
            yield env
            assert_spec_clean(server)
        finally:
            await env.stop()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def _schedule(env: Timers, name: str, channel: Channel, **options: str) -> None:
    reply = await env.facilitator.run(
        "/facilitate checkin schedule", channel=channel, options={"circle": name, **options}
    )
    assert reply.ephemeral and reply.content.startswith(f"**{name}**: "), reply.describe()


async def _circle(env: Timers, name: str, timezone: str | None = None) -> Channel:
    channel = env.channel(name.lower().replace(" ", "-"))
    await create_circle(env.facilitator, name, channel, timezone=timezone)
    await join(env.member, name, channel)
    return channel


def _summaries(channel: Channel) -> list[str]:
    return [m.text for m in channel.messages if "Check-in closed" in m.text]


def _prompts(channel: Channel) -> list[str]:
    return [m.text for m in channel.messages if m.buttons == ["Check in"]]


async def test_a_scheduled_round_opens_at_its_time_and_closes_on_time(timers: Timers) -> None:
    env = timers
    env.clock.set(datetime(2026, 2, 2, 12, 0, tzinfo=UTC))  # a Monday
    channel = await _circle(env, "Timed Circle")
    await _schedule(env, "Timed Circle", channel, days="mon", time="19:00", close_after="2h")
    circle = await circle_named(env.live, env.guild.id, "Timed Circle")

    assert await env.at(datetime(2026, 2, 2, 18, 59, tzinfo=UTC)) == 0
    assert channel.messages == []
    await env.at(datetime(2026, 2, 2, 19, 0, tzinfo=UTC))
    round_ = await open_round(env.live, circle)
    assert round_ is not None
    assert (round_.opened_at, round_.closes_at) == (
        datetime(2026, 2, 2, 19, 0, tzinfo=UTC),
        datetime(2026, 2, 2, 21, 0, tzinfo=UTC),
    )
    assert len(_prompts(channel)) == 1
    await check_in(
        env.member,
        round_message(channel, round_),
        mood="4",
        note="Fine",
        who_sees_this="the circle",
    )

    await env.at(datetime(2026, 2, 2, 20, 59, tzinfo=UTC))
    assert _summaries(channel) == []
    await env.at(datetime(2026, 2, 2, 21, 0, tzinfo=UTC))
    [summary] = _summaries(channel)
    assert "**1** checked in" in summary and f"<@{env.member.id}> — 4 good\n> Fine" in summary
    [closed] = await rounds_of(env.live, circle)
    assert closed.closed_at == datetime(2026, 2, 2, 21, 0, tzinfo=UTC)
    async with env.live.resources.db.read() as tx:
        job = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert job is not None and job.run_at == datetime(2026, 2, 9, 19, 0, tzinfo=UTC)

    await env.at(datetime(2026, 2, 9, 19, 0, tzinfo=UTC))
    assert len(_prompts(channel)) == 2
    await env.at(datetime(2026, 2, 9, 21, 0, tzinfo=UTC))
    assert len(_summaries(channel)) == 2
    await _schedule_off(env, "Timed Circle", channel)


async def _schedule_off(env: Timers, name: str, channel: Channel) -> None:
    reply = await env.facilitator.run(
        "/facilitate checkin schedule", channel=channel, options={"circle": name, "days": "off"}
    )
    assert reply.ephemeral and "are off" in reply.content


async def test_a_restart_mid_round_keeps_the_button_and_the_close_time(timers: Timers) -> None:
    env = timers
    env.clock.set(datetime(2026, 7, 6, 12, 0, tzinfo=UTC))
    channel = await _circle(env, "Restart Circle")
    opened = await env.facilitator.run(
        "/facilitate checkin now", circle="Restart Circle", channel=channel
    )
    assert opened.ephemeral, opened.describe()
    circle = await circle_named(env.live, env.guild.id, "Restart Circle")
    round_ = await open_round(env.live, circle)
    assert round_ is not None
    prompt = round_message(channel, round_)

    await env.restart()
    await env.at(datetime(2026, 7, 6, 18, 0, tzinfo=UTC))
    assert await open_round(env.live, circle) == round_
    text = await check_in(
        env.member, prompt, mood="3", note="After the restart", who_sees_this="the circle"
    )
    assert text.startswith("Thank you. Your check-in is saved: 3 okay")
    [answer] = await answers_of(env.live, round_.id)
    assert (answer.mood, answer.note) == (3, "After the restart")

    await env.restart()
    assert await env.at(round_.closes_at - timedelta(minutes=1)) == 1  # the reminder job only
    assert _summaries(channel) == []
    await env.at(round_.closes_at)
    [summary] = _summaries(channel)
    assert "**1** checked in" in summary and "After the restart" in summary
    [closed] = await rounds_of(env.live, circle)
    assert closed.closed_at == round_.closes_at
    await env.restart()
    await env.at(round_.closes_at + timedelta(hours=1))
    assert len(_summaries(channel)) == 1


async def test_a_round_due_while_the_bot_was_down_opens_once(timers: Timers) -> None:
    env = timers
    env.clock.set(datetime(2026, 7, 13, 12, 0, tzinfo=UTC))  # a Monday
    channel = await _circle(env, "Downtime Circle")
    await _schedule(env, "Downtime Circle", channel, days="mon", time="19:00", close_after="6h")
    circle = await circle_named(env.live, env.guild.id, "Downtime Circle")
    async with env.live.resources.db.read() as tx:
        due = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert due is not None and due.run_at == datetime(2026, 7, 13, 19, 0, tzinfo=UTC)

    await env.stop()
    env.clock.set(datetime(2026, 7, 13, 20, 30, tzinfo=UTC))  # down through 19:00
    await env.start()
    await env.run_due()
    [round_] = await rounds_of(env.live, circle)
    assert round_.opened_at == datetime(2026, 7, 13, 20, 30, tzinfo=UTC)
    assert round_.closes_at == datetime(2026, 7, 14, 1, 0, tzinfo=UTC)  # slot + 6h
    assert len(_prompts(channel)) == 1

    # A crash after opening but before the job was rescheduled: the old job runs again.
    async with env.live.resources.db.transaction() as tx:
        await jobs_repo.upsert(tx, StoredJob(due.job_id, due.kind, due.run_at, due.payload))
    for _ in range(2):
        await env.restart()
        await env.run_due()
    assert [r.id for r in await rounds_of(env.live, circle)] == [round_.id]
    still = await open_round(env.live, circle)
    assert still is not None and still.id == round_.id
    assert len(_prompts(channel)) == 1 and _summaries(channel) == []
    async with env.live.resources.db.read() as tx:
        nxt = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert nxt is not None and nxt.run_at == datetime(2026, 7, 20, 19, 0, tzinfo=UTC)

    await env.at(round_.closes_at)
    assert len(_summaries(channel)) == 1
    await _schedule_off(env, "Downtime Circle", channel)


async def test_a_round_missed_entirely_while_down_is_skipped(timers: Timers) -> None:
    env = timers
    env.clock.set(datetime(2026, 8, 3, 12, 0, tzinfo=UTC))  # a Monday
    channel = await _circle(env, "Missed Circle")
    await _schedule(env, "Missed Circle", channel, days="mon", time="19:00", close_after="2h")
    circle = await circle_named(env.live, env.guild.id, "Missed Circle")
    await env.stop()
    env.clock.set(datetime(2026, 8, 3, 21, 30, tzinfo=UTC))  # it would already have closed
    await env.start()
    await env.run_due()
    assert await rounds_of(env.live, circle) == [] and channel.messages == []
    async with env.live.resources.db.read() as tx:
        nxt = await jobs_repo.get(tx, f"checkin-open:{circle.id}")
    assert nxt is not None and nxt.run_at == datetime(2026, 8, 10, 19, 0, tzinfo=UTC)
    await _schedule_off(env, "Missed Circle", channel)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            datetime(2026, 3, 6, 12, 0, tzinfo=UTC),  # spring forward on Sun 2026-03-08
            [
                datetime(2026, 3, 7, 0, 0, tzinfo=UTC),  # Fri 19:00 EST
                datetime(2026, 3, 8, 0, 0, tzinfo=UTC),  # Sat 19:00 EST
                datetime(2026, 3, 8, 23, 0, tzinfo=UTC),  # Sun 19:00 EDT
                datetime(2026, 3, 9, 23, 0, tzinfo=UTC),  # Mon 19:00 EDT
            ],
        ),
        (
            datetime(2026, 10, 30, 12, 0, tzinfo=UTC),  # fall back on Sun 2026-11-01
            [
                datetime(2026, 10, 30, 23, 0, tzinfo=UTC),  # Fri 19:00 EDT
                datetime(2026, 10, 31, 23, 0, tzinfo=UTC),  # Sat 19:00 EDT
                datetime(2026, 11, 2, 0, 0, tzinfo=UTC),  # Sun 19:00 EST
                datetime(2026, 11, 3, 0, 0, tzinfo=UTC),  # Mon 19:00 EST
            ],
        ),
    ],
    ids=["march", "november"],
)
async def test_new_york_keeps_its_1900_across_dst(
    timers: Timers, start: datetime, expected: list[datetime]
) -> None:
    env = timers
    env.clock.set(start)
    name = f"Eastern {start:%B}"
    channel = await _circle(env, name, timezone="America/New_York")
    await _schedule(env, name, channel, days="daily", time="19:00", close_after="1h")
    circle = await circle_named(env.live, env.guild.id, name)
    for at in expected:
        before = len(await rounds_of(env.live, circle))
        await env.at(at - timedelta(minutes=1))
        assert len(await rounds_of(env.live, circle)) == before, f"opened before {at}"
        await env.at(at)
        rounds = await rounds_of(env.live, circle)
        assert len(rounds) == before + 1, f"nothing opened at {at}"
        assert rounds[-1].opened_at == at
        assert rounds[-1].closes_at == at + timedelta(hours=1)
        await env.at(at + timedelta(hours=1))
        assert (await rounds_of(env.live, circle))[-1].closed_at == at + timedelta(hours=1)
    assert len(_prompts(channel)) == len(expected) == len(_summaries(channel))
    await _schedule_off(env, name, channel)
