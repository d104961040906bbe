"""Buddy pairing: who checks on whom this cycle. Pure: members, history and avoid lists in,
groups out, the same groups for the same seed.

The rules, in order of weight (each outweighs everything below it, by construction of
the integer costs in :class:`Costs`):

1. Everyone is placed: a member is left alone only when no group can take them (one
   opted in, or everyone else avoided); such a member is reported in ``Pairing.lone``.
2. Pairs, not trios: an odd count makes one trio; more only when that places someone.
3. Never an avoided pair (there is no edge for it at all).
4. No repeat of a pairing inside the recent window (``Rules.window`` cycles) when a
   pairing without one exists.
5. Nobody in a trio two cycles running when it can be avoided.
6. Older pairings cost less than recent ones, and a pairing only *matched* (nobody
   confirmed meeting) costs less than one that met.

Methods: pools of up to ``SMALL_LIMIT`` are solved exactly over every arrangement
(dynamic programming over subsets, trios included); pools up to ``EXACT_LIMIT`` by a
minimum-cost maximum-cardinality matching (networkx's blossom), with the leftover of an
odd count represented by a dummy node whose edge costs the cheapest trio it could join;
larger pools by a fast method (seeded greedy on sampled partners, 2-opt swaps, then exact
re-matching of the worst neighbourhood), whose result is *certified* optimal whenever its
cost equals a lower bound (each member's cheapest partner, halved).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import networkx as nx

from bot.domain.schedule import DAY_NAMES, parse_days, resolve_local
from bot.errors import ValidationError

SMALL_LIMIT = 10
EXACT_LIMIT = 160
REPAIR_NODES = 60  # the neighbourhood the fast method re-matches exactly
SAMPLED_PARTNERS = 8

Method = Literal["auto", "small", "exact", "fast"]


@dataclass(frozen=True)
class Rules:
    window: int = 4  # cycles: a pairing this recent is a repeat, avoided whenever possible
    horizon: int = 52  # cycles: older pairings all cost the same (the least)


@dataclass(frozen=True)
class PastGroup:
    """A group of an earlier cycle: `cycles_ago` 1 is the previous cycle."""

    members: frozenset[int]
    cycles_ago: int
    met: bool = False  # someone in it confirmed "We connected"


@dataclass(frozen=True)
class Pairing:
    groups: tuple[tuple[int, ...], ...]  # each sorted; pairs and (rarely) trios
    lone: tuple[int, ...]  # nobody could be placed with them: told privately
    cost: int  # under the cost model below (comparable within one input only)
    repeats: int  # pairings inside the recent window
    trio_again: int  # members in a trio two cycles running
    method: str
    certified: bool  # provably the minimum cost

    @property
    def placed(self) -> int:
        return sum(len(group) for group in self.groups)


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def age_cost(cycles_ago: int, met: bool, rules: Rules) -> int:
    """One past pairing's cost: falls with age until the horizon, doubled if they met."""
    return (2 if met else 1) * (1 + max(0, rules.horizon - cycles_ago))


