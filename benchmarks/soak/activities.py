"""Every activity of the simulated year, in the order their events are drawn."""

from __future__ import annotations

from benchmarks.soak.care import Care
from benchmarks.soak.checkins import Checkins
from benchmarks.soak.faults import Faults
from benchmarks.soak.help_requests import HelpRequests
from benchmarks.soak.runner import Activity


def every_activity() -> list[Activity]:
    return [Checkins(), HelpRequests(), Care(), Faults()]
