"""The history of a run: what members do and which faults strike, drawn from the seed.

Every activity draws its events from its own random stream (`stream(seed, name)`), so adding
an activity never changes another's events: one seed, one history. When an invariant breaks,
`shortest_history` keeps only the events about the subjects involved, what befell their
whole server (the bot removed, invited back), and the faults among them: the story of the
break, short enough to read.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, order=True)
class Event:
    at: datetime  # the simulated time it happens
    order: int  # ties at one instant: the order drawn (set by `History`)
    activity: str = field(compare=False)
    action: str = field(compare=False)
    subjects: tuple[str, ...] = field(compare=False)  # model keys: "c3.1", "m3.17", "s3"
    params: dict[str, Any] = field(compare=False, default_factory=dict)

    def describe(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.activity}.{self.action} {','.join(self.subjects)} {extra}".rstrip()


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str  # ids and counts only: never member text
    subjects: tuple[str, ...]
    at: datetime  # simulated time it was seen


def stream(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


@dataclass(frozen=True)
class Draft:
    """An event before it gets its place in the history."""

    at: datetime
    action: str
    subjects: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)


class History:
    def __init__(self, drafts: Iterable[tuple[str, Draft]]) -> None:
        ordered = sorted(drafts, key=lambda pair: (pair[1].at, pair[0], pair[1].action))
        self.events = [
            Event(d.at, n, activity, d.action, d.subjects, d.params)
            for n, (activity, d) in enumerate(ordered)
        ]

    def keeping(self, subjects: Iterable[str]) -> History:
        """Only the events about `subjects` and their servers' server-wide events, and every
        fault: a shorter run to replay a break."""
        about = _about(self.events, set(subjects))
        kept = History([])
        kept.events = [e for e in self.events if e.activity == "faults" or e in about]
        return kept

    def __len__(self) -> int:
        return len(self.events)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for e in self.events:
            found[f"{e.activity}.{e.action}"] = found.get(f"{e.activity}.{e.action}", 0) + 1
        return dict(sorted(found.items()))


def shortest_history(
    events: Sequence[Event], subjects: Iterable[str], until: datetime | None = None
) -> list[Event]:
    """The events about `subjects` (and the faults between the first of them and `until`)."""
    wanted = set(subjects)
    about = [e for e in _about(events, wanted) if until is None or e.at <= until]
    # A break with no event of its own (a timer's work, say) is told by the faults before it.
    first = about[0].at if about else min((e.at for e in events), default=None)
    if first is None or not wanted:
        return []
    faults = [
        e
        for e in events
        if e.activity == "faults" and first <= e.at and (until is None or e.at <= until)
    ]
    return sorted({*about, *faults})


_IN_SERVER = re.compile(r"[cms](\d+)(?:\.|$)")  # c8.1 (circle), m8.151 (member), s8 (server)


def _about(events: Sequence[Event], wanted: set[str]) -> set[Event]:
    """The events about `wanted`, and the server-wide ones (every subject a server, as when
    the bot is removed or invited back) of the servers those events happen in."""
    about = {e for e in events if wanted & set(e.subjects)}
    named = wanted | {s for e in about for s in e.subjects}
    servers = {f"s{m[1]}" for s in named if (m := _IN_SERVER.match(s))}
    wide = {e for e in events if e.subjects and set(e.subjects) <= servers}
    return about | wide