@dataclass
class Costs:
    """Integer costs of every possible pairing of one pool, built from history."""

    members: tuple[int, ...]
    avoid: frozenset[tuple[int, int]]
    rules: Rules
    age: dict[tuple[int, int], int] = field(default_factory=dict)
    recent: set[tuple[int, int]] = field(default_factory=set)
    last_trio: frozenset[int] = frozenset()
    partners: dict[int, set[int]] = field(default_factory=dict)  # costed or avoided

    @classmethod
    def build(
        cls,
        members: Iterable[int],
        avoid: Iterable[tuple[int, int]],
        history: Iterable[PastGroup],
        rules: Rules,
    ) -> Costs:
        pool = tuple(sorted(set(members)))
        inside = set(pool)
        avoided = frozenset(_key(a, b) for a, b in avoid if a != b and a in inside and b in inside)
        costs = cls(pool, avoided, rules)
        last_trio: set[int] = set()
        age, recent = costs.age, costs.recent
        window, horizon = rules.window, rules.horizon
        for group in history:  # a year of a large pool is 10^5 groups: kept lean
            ago = group.cycles_ago
            weight = (2 if group.met else 1) * (1 + max(0, horizon - ago))
            if len(group.members) == 2:
                a, b = group.members
                if a not in inside or b not in inside:
                    continue
                pairs: Iterable[tuple[int, int]] = ((a, b) if a < b else (b, a),)
            else:
                present = sorted(m for m in group.members if m in inside)
                if ago == 1 and len(group.members) == 3:
                    last_trio.update(present)
                pairs = [(a, b) for i, a in enumerate(present) for b in present[i + 1 :]]
            for key in pairs:
                age[key] = age.get(key, 0) + weight
                if ago <= window:
                    recent.add(key)
        costs.last_trio = frozenset(last_trio)
        partners: dict[int, set[int]] = defaultdict(set)
        for a, b in (*costs.age, *avoided):
            partners[a].add(b)
            partners[b].add(a)
        costs.partners = dict(partners)
        n = len(pool)
        max_age = max(costs.age.values(), default=0)
        # Each weight outweighs every possible total of the weights below it.
        costs.trio_again_weight = n * max_age + 1
        costs.repeat_weight = (n + 1) * costs.trio_again_weight
        costs.trio_weight = (n + 1) * costs.repeat_weight
        costs.lone_weight = (n + 1) * costs.trio_weight
        return costs

    trio_again_weight: int = 1
    repeat_weight: int = 1
    trio_weight: int = 1
    lone_weight: int = 1

    def allowed(self, a: int, b: int) -> bool:
        return a != b and _key(a, b) not in self.avoid

    def pair(self, a: int, b: int) -> int:
        """The cost of pairing a and b (they may be paired: check `allowed` first)."""
        key = _key(a, b)
        return self.age.get(key, 0) + (self.repeat_weight if key in self.recent else 0)

    def join(self, v: int, a: int, b: int) -> int:
        """What v joining the pair (a, b) adds: the two new pairings, and any trio again."""
        again = sum(1 for m in (v, a, b) if m in self.last_trio)
        return self.pair(v, a) + self.pair(v, b) + again * self.trio_again_weight

    def group(self, members: Sequence[int]) -> int:
        """A whole group's cost, as the objective counts it."""
        if len(members) == 1:
            return self.lone_weight
        total = sum(self.pair(a, b) for i, a in enumerate(members) for b in members[i + 1 :])
        if len(members) == 3:
            again = sum(1 for m in members if m in self.last_trio)
            total += self.trio_weight + again * self.trio_again_weight
        return total

    def valid(self, members: Sequence[int]) -> bool:
        return 1 <= len(members) <= 3 and all(
            self.allowed(a, b) for i, a in enumerate(members) for b in members[i + 1 :]
        )

    def cheapest(self, v: int) -> int:
        """v's cheapest possible pairing (a member with any fresh partner: 0); -1: none."""
        known = self.partners.get(v, set())
        if len(known) < len(self.members) - 1:
            return 0
        options = [self.pair(v, u) for u in known if self.allowed(v, u)]
        return min(options, default=-1)

    def total(self, groups: Iterable[Sequence[int]], lone: Iterable[int] = ()) -> int:
        return sum(self.group(g) for g in groups) + self.lone_weight * len(tuple(lone))


def _describe(
    costs: Costs, groups: list[list[int]], lone: list[int], method: str, certified: bool
) -> Pairing:
    ordered = sorted(tuple(sorted(g)) for g in groups)
    repeats = sum(
        1
        for g in ordered
        for i, a in enumerate(g)
        for b in g[i + 1 :]
        if _key(a, b) in costs.recent
    )
    again = sum(1 for g in ordered if len(g) == 3 for m in g if m in costs.last_trio)
    return Pairing(
        groups=tuple(ordered),
        lone=tuple(sorted(lone)),
        cost=costs.total(ordered, lone),
        repeats=repeats,
        trio_again=again,
        method=method,
        certified=certified,
    )


