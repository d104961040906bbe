"""Every activity of the simulated year, in the order their events are drawn."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.soak.buddies import Buddies
from benchmarks.soak.care import Care
from benchmarks.soak.checkins import Checkins
from benchmarks.soak.faults import Faults
from benchmarks.soak.help_requests import HelpRequests
from benchmarks.soak.membership import Membership
from benchmarks.soak.runner import Activity
from benchmarks.soak.talking_piece import TalkingPiece


@dataclass(frozen=True)
class Intensity:
    """How much of circle life is played: the wall time of a run grows with it.

    A talking-piece gathering costs seconds of wall time whatever the clock does (each press
    waits for the board's paced edit, 1.05 s per channel, as a member reads it), so only a
    share of the circle-weeks gather."""

    participation: float = 0.12  # of members answering a round
    reminders: float = 0.1  # of members with reminders on
    gatherings: float = 0.25  # of circle-weeks with a talking-piece gathering
    asks: float = 2.0  # help asks per circle and month
    plan_edits: float = 1.0  # crisis-plan edits per member and year
    pairing: float = 0.1  # of circles pairing buddies every two weeks


MONTH = Intensity()
YEAR = Intensity(
    participation=0.08,
    reminders=0.05,
    gatherings=0.03,
    asks=0.5,
    plan_edits=0.3,
    pairing=0.05,
)


def every_activity(intensity: Intensity = MONTH) -> list[Activity]:
    return [
        Checkins(participation=intensity.participation, reminders=intensity.reminders),
        Faults(),
        Membership(),
        TalkingPiece(share=intensity.gatherings),
        HelpRequests(asks_per_circle_month=intensity.asks),
        Care(edits_per_member_year=intensity.plan_edits),
        Buddies(circle_share=intensity.pairing),
    ]
