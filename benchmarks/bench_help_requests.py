"""Help requests at scale, through the local Discord server with the real bot.

50 circles of 40 members (2,000 members) with mixed capacity: about half available (some
for a few kinds only), some limited, some resting, the rest never set. 500 asks go through
`/ask` → form → submit; for each, the first member told offers and is accepted, and each
ask is resolved 20 asks later (so helps overlap). Prints:

- routing time per ask (the whole store-route-owe transaction of HelpService.ask),
- DMs sent per ask (routing DMs, and all help DMs),
- the Gini coefficient of helps per member with capacity after all 500, beside the same
  500 asks routed to five random members with capacity (a pure simulation, same rules
  otherwise), and
- the acknowledgement p99 of the `/ask` submit beside a bare `/ping`.

Run: .venv/bin/python benchmarks/bench_help_requests.py   (BENCH_POSTGRES=1 for PostgreSQL)
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ack_ms, describe, local_bot, percentile
from bot.clock import FakeClock
from bot.domain.help_requests import (
    Candidate,
    Capacity,
    CapacityState,
    Kind,
    Outcome,
    eligible,
    gini,
)
from bot.services import help_requests as kinds
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import help_requests as help_repo

CIRCLES, PER_CIRCLE, ASKS, KEEP_OPEN = 50, 40, 500, 20
SEED = 12


def capacity_for(rng: random.Random, member_id: int) -> Capacity | None:
    roll = rng.random()
    if roll < 0.20:
        return None  # never set: never routed
    if roll < 0.35:
        return Capacity(member_id, CapacityState.RESTING)
    kinds_ = frozenset(Kind) if rng.random() < 0.6 else frozenset(rng.sample(list(Kind), 2))
    state = CapacityState.LIMITED if roll < 0.50 else CapacityState.AVAILABLE
    return Capacity(member_id, state, kinds=kinds_)


def random_routing_gini(
    plan: list[tuple[int, int, Kind]], capacities: dict[int, Capacity], members: list[list[int]]
) -> float:
    """The same asks, each told to five random members with room (capacity and caps kept,
    no load ordering); the first told helps, as in the real run."""
    rng = random.Random(SEED)
    helps: Counter[int] = Counter()
    open_helps: Counter[int] = Counter()
    active: list[int] = []
    clock = FakeClock()
    for circle, asker, kind in plan:
        candidates = [
            Candidate(m, capacities.get(m), open_helps[m])
            for m in members[circle]
            if m in capacities
        ]
        room = [c.member_id for c in candidates if eligible(c, kind, asker, clock.now())]
        told = rng.sample(room, min(5, len(room)))
        helper = told[0] if told else None
        active.append(helper or 0)
        if helper:
            helps[helper] += 1
            open_helps[helper] += 1
        if len(active) > KEEP_OPEN:
            done = active.pop(0)
            if done:
                open_helps[done] -= 1
        clock.advance(timedelta(minutes=10))
    routed = [m for m, c in capacities.items() if c.state is not CapacityState.RESTING]
    return gini([helps[m] for m in routed])


def timed(
    samples: list[float], work: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await work(*args, **kwargs)
        finally:
            samples.append((time.perf_counter() - started) * 1000)

    return wrapper


async def main() -> None:
    rng = random.Random(SEED)
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        async with local_bot(Path(tmp) / "bench.db", clock) as (server, bot):
            guild = server.bench_guild  # type: ignore[attr-defined]
            ada = guild.add_member("Ada", manage_guild=True)
            db, now = bot.resources.db, clock.now()
            channels, handles, members = [], [], []
            capacities: dict[int, Capacity] = {}
            started = time.perf_counter()
            async with db.transaction() as tx:
                for c in range(CIRCLES):
                    channel = guild.create_text_channel(f"circle-{c}")
                    circle = await circles_repo.create(
                        tx, guild.id, f"Circle {c}", channel.id, "UTC", now
                    )
                    people = [guild.add_member(f"M{c}-{i}") for i in range(PER_CIRCLE)]
                    for person in people:
                        await circles_repo.add_member(tx, circle, person.id, now)
                        capacity = capacity_for(rng, person.id)
                        if capacity is not None:
                            capacities[person.id] = capacity
                            await help_repo.set_capacity(tx, guild.id, capacity, now)
                    channels.append(channel)
                    handles.append(people)
                    members.append([p.id for p in people])
            await server.wait_for(lambda: bot.get_channel(channels[-1].id) is not None)
            print(
                f"Seeded {CIRCLES} circles x {PER_CIRCLE} members, {len(capacities)} with capacity "
                f"set, in {time.perf_counter() - started:.1f} s"
            )
            floor = [ack_ms(await ada.run("/ping", channel=channels[0])) for _ in range(300)]

            service = bot.resources.services.help
            routing: list[float] = []
            service.ask = timed(routing, service.ask)  # type: ignore[method-assign]
            plan: list[tuple[int, int, Kind]] = []
            submits: list[float] = []
            open_asks: list[tuple[int, int]] = []
            kind_list = list(Kind)
            started = time.perf_counter()
            for n in range(ASKS):
                circle = rng.randrange(CIRCLES)
                asker = rng.choice(handles[circle])
                kind = rng.choice(kind_list)
                form = await asker.run("/ask", channel=channels[circle], kind=kind.value)
                if form.modal is None:  # the asker is at their open-ask cap: someone else
                    continue
                reply = await asker.submit(form, what_you_need=f"Ask {n}: help with something")
                submits.append(ack_ms(reply))
                plan.append((circle, asker.id, kind))
                async with db.read() as tx:
                    ask_id = int(await tx.scalar("SELECT MAX(id) FROM help_asks"))
                told = await service.routed(ask_id)
                if told:
                    await service.offer(ask_id, told[0])
                    await service.accept(ask_id, asker.id, told[0])
                open_asks.append((ask_id, asker.id))
                if len(open_asks) > KEEP_OPEN:
                    done, by = open_asks.pop(0)
                    await service.close(done, by, Outcome.RESOLVED)
                clock.advance(timedelta(minutes=10))
            await bot.resources.services.outbox.drain()
            total_s = time.perf_counter() - started

            async with db.read() as tx:
                rows = await tx.fetchall("SELECT kind, payload FROM outbox")
                helps = await tx.fetchall(
                    "SELECT offerer_id, COUNT(*) AS n FROM help_offers WHERE accepted_at IS NOT NULL "
                    "GROUP BY offerer_id"
                )
            counts = Counter(r["kind"] for r in rows)
            asked = len(submits)
            by_member = {int(r["offerer_id"]): int(r["n"]) for r in helps}
            routed_pool = [m for m, c in capacities.items() if c.state is not CapacityState.RESTING]
            ours = gini([by_member.get(m, 0) for m in routed_pool])
            theirs = random_routing_gini(plan, capacities, members)
            active = sum(1 for t in guild.threads if not t.archived)

    dm_total = sum(counts[k] for k in kinds.DM_KINDS)
    print(f"\n{asked} asks through /ask → form → submit in {total_s:.1f} s")
    print("  " + describe("routing (HelpService.ask)", routing))
    print(
        f"  DMs per ask: routing {counts[kinds.ROUTE] / asked:.2f} (at most 5), all help DMs "
        f"{dm_total / asked:.2f} (route, offer, accepted, resolved)"
    )
    print(
        f"  helps per member with capacity: Gini {ours:.3f} with load-spread routing vs "
        f"{theirs:.3f} routing to 5 random members with room; most helps by one member "
        f"{max(by_member.values(), default=0)}, mean {statistics.fmean(by_member.values() or [0]):.2f}"
    )
    print(f"  active threads at the end: {active} (Discord's cap: 1,000)")
    print("  " + describe("bare /ping", floor))
    print("  " + describe("/ask submit", submits))
    print(f"  /ask submit p99 / /ping p99 = {percentile(submits, 99) / percentile(floor, 99):.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
