"""Buddy pairing at scale: the pairing itself, and introductions through the local server.

1. Pools of 10, 100, 500, 1,000 and 10,000 members, each with a year of weekly history
   (52 cycles of random pairs, 60% confirmed met) and 5% of members avoiding 1-3 others:
   time, method, avoided pairs made, repeats inside the window, members left alone,
   whether the result is certified optimal. Where the exact method runs too (pools up to
   `EXACT_UP_TO`, and sampled sub-pools of 150 from the large pools), the cost of the fast
   method against the exact one (1.00 = as good).
2. Introductions for a pool of 1,000 through the local Discord server with the real bot
   and Discord's rate limits on: time from `/facilitate buddies now` until every DM is
   sent, and the 429s the server answered. `--dm-gap` sets the bot's gap between DMs
   (production: 1.0 s).

Run: .venv/bin/python benchmarks/bench_buddies.py [--skip-intros] [--dm-gap 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.buddies import Costs, PastGroup, Rules, pair_members

POOLS = (10, 100, 500, 1_000, 10_000)
EXACT_UP_TO = 500
SAMPLE_SIZE, SAMPLES = 150, 3
WEEKS = 52
RULES = Rules()


def year_of_history(members: list[int], rng: random.Random) -> list[PastGroup]:
    history = []
    for ago in range(1, WEEKS + 1):
        order = members[:]
        rng.shuffle(order)
        for i in range(0, len(order) - 1, 2):
            group = order[i : i + 3] if len(order) - i == 3 else order[i : i + 2]
            history.append(PastGroup(frozenset(group), ago, rng.random() < 0.6))
    return history


def avoid_lists(members: list[int], rng: random.Random) -> list[tuple[int, int]]:
    chosen = rng.sample(members, max(1, len(members) // 20))
    return [(m, rng.choice(members)) for m in chosen for _ in range(rng.randint(1, 3))]


def avoided_made(groups: tuple[tuple[int, ...], ...], avoid: list[tuple[int, int]]) -> int:
    bad = {frozenset(p) for p in avoid if p[0] != p[1]}
    return sum(1 for g in groups for a in g for b in g if a < b and frozenset((a, b)) in bad)


def plain_cost(costs: Costs, cost: int, groups: tuple[tuple[int, ...], ...]) -> int:
    """The cost without the constant weight of trios (a ratio of pairings' costs)."""
    return cost - costs.trio_weight * sum(1 for g in groups if len(g) == 3)


def ratio(fast: int, exact: int) -> str:
    return "1.00" if fast == exact else ("inf" if exact == 0 else f"{fast / exact:.3f}")


def pairing_benchmark() -> None:
    print(f"Pairing (a year of weekly history, 5% avoid lists, window {RULES.window} cycles)")
    print(
        f"{'pool':>7} {'method':>7} {'time':>9} {'avoided':>8} {'repeats':>8} {'trio again':>10} "
        f"{'alone':>6} {'certified':>9} {'fast/exact':>10}"
    )
    for n in POOLS:
        rng = random.Random(n)
        members = list(range(1, n + 1))
        history = year_of_history(members, rng)
        avoid = avoid_lists(members, rng)
        started = time.perf_counter()
        result = pair_members(members, avoid=avoid, history=history, seed=1, rules=RULES)
        took = time.perf_counter() - started
        costs = Costs.build(members, avoid, history, RULES)
        ratios = []
        if n <= EXACT_UP_TO:
            exact = pair_members(
                members, avoid=avoid, history=history, seed=1, rules=RULES, method="exact"
            )
            fast = pair_members(
                members, avoid=avoid, history=history, seed=1, rules=RULES, method="fast"
            )
            ratios.append(
                ratio(
                    plain_cost(costs, fast.cost, fast.groups),
                    plain_cost(costs, exact.cost, exact.groups),
                )
            )
        else:
            for sample in range(SAMPLES):
                sub = random.Random(sample).sample(members, SAMPLE_SIZE)
                sub_costs = Costs.build(sub, avoid, history, RULES)
                exact = pair_members(sub, avoid=avoid, history=history, seed=1, method="exact")
                fast = pair_members(sub, avoid=avoid, history=history, seed=1, method="fast")
                ratios.append(
                    ratio(
                        plain_cost(sub_costs, fast.cost, fast.groups),
                        plain_cost(sub_costs, exact.cost, exact.groups),
                    )
                )
        print(
            f"{n:>7,} {result.method:>7} {took * 1000:>7.0f}ms {avoided_made(result.groups, avoid):>8} "
            f"{result.repeats:>8} {result.trio_again:>10} {len(result.lone):>6} "
            f"{'yes' if result.certified else 'no':>9} {' '.join(ratios):>10}"
        )


async def introductions_benchmark(members: int, dm_gap: float) -> None:
    from bot.localdiscord import LocalDiscord
    from bot.sandbox.harness import running_bot
    from bot.storage.repositories import buddies as buddies_repo
    from bot.storage.repositories import circles as circles_repo

    with tempfile.TemporaryDirectory() as tmp:
        async with LocalDiscord(settle=0.0, rate_limits=True, reply_timeout=60.0) as server:
            guild = server.create_guild("Bench")
            ada = guild.add_member("Ada", manage_guild=True)
            channel = guild.create_text_channel("buddies")
            people = [guild.add_member(f"Member {i}") for i in range(members)]
            async with running_bot(server, Path(tmp) / "bench.db", dm_min_gap=dm_gap) as bot:
                await server.wait_until_connected()
                db, now = bot.resources.db, bot.resources.clock.now()
                async with db.transaction() as tx:
                    circle = await circles_repo.create(tx, guild.id, "Big", channel.id, "UTC", now)
                    for member in people:
                        await circles_repo.add_member(tx, circle, member.id, now)
                        await buddies_repo.join(tx, circle.id, guild.id, member.id, now)
                limited_before = server.ratelimiter.limited_count
                started = time.perf_counter()
                reply = await ada.run("/facilitate buddies now", circle="Big", channel=channel)
                answered = time.perf_counter() - started
                await server.wait_for(
                    lambda: all(any("A first question" in m.text for m in p.dms) for p in people),
                    timeout=members * (dm_gap + 0.5) + 120,
                    message="every introduction",
                )
                took = time.perf_counter() - started
                limited = server.ratelimiter.limited_count - limited_before
                print(
                    f"Introductions for {members:,} members (DM gap {dm_gap} s): command answered "
                    f"in {answered:.1f} s ({reply.content[:60]}…); every DM sent after {took:.1f} s; "
                    f"{limited} answers 429 from the local server"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-intros", action="store_true")
    parser.add_argument("--intro-members", type=int, default=1_000)
    parser.add_argument("--dm-gap", type=float, default=1.0)
    args = parser.parse_args()
    pairing_benchmark()
    if not args.skip_intros:
        asyncio.run(introductions_benchmark(args.intro_members, args.dm_gap))


if __name__ == "__main__":
    main()
