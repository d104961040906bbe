"""The figures of a soak run, as the report prints them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from benchmarks._common import percentile
from benchmarks.soak.history import History
from benchmarks.soak.runner import Soak, explain
from bot.timeutil import from_db


async def scheduler_lags(soak: Soak) -> list[float]:
    """Simulated seconds from each round's slot to its opening: the scheduler's lag."""
    rows = await soak.read("SELECT slot, opened_at FROM rounds")
    return [(from_db(r["opened_at"]) - from_db(r["slot"])).total_seconds() for r in rows]


async def database_bytes(soak: Soak) -> int:
    if soak.database_url is None:
        return soak.database_size()
    rows = await soak.read("SELECT pg_database_size(current_database()) AS n")
    return int(rows[0]["n"])


def _p(samples: Sequence[float], q: float) -> float:
    return percentile(samples, q) if samples else math.nan


def _by_kind(by_kind: dict[str, list[float]], shown: int = 8) -> list[str]:
    """The kinds of interaction with the slowest p99 acknowledgement, slowest first."""
    slowest = sorted(by_kind.items(), key=lambda item: _p(item[1], 99), reverse=True)[:shown]
    return ["  acknowledgement by kind, slowest p99 first:"] * bool(slowest) + [
        f"    {kind}: n={len(ms)}, p50 {_p(ms, 50):.0f} ms, p99 {_p(ms, 99):.0f} ms, max {max(ms):.0f} ms"
        for kind, ms in slowest
    ]


def _limited_by(by: Counter[str], shown: int = 4) -> str:
    """Which limits answered the 429s: "global" or a route's bucket, most first."""
    return ", ".join(f"{what}: {n}" for what, n in by.most_common(shown)) or "none"


def render(
    soak: Soak, history: History, wall_s: float, lags: Sequence[float], db_bytes: int, label: str
) -> str:
    f = soak.figures
    spec = soak.world.spec
    lines = [
        f"== simulated {spec.days} days on {label} (seed {spec.seed}) ==",
        f"  world: {spec.servers} servers, {len(soak.world.circles)} circles in "
        f"{len(soak.world.zones)} time zones, {len(soak.world.members)} members; "
        f"{len(history)} events from {soak.start:%Y-%m-%d} to {soak.end:%Y-%m-%d}",
        f"  wall time: {wall_s:.0f} s ({wall_s / 60:.1f} min); moments the clock stopped at: {f.moments}",
        f"  interactions: {f.interactions} sent, {f.acknowledged} acknowledged, "
        f"{f.unanswered_in_fault} unanswered while the bot was being restarted, "
        f"{sum(f.refused.values())} refused by the client (button gone)",
        f"  acknowledgement: p50 {_p(f.ack_ms, 50):.0f} ms, p99 {_p(f.ack_ms, 99):.0f} ms, "
        f"max {max(f.ack_ms, default=math.nan):.0f} ms (limit 3000 ms); bare /ping in the same "
        f"run: p50 {_p(f.ping_ms, 50):.0f} ms, p99 {_p(f.ping_ms, 99):.0f} ms (n={len(f.ping_ms)})",
        *_by_kind(f.ack_ms_by_kind),
        f"  scheduler lag (slot → round opened, simulated s): p50 {_p(lags, 50):.1f}, "
        f"p99 {_p(lags, 99):.1f}, max {max(lags, default=math.nan):.1f} over {len(lags)} rounds",
        f"  faults: {f.kills} SIGKILLs (restart p50 {_p(f.starts_s, 50):.1f} s), "
        f"{f.locks} write locks held, 429s answered by the server: "
        f"{soak.server.ratelimiter.limited_count} ({_limited_by(soak.server.ratelimiter.limited_by)})",
        f"  settling: {f.unsettled} moment(s) where due work did not finish within the patience",
        f"  database at the end: {db_bytes / 1e6:.1f} MB",
    ]
    for activity in soak.activities.values():
        for name, value in activity.figures().items():
            lines.append(f"  {name}: {value:g}")
    kinds: dict[str, int] = {}
    for v in soak.violations:
        kinds[v.invariant] = kinds.get(v.invariant, 0) + 1
    lines.append(
        "  invariants: "
        + (
            "all held"
            if not soak.violations
            else ", ".join(f"{k} BROKEN ×{n}" for k, n in kinds.items())
        )
    )
    shown: set[str] = set()
    for v in soak.violations:
        if v.invariant in shown:
            continue
        shown.add(v.invariant)
        lines.append(explain(v, history, spec.seed))
    return "\n".join(lines)
