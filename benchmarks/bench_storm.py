"""A round storm: every circle's scheduled check-in falls due at the same instant.

The local Discord server holds ``--servers`` servers of ``--members`` members each, with
``--circles`` circles per server (each in its own channel, the server's members shared out
among them). Every circle has a daily schedule whose opening timer is stored for the same
instant, ``--lead`` seconds after seeding (the bots start in that time; a warning says so
when they were not ready by then). Then, for each setup in turn:

* the bot runs as its own OS process (``python -m bot run``, as in production) on the
  real clock, with Discord's default rate limits on the local server (50 requests/s per
  bot, 5 messages per 5 s per channel);
* **ready**: from launching the process to its ``Ready`` line (every server received);
* **RSS**: the bot process's resident memory after ready and after the storm (and its peak);
* **storm**: from the due instant until every prompt is posted (seen by the local server),
  the prompts' own times (due → posted, p50/p99), and the rounds the bot opened;
* **429s**: answered by the local server, and as the bot counted them (``/metrics``);
* **scheduler lag** (due → run): the bot's own ``circlekeeper_scheduler_lag_seconds``
  histogram (its bucket bounds), and exactly from the rounds table (due → round opened);
* **/ping**: a bare ``/ping`` p50/p99 while idle before the storm, and every 100 ms through
  the storm, in the same run;
* the storm ends when every prompt is posted, or after 60 s without a new one (the script
  then exits 1: a prompt missing or posted twice is a failure, whatever the times).

Setups: ``sqlite`` (one process), ``pg`` (one process on PostgreSQL), ``pg-2proc`` (two
processes on one PostgreSQL database: ``--shards 0-1`` and ``--shards 2-3`` with
``--shard-count 4``). PostgreSQL is a throwaway server started as the tests start theirs
(fsync off). Ratios are to the first setup of the run.

Run: .venv/bin/python benchmarks/bench_storm.py [--servers 2000] [--members 50] [--circles 1]
         [--setups sqlite,pg,pg-2proc] [--lead 90]
     .venv/bin/python benchmarks/bench_storm.py --servers 1 --members 50000 --circles 500
         --setups sqlite,pg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import re
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, percentile
from bot.domain.circles import Circle
from bot.domain.schedule import RoundSchedule
from bot.localdiscord import Guild, LocalDiscord, Member, ReplyTimeout
from bot.localdiscord.driver import Channel
from bot.localdiscord.transcript import Event
from bot.sharding import shard_of
from bot.storage.database import Database
from bot.storage.repositories import circles as circles_repo
from bot.timeutil import from_db
from tests.e2e.botprocess import BotProcess
from tests.e2e.checkin_helpers import schedule_opening, scheduled_circle
from tests.postgres_server import PostgresServer

SETUPS = ("sqlite", "pg", "pg-2proc")
SHARD_COUNT = 4  # pg-2proc: two processes, two of four shards each
PROMPT_TITLE = "Check-in — "
PING_EVERY_S = 0.1
STORM_TIMEOUT_S = 900.0
QUIET_S = 60.0  # the storm is over when no prompt came for this long (some never will)


@dataclass
class World:
    """The local server's servers, the circles' channels, and who pings."""

    server: LocalDiscord
    guilds: list[Guild]
    channels: dict[int, list[Channel]]  # per server, one per circle
    members: dict[int, list[Member]]


@dataclass
class Figures:
    setup: str
    ready_s: list[float] = field(default_factory=list)  # per process
    rss_ready_mb: list[float] = field(default_factory=list)
    rss_after_mb: list[float] = field(default_factory=list)
    rss_peak_mb: list[float] = field(default_factory=list)
    cpu_storm_s: list[float] = field(default_factory=list)  # CPU the process used in the storm
    ready_before_due: bool = True
    circles: int = 0
    prompts: int = 0
    duplicates: int = 0
    storm_s: float = math.nan  # due → last prompt posted
    posted_s: list[float] = field(default_factory=list)  # due → each prompt posted
    opened_s: list[float] = field(default_factory=list)  # due → each round opened (DB)
    rounds: int = 0
    server_429: int = 0
    bot_429: dict[str, float] = field(default_factory=dict)
    lag_p50: float = math.nan  # histogram bucket bounds (s)
    lag_p99: float = math.nan
    lag_count: float = 0
    idle_ping_ms: list[float] = field(default_factory=list)
    storm_ping_ms: list[float] = field(default_factory=list)
    ping_failures: int = 0
    server_stall_ms: float = 0.0  # the local server's longest event-loop stall in the storm
    log_lines: Counter[str] = field(default_factory=Counter)
    first_error: str = ""


# -- the world ------------------------------------------------------------------------------


def build_world(servers: int, members: int, circles: int, shards: int) -> World:
    server = LocalDiscord(settle=0.0, reply_timeout=30.0, shards=shards)
    guilds: list[Guild] = []
    channels: dict[int, list[Channel]] = {}
    people: dict[int, list[Member]] = {}
    for n in range(servers):
        guild = server.create_guild(f"Server {n}")
        guilds.append(guild)
        channels[guild.id] = [guild.create_text_channel(f"circle-{n}-{c}") for c in range(circles)]
        people[guild.id] = [guild.add_member(f"Member {n}.{m}") for m in range(members)]
        time.sleep(0.0003)  # ids follow the clock: spread the servers over the shards
    return World(server, guilds, channels, people)


def daily_at(due: datetime) -> RoundSchedule:
    """Every day at `due`'s minute (UTC), open for 12 hours."""
    at = due.replace(second=0, microsecond=0, tzinfo=None).time()
    return RoundSchedule(tuple(range(7)), at, timedelta(hours=12), "UTC")


