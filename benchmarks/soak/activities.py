"""Every activity of the simulated year, in the order their events are drawn."""

from __future__ import annotations

from benchmarks.soak.buddies import Buddies
from benchmarks.soak.checkins import Checkins
from benchmarks.soak.faults import Faults
from benchmarks.soak.runner import Activity


def every_activity() -> list[Activity]:
    return [Checkins(), Faults(), Buddies()]