def pair_members(
    members: Iterable[int],
    *,
    avoid: Iterable[tuple[int, int]] = (),
    history: Iterable[PastGroup] = (),
    seed: int = 0,
    rules: Rules | None = None,
    method: Method = "auto",
) -> Pairing:
    """Place every member exactly once (pairs, a trio for an odd count, `lone` if impossible)."""
    costs = Costs.build(members, avoid, history, rules or Rules())
    n = len(costs.members)
    if method == "auto":
        method = "small" if n <= SMALL_LIMIT else "exact" if n <= EXACT_LIMIT else "fast"
    if method == "small":
        groups, lone = _small(costs)
        return _describe(costs, groups, lone, "small", certified=True)
    order = list(costs.members)
    random.Random(seed).shuffle(order)
    if method == "exact":
        pairs, leftover = _blossom(costs, order)
    else:
        pairs, leftover = _fast(costs, order, random.Random(seed))
    groups, lone = _place_leftovers(costs, pairs, leftover)
    _improve_trios(costs, groups)
    # Certified when no arrangement can cost less: the matching with the leftover's cheapest
    # possible trio (exact: its optimum; fast: a lower bound) is below every arrangement.
    bound = (
        _matching_cost(costs, pairs, leftover)
        if method == "exact"
        else _lower_bound(costs, len(leftover))
    )
    trios = sum(1 for g in groups if len(g) == 3)
    certified = (
        not lone and trios == n % 2 and costs.total(groups) - trios * costs.trio_weight == bound
    )
    return _describe(costs, groups, lone, method, certified)


# -- exact over every arrangement (small pools)


def _small(costs: Costs) -> tuple[list[list[int]], list[int]]:
    pool = costs.members
    n = len(pool)

    @cache
    def best(mask: int) -> tuple[int, tuple[tuple[int, ...], ...]]:
        if mask == 0:
            return 0, ()
        i = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << i)
        options: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
        cost, groups = best(rest)
        options.append((cost + costs.lone_weight, ((pool[i],), *groups)))
        js = [j for j in range(i + 1, n) if rest >> j & 1 and costs.allowed(pool[i], pool[j])]
        for x, j in enumerate(js):
            after = rest & ~(1 << j)
            cost, groups = best(after)
            options.append((cost + costs.group((pool[i], pool[j])), ((pool[i], pool[j]), *groups)))
            for k in js[x + 1 :]:
                if costs.allowed(pool[j], pool[k]):
                    trio = (pool[i], pool[j], pool[k])
                    cost, groups = best(after & ~(1 << k))
                    options.append((cost + costs.group(trio), (trio, *groups)))
        return min(options)

    _, chosen = best((1 << n) - 1)
    best.cache_clear()
    return [list(g) for g in chosen if len(g) > 1], [g[0] for g in chosen if len(g) == 1]


# -- minimum-cost matching (blossom), with a dummy node for an odd count

DUMMY = -1


def _dummy_cost(costs: Costs, v: int) -> int:
    """The least v could add by joining a pair: its two cheapest pairings (a lower bound)."""
    known = costs.partners.get(v, set())
    fresh = len(costs.members) - 1 - len(known)
    options = sorted(costs.pair(v, u) for u in known if costs.allowed(v, u))
    cheapest_two = sum(([0] * min(fresh, 2) + options)[:2])
    if fresh + len(options) < 2:
        cheapest_two = costs.trio_weight  # cannot be in any trio: lone if left over
    return cheapest_two + (costs.trio_again_weight if v in costs.last_trio else 0)


def _match(
    costs: Costs, order: Sequence[int], with_dummy: bool
) -> tuple[list[tuple[int, int]], list[int]]:
    graph = nx.Graph()
    graph.add_nodes_from(order)
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if costs.allowed(a, b):
                graph.add_edge(a, b, weight=costs.pair(a, b))
    if with_dummy:
        for v in order:
            graph.add_edge(v, DUMMY, weight=_dummy_cost(costs, v))
    matching = nx.min_weight_matching(graph) if graph.number_of_edges() else set()
    pairs: list[tuple[int, int]] = []
    placed: set[int] = set()
    for a, b in matching:
        if DUMMY not in (a, b):
            pairs.append(_key(a, b))
            placed.update((a, b))
    return pairs, [v for v in order if v not in placed]


def _blossom(costs: Costs, order: Sequence[int]) -> tuple[list[tuple[int, int]], list[int]]:
    return _match(costs, order, with_dummy=len(order) % 2 == 1)


def _matching_cost(costs: Costs, pairs: Sequence[tuple[int, int]], leftover: Sequence[int]) -> int:
    return sum(costs.pair(a, b) for a, b in pairs) + sum(_dummy_cost(costs, v) for v in leftover)


