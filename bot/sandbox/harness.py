"""Run the real Circlekeeper bot against a local Discord server.

Same settings type, same `open_resources` and `create_bot` as `circlekeeper run`: only
the endpoints, the token and (for tests) the clock differ.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import CircleBot
from bot.clock import Clock
from bot.localdiscord import LocalDiscord
from bot.settings import Settings
from bot.startup import create_bot, open_resources
from bot.static_data import StaticData

# The README's invite link: View Channels, Send Messages, Embed Links, Attach Files, Read
# Message History, Create Private Threads, Send Messages in Threads. The bot's role holds
# exactly these in the sandbox and the end-to-end tests, so they exercise what a real
# server grants (a test checks the README names the same permissions and integer).
INVITE_PERMISSIONS = 343597501440


def local_settings(
    server: LocalDiscord,
    db_path: Path,
    data_key: str | None = None,
    dev_guild_id: int | None = None,
    db_url: str | None = None,
    metrics_port: int | None = None,
) -> Settings:
    return Settings(
        token=server.token,
        api_base=server.api_base,
        gateway_url=server.gateway_url,
        dev_guild_id=dev_guild_id,
        db_path=db_path,
        data_key=data_key,
        log_level="WARNING",
        db_url=db_url,
        metrics_port=metrics_port,  # 0: any free port on loopback (the bot's `ops.port`)
    )


@asynccontextmanager
async def running_bot(
    server: LocalDiscord,
    db_path: Path,
    *,
    clock: Clock | None = None,
    static: StaticData | None = None,
    dm_min_gap: float = 0.0,
    ready_timeout: float = 10.0,
    dev_guild_id: int | None = None,
    db_url: str | None = None,
    data_key: str | None = None,
    metrics_port: int | None = None,
) -> AsyncIterator[CircleBot]:
    """Start the bot, wait until it is ready, and close it (and its database) on exit."""
    settings = local_settings(
        server,
        db_path,
        data_key=data_key,
        dev_guild_id=dev_guild_id,
        db_url=db_url,
        metrics_port=metrics_port,
    )
    async with open_resources(settings, clock, static) as resources:
        bot = create_bot(resources, guild_ready_timeout=0.1, dm_min_gap=dm_min_gap)
        task = asyncio.create_task(bot.start(server.token))
        try:
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {ready, task}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if task in done:
                    task.result()  # raise the startup error
                raise TimeoutError("the bot did not become ready against the local server")
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(task, return_exceptions=True)


class MovableClock:
    """The system's time plus an offset a scene can move forward ("ten minutes later")."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def time_mover(bot: CircleBot, clock: MovableClock) -> Callable[[timedelta], Awaitable[int]]:
    """Move the bot's clock and run what became due (timers, then what they owe)."""

    async def advance(delta: timedelta) -> int:
        clock.offset += delta
        ran = await bot.resources.jobs.run_due()
        await bot.resources.services.outbox.drain()
        return ran

    return advance