async def seed(target: str | Path, world: World, circles: int) -> list[Circle]:
    """Every circle and its members; their openings are scheduled for tomorrow for now."""
    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    made: list[Circle] = []
    async with await Database.open(target) as db:
        await db.migrate()
        async with db.transaction() as tx:
            for guild in world.guilds:
                mine = [
                    await scheduled_circle(
                        tx, guild.id, f"Storm {c}", channel.id, daily_at(later), later
                    )
                    for c, channel in enumerate(world.channels[guild.id])
                ]
                for m, member in enumerate(world.members[guild.id]):
                    await circles_repo.add_member(tx, mine[m % circles], member.id, now)
                made += mine
    return made


async def schedule_storm(target: str | Path, circles: Sequence[Circle], due: datetime) -> None:
    """Every circle's opening timer at the same instant (after seeding, however long it took)."""
    async with await Database.open(target) as db, db.transaction() as tx:
        for circle in circles:
            await schedule_opening(tx, circle, daily_at(due), due)


async def opened_lags(target: str | Path) -> list[float]:
    """Due (the round's slot) → the round opened, for every round, from the database."""
    async with await Database.open(target) as db, db.read() as tx:
        rows = await tx.fetchall("SELECT slot, opened_at FROM rounds")
    return [(from_db(r["opened_at"]) - from_db(r["slot"])).total_seconds() for r in rows]


# -- the bot processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StormBot(BotProcess):
    """A bot process with its metrics endpoint on a known loopback port."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.metrics_port = free_port()

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["CIRCLEKEEPER_METRICS_PORT"] = str(self.metrics_port)
        return env

    def cpu_s(self) -> float:
        """User + system CPU seconds this process has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.MULTILINE)
        return int(match[1]) / 1024 if match else math.nan

    async def metrics(self) -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as response,
        ):
            return await response.text()


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """The upper bound of the bucket holding quantile `q` (cumulative (le, count) pairs)."""
    total = buckets[-1][1] if buckets else 0
    if not total:
        return math.nan
    return next(le for le, count in buckets if count >= q * total)


def read_metrics(texts: Sequence[str]) -> tuple[list[tuple[float, float]], dict[str, float]]:
    """Scheduler-lag buckets (summed over processes) and 429s by scope."""
    lag: dict[float, float] = {}
    limited: dict[str, float] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "circlekeeper_scheduler_lag_seconds_bucket":
                    le = float(sample.labels["le"])
                    lag[le] = lag.get(le, 0) + sample.value
                elif sample.name == "circlekeeper_http_429_total":
                    scope = sample.labels["scope"]
                    limited[scope] = limited.get(scope, 0.0) + sample.value
    return sorted(lag.items()), limited


