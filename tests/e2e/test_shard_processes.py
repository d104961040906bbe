"""Two bot processes share one PostgreSQL database, each running two of four shards.

A storm of scheduled rounds in many servers falls due as the processes start (every
server's opening timer at once), then closes together. One process is SIGKILLed in the
middle of the openings and again in the middle of the closings, and started again each
time. Every round must still open exactly once and close exactly once: one round row per
circle and slot, one prompt and one summary posted per channel, and each process armed
only its own servers' timers.

The kills land while prompts and summaries are being delivered (a timer's own run is a short
database transaction); a process dying inside a timer's run, leaving its claim behind, is
covered by tests/storage/test_shard_ownership.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import pytest

from bot.domain.circles import Circle
from bot.domain.schedule import RoundSchedule
from bot.localdiscord import Guild
from bot.localdiscord.driver import Channel
from bot.sharding import shard_of
from bot.storage.database import Database
from tests.e2e.botprocess import BotProcess
from tests.e2e.checkin_helpers import scheduled_circle
from tests.e2e.strict import assert_spec_clean, strict_server
from tests.postgres_server import PostgresServer

SHARDS = 4
SERVERS = 200  # the acceptance size; the time is the round length, not the count
CLOSE_AFTER = timedelta(seconds=60)  # long enough for two cold processes to start and open
WAIT = 120.0


async def _until(check: Callable[[], bool], what: str, *bots: BotProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not check():
        if loop.time() > deadline:
            tails = "\n".join(bot.tail(40) for bot in bots)
            raise TimeoutError(f"{what}: not within {WAIT}s\n{tails}")
        await asyncio.sleep(0.05)


def _titled(channel: Channel, title: str) -> int:
    return sum(any(e.get("title") == title for e in m.embeds) for m in channel.messages)


async def _seed(url: str, guilds: list[Guild], channels: list[Channel]) -> list[Circle]:
    """A circle per server whose scheduled round is due now (a storm at start)."""
    now = datetime.now(UTC)
    later = (now + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    schedule = RoundSchedule(
        tuple(range(7)), day_time(later.hour, later.minute), CLOSE_AFTER, "UTC"
    )
    circles = []
    async with await Database.open(url) as db:
        await db.migrate()
        async with db.transaction() as tx:
            for guild, channel in zip(guilds, channels, strict=True):
                circles.append(
                    await scheduled_circle(tx, guild.id, "Storm", channel.id, schedule, now)
                )
    return circles


async def _rounds(url: str) -> list[tuple[int, str, bool]]:
    async with await Database.open(url) as db, db.read() as tx:
        rows = await tx.fetchall("SELECT circle_id, slot, closed_at FROM rounds ORDER BY id")
    return [(int(r["circle_id"]), r["slot"], r["closed_at"] is not None) for r in rows]


@pytest.mark.timeout(600)
async def test_two_shard_processes_open_and_close_every_round_once_across_kills(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("shards")
    async with strict_server(shards=SHARDS, reply_timeout=WAIT) as server:
        guilds = []
        for n in range(SERVERS):
            guilds.append(server.create_guild(f"Server {n}"))
            time.sleep(0.0013)  # noqa: ASYNC251 (ids follow the clock: spread them over shards)
        assert {shard_of(g.id, SHARDS) for g in guilds} == set(range(SHARDS))
        channels = [g.create_text_channel("check-ins") for g in guilds]
        circles = await _seed(url, guilds, channels)
        key = BotProcess(server, tmp_path / "unused.db").data_key
        low = BotProcess(
            server, tmp_path / "a.db", key, database_url=url, shards="0-1", shard_count=SHARDS
        )
        high = BotProcess(
            server, tmp_path / "b.db", key, database_url=url, shards="2-3", shard_count=SHARDS
        )
        mine = {g.id for g in guilds if shard_of(g.id, SHARDS) < 2}
        low_channels = [c for g, c in zip(guilds, channels, strict=True) if g.id in mine]
        prompt, summary = "Check-in — Storm", "Check-in closed — Storm"
        try:
            await asyncio.gather(low.start(), high.start())
            # the openings storm: kill the low process once some of its prompts are out
            await _until(lambda: any(_titled(c, prompt) for c in low_channels), "a prompt", low)
            await low.restart()
            await _until(
                lambda: all(_titled(c, prompt) for c in channels), "every prompt", low, high
            )
            # the closings storm: kill it again once some of its summaries are out
            await _until(lambda: any(_titled(c, summary) for c in low_channels), "a summary", low)
            await low.restart()
            await _until(
                lambda: all(_titled(c, summary) for c in channels), "every summary", low, high
            )
            await server.flush()
            await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        finally:
            await low.kill()
            await high.kill()
        for bot in (low, high):
            print(f"{bot.run_args}:\n{bot.tail(20)}")

    assert [(_titled(c, prompt), _titled(c, summary)) for c in channels] == [(1, 1)] * SERVERS
    rounds = await _rounds(url)
    assert sorted(circle_id for circle_id, _, _ in rounds) == sorted(c.id for c in circles)
    assert all(closed for _, _, closed in rounds)
    # each process armed only its own servers' timers, at every start
    owned = {"shards 0-1/4": len(mine), "shards 2-3/4": SERVERS - len(mine)}
    for bot, label in ((low, "shards 0-1/4"), (high, "shards 2-3/4")):
        first = next(line for line in bot.lines if "Scheduler started with" in line)
        assert f"with {owned[label]} stored job(s) ({label})" in first, first
    assert low.starts == 3
    assert_spec_clean(server)
