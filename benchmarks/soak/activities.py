"""Every activity of the simulated year, in the order their events are drawn."""

from __future__ import annotations

from benchmarks.soak.checkins import Checkins
from benchmarks.soak.faults import Faults
from benchmarks.soak.membership import Membership
from benchmarks.soak.runner import Activity
from benchmarks.soak.talking_piece import TalkingPiece


def every_activity() -> list[Activity]:
    return [Checkins(), Faults(), Membership(), TalkingPiece(share=0.25)]