# -- one setup ------------------------------------------------------------------------------


@asynccontextmanager
async def database_for(
    setup: str, tmp: Path, postgres: PostgresServer | None
) -> AsyncIterator[str]:
    if setup == "sqlite":
        yield str(tmp / f"{setup}.db")
        return
    assert postgres is not None
    yield postgres.create_database(setup.replace("-", "_"))


def bots_for(setup: str, world: World, tmp: Path, target: str) -> list[StormBot]:
    db_path = tmp / f"{setup}.db"
    if setup == "sqlite":
        return [StormBot(world.server, db_path)]
    if setup == "pg":
        return [StormBot(world.server, db_path, database_url=target)]
    key = StormBot(world.server, db_path).data_key
    return [
        StormBot(
            world.server,
            db_path,
            key,
            database_url=target,
            shards=shards,
            shard_count=SHARD_COUNT,
        )
        for shards in ("0-1", "2-3")
    ]


async def ping(member: Member, channel: Channel, into: list[float], figures: Figures) -> None:
    try:
        reply = await member.run("/ping", channel=channel, timeout=60)
    except ReplyTimeout:
        figures.ping_failures += 1
        return
    into.append(ack_ms(reply))


def pingers(world: World, bots: Sequence[StormBot]) -> list[tuple[Member, Channel]]:
    """One member per bot process, in a server that process owns (if it owns any)."""
    chosen = []
    for bot in bots:
        owned = [
            g
            for g in world.guilds
            if bot.run_args == ["run"] or shard_of(g.id, SHARD_COUNT) in _shards(bot)
        ]
        if owned:
            chosen.append((world.members[owned[0].id][0], world.channels[owned[0].id][0]))
    return chosen


def _shards(bot: BotProcess) -> set[int]:
    first, last = bot.run_args[bot.run_args.index("--shards") + 1].split("-")
    return set(range(int(first), int(last) + 1))


