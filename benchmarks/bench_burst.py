"""A burst: 1,000 members of one circle check in within the same ten seconds.

Three phases through the local Discord server with the real bot, in one run:

1. 1,000 bare ``/ping`` spread over the same ten seconds (the floor);
2. 1,000 members each press **Check in** and submit the form, concurrently, each starting
   at a random moment of a ten-second window;
3. the same 1,000 again for a new round, while another OS process holds the database's
   write lock for the first 5 s (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an
   ``EXCLUSIVE`` lock on the answers table, which blocks writers and lets readers through).

For each phase: how many were acknowledged within Discord's 3 s, the first-response
p50/p99, and the answers stored against those submitted; for phase 3 also who was told
"nothing was saved", and the two ways an answer could be lost (told saved but not stored,
or stored but told not saved), both of which must be 0.

By default the local server, the 1,000 simulated members and the bot share one process
and one event loop, as in the other benchmarks; ``--bot-process`` runs the bot as its own
OS process (``python -m bot run``, as in production, where Discord is not in the bot's
process), which separates the bot's limits from the simulation's.

Run: .venv/bin/python benchmarks/bench_burst.py [--bot-process] [--members N] [--window S]
     BENCH_POSTGRES=1 .venv/bin/python benchmarks/bench_burst.py
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import bench_database, bench_server, describe, local_bot, percentile
from bot.localdiscord import Channel, Guild, LocalDiscord, Member, Reply, ReplyTimeout, together
from bot.localdiscord.state import Message
from bot.resources import Resources
from bot.sandbox.harness import local_settings
from bot.startup import open_resources
from bot.storage.repositories import checkins as checkins_repo
from bot.tree import BUSY
from tests.e2e.botprocess import BotProcess

MEMBERS, WINDOW_S, LOCK_S, DEADLINE_S = 1_000, 10.0, 5.0, 3.0
ANSWER_TIMEOUT_S = 60.0  # how long a member waits for the real answer after a deferral


@dataclass
class Setup:
    """The local server, and the bot's database as this process sees it."""

    server: LocalDiscord
    guild: Guild
    resources: Resources  # to join members and count stored answers
    db_url: str | None
    late: Callable[[], int]  # answers Discord refused as too late, counted by the bot
    where: str
    log: Sequence[str] = ()  # the bot process's log lines (--bot-process only)


@asynccontextmanager
async def same_process(tmp: Path) -> AsyncIterator[Setup]:
    async with local_bot(tmp / "bench.db") as (server, bot):
        yield Setup(
            server,
            server.bench_guild,  # type: ignore[attr-defined]
            bot.resources,
            server.bench_db_url,  # type: ignore[attr-defined]
            lambda: bot.late_interactions,
            "bot, local server and members in one process",
        )


class _BotProcess(BotProcess):
    def __init__(self, server: LocalDiscord, db_path: Path, key: str, db_url: str | None) -> None:
        super().__init__(server, db_path, key)
        self.db_url = db_url

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.db_url:
            env["CIRCLEKEEPER_DB"] = self.db_url
        return env


@asynccontextmanager
async def own_process(tmp: Path) -> AsyncIterator[Setup]:
    db_path, key = tmp / "bench.db", Fernet.generate_key().decode()
    async with bench_database() as db_url, bench_server() as server:
        guild = server.create_guild("Bench")
        settings = local_settings(server, db_path, data_key=key, db_url=db_url)
        async with (
            open_resources(settings) as resources,
            _BotProcess(server, db_path, key, db_url) as bot,
        ):
            await server.wait_until_connected()
            yield Setup(
                server,
                guild,
                resources,
                db_url,
                lambda: sum("could not be answered" in line for line in bot.lines),
                "bot in its own OS process",
                bot.lines,
            )


@dataclass
class Outcome:
    """What one member saw: acknowledgement times (None: never acknowledged) and the answer."""

    member_id: int
    button_ms: float | None = None
    first_ms: float | None = None
    answer_ms: float | None = None  # until the real answer (after a deferral, its follow-up)
    text: str = ""
    failure: str = ""

    @property
    def in_time(self) -> bool:
        return self.first_ms is not None and self.first_ms <= DEADLINE_S * 1000

    @property
    def told_saved(self) -> bool:
        return "Thank you. Your check-in is" in self.text

    @property
    def told_busy(self) -> bool:
        return BUSY in self.text