def _place_leftovers(
    costs: Costs, pairs: Sequence[tuple[int, int]], leftover: Sequence[int]
) -> tuple[list[list[int]], list[int]]:
    """Each leftover joins the pair where its two new pairings cost least, else is lone."""
    groups = [list(p) for p in pairs]
    lone: list[int] = []
    for v in leftover:
        best: tuple[int, int] | None = None
        for index, group in enumerate(groups):
            if len(group) != 2 or not (costs.allowed(v, group[0]) and costs.allowed(v, group[1])):
                continue
            cost = costs.join(v, group[0], group[1])
            if best is None or cost < best[0]:
                best = (cost, index)
        if best is None:
            lone.append(v)
        else:
            groups[best[1]].append(v)
    return groups, lone


def _improve_trios(costs: Costs, groups: list[list[int]]) -> None:
    """Swap a trio's member with a member of a pair while that costs less (in place)."""
    for _ in range(4):
        improved = False
        for trio in (g for g in groups if len(g) == 3):
            for t_index in range(3):
                for pair in (g for g in groups if len(g) == 2):
                    for p_index in range(2):
                        before = costs.group(trio) + costs.group(pair)
                        new_trio, new_pair = list(trio), list(pair)
                        new_trio[t_index], new_pair[p_index] = pair[p_index], trio[t_index]
                        if (
                            costs.valid(new_trio)
                            and costs.valid(new_pair)
                            and costs.group(new_trio) + costs.group(new_pair) < before
                        ):
                            trio[:], pair[:] = new_trio, new_pair
                            improved = True
        if not improved:
            return


# -- the fast method (large pools)


def _lower_bound(costs: Costs, leftover_count: int) -> int:
    """No arrangement's matching costs less: each member's cheapest option, halved."""
    cheapest = []
    odd = len(costs.members) % 2 == 1
    for v in costs.members:
        own = costs.cheapest(v)
        options = [c for c in (own, _dummy_cost(costs, v) if odd else -1) if c >= 0]
        cheapest.append(min(options, default=0))
    bound = sum(cheapest)
    if odd:
        bound += min(_dummy_cost(costs, v) for v in costs.members)
    return (bound + 1) // 2 if leftover_count <= 1 else -1  # -1: nothing is certified


def _fast(
    costs: Costs, order: Sequence[int], rng: random.Random
) -> tuple[list[tuple[int, int]], list[int]]:
    pool = list(order)
    n = len(pool)
    mate: dict[int, int] = {}
    # 1. Greedy: each member takes the cheapest of a few partners sampled among the free.
    free = list(pool)
    where = {v: i for i, v in enumerate(free)}

    def take(v: int) -> None:
        i, last = where.pop(v), free.pop()
        if last != v:
            free[i], where[last] = last, i

    for v in pool:
        if v in mate:
            continue
        take(v)
        best: tuple[int, int] | None = None
        for _ in range(min(len(free), SAMPLED_PARTNERS * 4)):
            u = free[rng.randrange(len(free))]
            if not costs.allowed(v, u):
                continue
            cost = costs.pair(v, u)
            if best is None or cost < best[0]:
                best = (cost, u)
                if cost == 0:
                    break
        if best is not None:
            mate[v], mate[best[1]] = best[1], v
            take(best[1])
    # 2. 2-opt: a costly pair swaps partners with a sampled pair when that costs less.
    for _ in range(3):
        improved = False
        for a in pool:
            b = mate.get(a)
            if b is None or a > b or costs.pair(a, b) == 0:
                continue
            for _ in range(SAMPLED_PARTNERS * 4):
                c = pool[rng.randrange(n)]
                d = mate.get(c)
                if d is None or c in (a, b):
                    continue
                before = costs.pair(a, b) + costs.pair(c, d)
                for x, y in ((c, d), (d, c)):
                    if (
                        costs.allowed(a, x)
                        and costs.allowed(b, y)
                        and costs.pair(a, x) + costs.pair(b, y) < before
                    ):
                        mate[a], mate[x], mate[b], mate[y] = x, a, y, b
                        improved = True
                        break
                else:
                    continue
                break
        if not improved:
            break
    # 3. Exact re-matching of everyone unmatched or in a costly pair, with some others.
    trouble = [v for v in pool if v not in mate or costs.pair(v, mate[v]) > 0]
    if trouble:
        chosen = set(trouble)
        for v in trouble:
            if v in mate:
                chosen.add(mate[v])
        others = [v for v in pool if v not in chosen]
        rng.shuffle(others)
        for v in others:
            if len(chosen) >= max(REPAIR_NODES, len(trouble) * 2):
                break
            if v not in chosen:
                chosen.update((v, mate[v]))
        region = [v for v in pool if v in chosen]
        pairs, _ = _match(costs, region, with_dummy=len(region) % 2 == 1)
        for v in region:
            mate.pop(v, None)
        for a, b in pairs:
            mate[a], mate[b] = b, a
    pairs_all = sorted({_key(a, b) for a, b in mate.items()})
    return pairs_all, [v for v in pool if v not in mate]


