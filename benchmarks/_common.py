"""Shared pieces of the benchmarks: a local server with the real bot, and percentiles."""

from __future__ import annotations

import os
import statistics
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import CircleBot
from bot.clock import Clock
from bot.localdiscord import LocalDiscord, Reply
from bot.sandbox.harness import running_bot


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ack_ms(reply: Reply) -> float:
    """Server-side: from dispatching INTERACTION_CREATE to receiving the bot's first callback."""
    inter = reply.interaction
    assert inter.callback_at is not None, "the bot never acknowledged"
    return (inter.callback_at - inter.created) * 1000


def describe(name: str, samples: Sequence[float]) -> str:
    return (
        f"{name:<28} n={len(samples):<5} p50={percentile(samples, 50):7.2f} ms  "
        f"p99={percentile(samples, 99):7.2f} ms  mean={statistics.fmean(samples):7.2f} ms"
    )


@asynccontextmanager
async def bench_database() -> AsyncIterator[str | None]:
    """None (use the SQLite file), or with BENCH_POSTGRES=1 the URL of a database on a
    throwaway PostgreSQL server (started as the tests start one)."""
    if not os.environ.get("BENCH_POSTGRES"):
        yield None
        return
    from tests.postgres_server import PostgresServer

    postgres = PostgresServer.start()
    try:
        yield postgres.create_database("bench")
    finally:
        postgres.stop()


def bench_server() -> LocalDiscord:
    # settle=0: the driver returns as soon as the bot answered; rate limits off so the
    # benchmark measures the bot, not the simulated 5-messages-per-5-seconds bucket.
    return LocalDiscord(settle=0.0, rate_limits=False, reply_timeout=30.0)


@asynccontextmanager
async def local_bot(
    db_path: Path, clock: Clock | None = None
) -> AsyncIterator[tuple[LocalDiscord, CircleBot]]:
    """The local server and the real bot in this process, on one event loop."""
    async with bench_database() as db_url, bench_server() as server:
        guild = server.create_guild("Bench")
        server.bench_guild = guild  # type: ignore[attr-defined]
        server.bench_db_url = db_url  # type: ignore[attr-defined]
        async with running_bot(server, db_path, clock=clock, db_url=db_url) as bot:
            await server.wait_until_connected()
            yield server, bot