def first_ms(reply: Reply) -> float | None:
    inter = reply.interaction
    return None if inter.callback_at is None else (inter.callback_at - inter.created) * 1000


async def at(
    offset: float, action: Callable[[Member, int], Awaitable[Outcome]], member: Member, n: int
) -> Outcome:
    await asyncio.sleep(offset)
    return await action(member, n)


async def ping(member: Member, channel: Channel) -> Outcome:
    outcome = Outcome(member.id)
    try:
        reply = await member.run("/ping", channel=channel, timeout=ANSWER_TIMEOUT_S)
    except ReplyTimeout as error:
        outcome.failure = str(error)
        return outcome
    outcome.first_ms, outcome.text = first_ms(reply), reply.text
    return outcome


async def check_in(member: Member, prompt: Message, n: int) -> Outcome:
    outcome = Outcome(member.id)
    try:
        form = await member.click("Check in", message=prompt, timeout=ANSWER_TIMEOUT_S)
        outcome.button_ms = first_ms(form)
        reply = await member.submit(
            form,
            mood="3",
            note=f"burst note {n}",
            who_sees_this="just me",
            timeout=ANSWER_TIMEOUT_S,
        )
    except ReplyTimeout as error:
        outcome.failure = str(error)
        return outcome
    outcome.first_ms, outcome.text = first_ms(reply), reply.text
    outcome.answer_ms = (time.monotonic() - reply.interaction.created) * 1000
    return outcome


async def burst(
    members: Sequence[Member],
    offsets: Sequence[float],
    action: Callable[[Member, int], Awaitable[Outcome]],
    seed: int,
) -> tuple[list[Outcome], float]:
    started = time.perf_counter()
    outcomes = await together(
        *(
            at(offset, action, member, n)
            for n, (member, offset) in enumerate(zip(members, offsets, strict=True))
        ),
        seed=seed,
    )
    return outcomes, time.perf_counter() - started


async def open_prompt(server: LocalDiscord, channel: Channel, facilitator: Member) -> Message:
    """Open a round of the circle "Burst" and return its posted prompt (with Check in)."""
    before = {m.id for m in channel.messages}
    reply = await facilitator.run("/facilitate checkin now", circle="Burst", channel=channel)
    assert reply.content.startswith("Opened a round"), reply.describe()
    await server.wait_for(
        lambda: any(m.components and m.id not in before for m in channel.messages), timeout=30
    )
    return next(m for m in reversed(channel.messages) if m.components)


async def stored_ids(resources: Resources, circle_id: int) -> set[int]:
    async with resources.db.read() as tx:
        round_ = await checkins_repo.open_round_of(tx, circle_id)
        assert round_ is not None
        answers = await checkins_repo.answers(tx, resources.cipher, round_.id)
    return {a.member_id for a in answers}


SQLITE_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""

POSTGRES_HOLDER = """
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    async with conn.transaction():
        await conn.execute("LOCK TABLE checkins IN EXCLUSIVE MODE")
        print("held", flush=True)
        await asyncio.sleep(float(sys.argv[2]))
        raise SystemExit(0)
asyncio.run(main())
"""


async def hold_write_lock(setup: Setup, seconds: float) -> asyncio.subprocess.Process:
    """Start a second OS process that takes the database's write lock; return once it holds it."""
    db_url = setup.db_url
    if db_url is None:
        script, target = SQLITE_HOLDER, str(setup.resources.db.path)  # type: ignore[attr-defined]
    else:
        script, target = POSTGRES_HOLDER, db_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, target, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.strip() == b"held", line
    return process


def report(name: str, outcomes: Sequence[Outcome], seconds: float) -> list[float]:
    firsts = [o.first_ms for o in outcomes if o.first_ms is not None]
    in_time = sum(o.in_time for o in outcomes)
    print(f"\n{name}: {len(outcomes):,} in {seconds:.1f} s")
    print(f"  acknowledged within 3 s: {in_time:,} / {len(outcomes):,} (target: all)")
    print("  " + describe("first response", firsts))
    answers = [o.answer_ms for o in outcomes if o.answer_ms is not None]
    if answers:
        print("  " + describe("real answer (driver side)", answers))
    buttons = [o.button_ms for o in outcomes if o.button_ms is not None]
    if buttons:
        print("  " + describe("Check in button → modal", buttons))
    failures = [o.failure for o in outcomes if o.failure]
    if failures:
        print(f"  no answer at all: {len(failures)}; first: {failures[0][:300]}")
    return firsts