async def watch_loop(stalls: list[float], every: float = 0.02) -> None:
    """How late this process's event loop (the local server's) wakes up, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(every)
        stalls.append(loop.time() - started - every)


async def run_setup(
    setup: str, world: World, tmp: Path, postgres: PostgresServer | None, lead: float
) -> Figures:
    figures = Figures(setup)
    circles_per_server = len(next(iter(world.channels.values())))
    posted: dict[int, list[float]] = {}  # channel id → times prompts were posted
    names = {c.name: c.id for chans in world.channels.values() for c in chans}

    def on_event(event: Event) -> None:
        if event.kind == "message" and any(
            e.get("title", "").startswith(PROMPT_TITLE) for e in event.embeds
        ):
            posted.setdefault(names.get(event.where.lstrip("#"), 0), []).append(event.time)

    async with database_for(setup, tmp, postgres) as target:
        bots = bots_for(setup, world, tmp, target)
        seeded = await seed(target, world, circles_per_server)
        due = datetime.now(UTC) + timedelta(seconds=lead)
        await schedule_storm(target, seeded, due)
        figures.circles = len(seeded)
        print(f"[{setup}] seeded {figures.circles:,} circles; launching {len(bots)} process(es)")
        unsubscribe = world.server.transcript.subscribe(on_event)

        async def start(bot: StormBot) -> float:
            started = time.perf_counter()
            await bot.start(timeout=STORM_TIMEOUT_S)
            return time.perf_counter() - started

        try:
            figures.ready_s = list(await asyncio.gather(*(start(b) for b in bots)))
            figures.rss_ready_mb = [b.rss_mb() for b in bots]
            due_epoch = due.timestamp()
            figures.ready_before_due = time.time() < due_epoch
            who = pingers(world, bots)
            for n in range(60):  # idle floor, while nothing is due
                if time.time() > due_epoch - 1:
                    break
                member, channel = who[n % len(who)]
                await ping(member, channel, figures.idle_ping_ms, figures)
            await asyncio.sleep(max(0.0, due_epoch - 0.5 - time.time()))
            cpu_before = [b.cpu_s() for b in bots]

            stalls: list[float] = []
            watcher = asyncio.create_task(watch_loop(stalls))
            tasks: list[asyncio.Task[None]] = []
            deadline = time.time() + STORM_TIMEOUT_S
            n, last_count, last_change = 0, 0, max(time.time(), due_epoch)
            while (count := sum(map(len, posted.values()))) < figures.circles:
                if count != last_count:
                    last_count, last_change = count, time.time()
                if time.time() > min(deadline, last_change + QUIET_S):
                    break
                member, channel = who[n % len(who)]
                tasks.append(
                    asyncio.create_task(ping(member, channel, figures.storm_ping_ms, figures))
                )
                n += 1
                await asyncio.sleep(PING_EVERY_S)
            await asyncio.gather(*tasks)
            watcher.cancel()
            figures.server_stall_ms = max(stalls, default=0.0) * 1000
            await world.server.flush()
            await asyncio.sleep(1.0)  # anything posted twice would arrive by now

            figures.cpu_storm_s = [b.cpu_s() - c for b, c in zip(bots, cpu_before, strict=True)]
            figures.rss_after_mb = [b.rss_mb() for b in bots]
            figures.rss_peak_mb = [b.rss_mb("VmHWM") for b in bots]
            lag, figures.bot_429 = read_metrics([await b.metrics() for b in bots])
            figures.lag_p50 = histogram_quantile(lag, 0.50)
            figures.lag_p99 = histogram_quantile(lag, 0.99)
            figures.lag_count = lag[-1][1] if lag else 0
        finally:
            unsubscribe()
            for bot in bots:
                await bot.kill()
        times = [t for ts in posted.values() for t in ts]
        figures.prompts = len(times)
        figures.duplicates = sum(len(ts) - 1 for ts in posted.values() if len(ts) > 1)
        figures.posted_s = [t - due_epoch for t in times]
        figures.storm_s = max(figures.posted_s) if times else math.nan
        figures.opened_s = await opened_lags(target)
        figures.rounds = len(figures.opened_s)
        figures.server_429 = world.server.ratelimiter.limited_count
        world.server.ratelimiter.limited_count = 0
        for bot in bots:
            for line in bot.lines:
                if " ERROR " in line and not figures.first_error:
                    figures.first_error = line
                if " WARNING " in line or " ERROR " in line:
                    figures.log_lines[re.sub(r"\d+(\.\d+)?", "N", line.split(" ", 2)[-1])] += 1
    return figures


# -- report ---------------------------------------------------------------------------------


def pcts(samples: Sequence[float], scale: float = 1.0, unit: str = "s") -> str:
    if not samples:
        return "n=0"
    return (
        f"p50 {percentile(samples, 50) * scale:.2f} {unit}, "
        f"p99 {percentile(samples, 99) * scale:.2f} {unit}, max {max(samples) * scale:.2f} {unit}"
    )


def per_process(values: Sequence[float], fmt: str) -> str:
    return " / ".join(fmt.format(v) for v in values)


def report(f: Figures) -> None:
    print(f"\n== {f.setup} ==")
    print(f"  ready (launch → Ready line), per process: {per_process(f.ready_s, '{:.1f} s')}")
    if not f.ready_before_due:
        print(
            "  NOTE: ready only after the due instant: the storm overlapped startup (raise --lead)"
        )
    print(
        f"  RSS after ready: {per_process(f.rss_ready_mb, '{:.0f} MB')}; "
        f"after the storm: {per_process(f.rss_after_mb, '{:.0f} MB')}; "
        f"peak: {per_process(f.rss_peak_mb, '{:.0f} MB')}"
    )
    print(
        f"  storm: {f.prompts:,} of {f.circles:,} prompts posted, last {f.storm_s:.2f} s after the "
        f"due instant; duplicates: {f.duplicates} (target: 0)"
    )
    print(f"  due → prompt posted: {pcts(f.posted_s)}")
    busiest = max(
        (sum(1 for t in f.posted_s if start <= t < start + 1) for start in f.posted_s), default=0
    )
    print(
        f"  prompts per second: {f.prompts / f.storm_s:.1f} on average, {busiest} in the busiest "
        f"second; bot CPU during the storm: {per_process(f.cpu_storm_s, '{:.1f} s')}"
    )
    print(f"  due → round opened ({f.rounds:,} rounds in the database): {pcts(f.opened_s)}")
    print(
        f"  scheduler lag (bot's /metrics histogram, {f.lag_count:.0f} jobs): "
        f"p50 ≤ {f.lag_p50:g} s, p99 ≤ {f.lag_p99:g} s (bucket bounds)"
    )
    bot_429 = sum(f.bot_429.values())
    scopes = ", ".join(f"{k} {v:.0f}" for k, v in sorted(f.bot_429.items()) if v) or "none"
    print(
        f"  429s: {f.server_429} answered by the server; {bot_429:.0f} seen by the bot ({scopes}) (target: 0)"
    )
    print(
        f"  local server (this process): longest event-loop stall in the storm {f.server_stall_ms:.0f} ms"
    )
    print(f"  /ping idle:        n={len(f.idle_ping_ms):<4} {pcts(f.idle_ping_ms, unit='ms')}")
    print(
        f"  /ping in the storm: n={len(f.storm_ping_ms):<4} {pcts(f.storm_ping_ms, unit='ms')}"
        + (f"; {f.ping_failures} unanswered" if f.ping_failures else "")
    )
    for line, times in f.log_lines.most_common(5):
        print(f"  bot log, {times}x: {line[:150]}")
    if f.first_error:
        print(f"  first error logged, its end: …{f.first_error[-400:]}")


def compare(all_figures: Sequence[Figures]) -> None:
    base = all_figures[0]
    print(f"\nRatios to {base.setup} (same run; >1 means longer or larger):")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"

    for f in all_figures[1:]:
        print(
            f"  {f.setup}: ready {ratio(max(f.ready_s), max(base.ready_s))}, "
            f"RSS per process after the storm {ratio(max(f.rss_after_mb), max(base.rss_after_mb))}, "
            f"storm {ratio(f.storm_s, base.storm_s)}, "
            f"opened p99 {ratio(percentile(f.opened_s, 99), percentile(base.opened_s, 99))}, "
            f"/ping p99 in the storm "
            f"{ratio(percentile(f.storm_ping_ms, 99), percentile(base.storm_ping_ms, 99))}"
        )


async def main(options: argparse.Namespace) -> int:
    setups = [s.strip() for s in options.setups.split(",") if s.strip()]
    unknown = [s for s in setups if s not in SETUPS]
    if unknown or not setups:
        print(f"unknown setup {unknown}: choose from {', '.join(SETUPS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    world = build_world(options.servers, options.members, options.circles, SHARD_COUNT)
    # The simulated Discord's own objects (every member of every server) would make each full
    # garbage collection in this process stall the local server, which then counts a backlog
    # of requests into one rate-limit window: keep them out of the collector's way.
    gc.freeze()
    spread = Counter(shard_of(g.id, SHARD_COUNT) for g in world.guilds)
    print(
        f"Local server: {options.servers:,} server(s) × {options.members:,} members, "
        f"{options.circles} circle(s) each ({options.servers * options.circles:,} circles), "
        f"built in {time.perf_counter() - started:.1f} s; servers per shard of {SHARD_COUNT}: "
        f"{dict(sorted(spread.items()))}"
    )
    results = []
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(world.server)
        postgres = None
        if any(s != "sqlite" for s in setups):
            postgres = PostgresServer.start()
            stack.callback(postgres.stop)
        with tempfile.TemporaryDirectory() as tmp:
            for setup in setups:
                figures = await run_setup(setup, world, Path(tmp), postgres, options.lead)
                report(figures)
                results.append(figures)
    if len(results) > 1:
        compare(results)
    complete = all(f.prompts == f.circles and f.duplicates == 0 for f in results)
    return 0 if complete else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=2000)
    parser.add_argument("--members", type=int, default=50, help="per server")
    parser.add_argument("--circles", type=int, default=1, help="per server")
    parser.add_argument("--setups", default=",".join(SETUPS), help=", ".join(SETUPS))
    parser.add_argument(
        "--lead", type=float, default=90.0, help="seconds from launch to the due instant"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