def avoid_pairs(avoids: Collection[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """An avoid list works both ways: (a avoids b) keeps a and b apart, whoever asked."""
    return frozenset(_key(a, b) for a, b in avoids if a != b)


# -- cycles: when they start, and what the commands accept

EVERY_EXAMPLE = "every:1w (or 2w)"
_EVERY = re.compile(r"^(?:every\s*)?(\d{1,2})\s*(w|wk|wks|week|weeks)$")
_EVERY_WORDS = {"weekly": 1, "week": 1, "fortnightly": 2, "biweekly": 2}
MAX_EVERY_WEEKS = 8
FOLLOW_UP_AGAIN = timedelta(hours=48)  # after "Not yet", asked once more this much later
SILENT_CYCLES_TO_PAUSE = 3
QUESTIONS = (
    "What has been good this week, even in a small way?",
    "What is one thing you're looking forward to?",
    "What helps you on a hard day?",
    "What's something you've learned about yourself lately?",
    "What would make this week a little lighter?",
)


def parse_every(text: str) -> int:
    """Weeks between cycles: "1w", "2w", "weekly", "fortnightly" (1 to 8 weeks)."""
    raw = " ".join(text.strip().lower().split())
    weeks = _EVERY_WORDS.get(raw)
    if weeks is None and (m := _EVERY.match(raw)):
        weeks = int(m[1])
    if weeks is None or not 1 <= weeks <= MAX_EVERY_WEEKS:
        raise ValidationError(f"Say how often, in weeks (1 to {MAX_EVERY_WEEKS}).", EVERY_EXAMPLE)
    return weeks


def parse_day(text: str) -> int:
    """One weekday (Mon=0): cycles start on it."""
    days = parse_days(text)
    if len(days) != 1:
        raise ValidationError("Choose one day for cycles to start.", "day:mon")
    return days[0]


@dataclass(frozen=True)
class CycleSchedule:
    """Cycles start every `every_weeks` weeks on a weekday at a local time."""

    every_weeks: int
    weekday: int
    time: time
    timezone: str

    @property
    def length(self) -> timedelta:
        return timedelta(weeks=self.every_weeks)

    def first_start_after(self, after_utc: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        local_day = after_utc.astimezone(zone).date()
        for offset in range(-1, 9):
            day = local_day + timedelta(days=offset)
            if day.weekday() == self.weekday:
                start = resolve_local(day, self.time, zone)
                if start > after_utc:
                    return start
        raise AssertionError("unreachable: every week has the weekday")

    def next_start(self, start_utc: datetime) -> datetime:
        """The start after a cycle that started at `start_utc`: same local day and time."""
        zone = ZoneInfo(self.timezone)
        day = start_utc.astimezone(zone).date() + self.length
        return resolve_local(day, self.time, zone)

    def describe(self) -> str:
        every = "every week" if self.every_weeks == 1 else f"every {self.every_weeks} weeks"
        return f"{every}, {DAY_NAMES[self.weekday]} at {self.time:%H:%M} ({self.timezone})"


def follow_up_at(started_at: datetime, ends_at: datetime) -> datetime:
    """Midway through the cycle."""
    return started_at + (ends_at - started_at) / 2


@dataclass(frozen=True)
class Cycle:
    id: int
    circle_id: int
    guild_id: int
    slot: str
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    seed: int

    @property
    def running(self) -> bool:
        return self.ended_at is None


class Answer(StrEnum):
    CONNECTED = "connected"
    NOT_YET = "not_yet"
    SKIP = "skip"


@dataclass(frozen=True)
class CycleStats:
    started_at: datetime
    placed: int
    groups: int
    connected_groups: int

    @property
    def connected_rate(self) -> float:
        return self.connected_groups / self.groups if self.groups else 0.0


def pick_question(seed: int) -> str:
    return QUESTIONS[seed % len(QUESTIONS)]