def report_answers(outcomes: Sequence[Outcome], stored: set[int]) -> None:
    submitted = sum(o.button_ms is not None for o in outcomes)
    told_saved = {o.member_id for o in outcomes if o.told_saved}
    told_busy = {o.member_id for o in outcomes if o.told_busy}
    print(f"  answers stored: {len(stored):,} of {submitted:,} submitted (target: all)")
    print(f"  told saved: {len(told_saved):,}; told 'nothing was saved': {len(told_busy):,}")
    print(f"  lost (told saved, not stored): {len(told_saved - stored)} (target: 0)")
    print(f"  stored but told not saved: {len(told_busy & stored)} (target: 0)")
    silent = len(outcomes) - len(told_saved | told_busy)
    if silent:
        print(f"  neither told saved nor told busy: {silent}")


async def main(count: int, window: float, bot_process: bool) -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        async with (own_process if bot_process else same_process)(Path(tmp)) as setup:
            server, guild, resources = setup.server, setup.guild, setup.resources
            ada = guild.add_member("Ada", manage_guild=True)
            channel = guild.create_text_channel("burst")
            people = [guild.add_member(f"Member {i}") for i in range(count)]
            circles = resources.services.circles
            started = time.perf_counter()
            circle = await circles.create(guild.id, "Burst", channel.id, None, ada.id)
            for member in people:
                await circles.join(circle.id, member.id)
            print(
                f"{setup.where}, {resources.db.dialect}: {count:,} members joined one circle "
                f"in {time.perf_counter() - started:.1f} s; each phase spreads them over {window:.0f} s"
            )
            for _ in range(20):  # warm up
                await ada.run("/ping", channel=channel)

            def offsets() -> list[float]:
                return [rng.uniform(0, window) for _ in people]

            pings, took = await burst(people, offsets(), lambda m, _n: ping(m, channel), seed=1)
            floor = report("1. bare /ping burst", pings, took)

            prompt = await open_prompt(server, channel, ada)
            checkins, took = await burst(
                people, offsets(), lambda m, n: check_in(m, prompt, n), seed=2
            )
            submits = report("2. Check in + submit burst", checkins, took)
            report_answers(checkins, await stored_ids(resources, circle.id))

            await ada.run("/facilitate checkin close", circle="Burst", channel=channel)
            prompt = await open_prompt(server, channel, ada)
            late_before = setup.late()
            holder = await hold_write_lock(setup, LOCK_S)
            lock_started, held = time.perf_counter(), []
            released = asyncio.ensure_future(holder.wait())
            released.add_done_callback(lambda _: held.append(time.perf_counter() - lock_started))
            locked, took = await burst(
                people, offsets(), lambda m, n: check_in(m, prompt, n), seed=3
            )
            await released
            report(
                f"3. the same burst, write lock held by another process for {LOCK_S:.0f} s",
                locked,
                took,
            )
            print(
                f"  (the other process held the lock for the first {held[0]:.1f} s of the burst "
                f"and exited with code {holder.returncode})"
            )
            report_answers(locked, await stored_ids(resources, circle.id))
            print(
                f"  answers Discord refused as late, counted by the bot: "
                f"{late_before} before phase 3, {setup.late()} after"
            )

            warnings = Counter(
                re.sub(r"\d+(\.\d+)?", "N", line.split(" ", 2)[-1])
                for line in setup.log
                if " WARNING " in line or " ERROR " in line
            )
            for line, times in warnings.most_common(5):
                print(f"  bot log, {times}x: {line[:150]}")

    ratio = percentile(submits, 99) / percentile(floor, 99)
    print(f"\nsubmission p99 / /ping p99 (phase 2 / phase 1, same run) = {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--window", type=float, default=WINDOW_S, help="seconds")
    parser.add_argument("--bot-process", action="store_true", help="the bot in its own process")
    options = parser.parse_args()
    asyncio.run(main(options.members, options.window, options.bot_process))
