"""The soak's reveal checks. "Every reveal recorded": a reveal's row may go only with its asker's
data, or with its whole server's once the grace period after the bot's removal has passed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from benchmarks.soak.help_requests import AskModel, HelpRequests, Reveal, export_leaks
from benchmarks.soak.runner import Marks

AT = datetime(2027, 4, 11, 9, 39, tzinfo=UTC)
ASKER, FACILITATOR = SimpleNamespace(id=151, dms=[], dms_closed=False), SimpleNamespace(id=1)


def _soak(purged: dict[int, datetime]) -> SimpleNamespace:
    members = {"m8.151": ASKER, "m8.1": FACILITATOR}
    return SimpleNamespace(
        member=members.__getitem__,
        erased=Marks(lambda: AT),
        purged=purged,
        world=SimpleNamespace(members={"m8.151": SimpleNamespace(server=8)}),
        present=lambda key: False,  # the asker is not told: only the row is checked here
    )


@pytest.mark.parametrize(
    ("purged", "now_days", "broken"),
    [
        ({}, 30, True),  # the row went, and nothing took it: broken
        ({8: AT + timedelta(days=26)}, 30, False),  # purged with its server after the grace
        ({8: AT + timedelta(days=26)}, 20, True),  # the grace has not run out yet
        ({8: AT - timedelta(days=1)}, 30, True),  # a reveal made after the purge must stay
        ({3: AT + timedelta(days=1)}, 30, True),  # another server's purge takes nothing here
    ],
)
def test_a_missing_reveal_row_is_a_break_unless_its_server_was_purged(
    purged: dict[int, datetime], now_days: int, broken: bool
) -> None:
    help_ = HelpRequests()
    help_.asks["ask-x"] = AskModel("ask-x", "c8.1", "m8.151", anonymous=True, ask_id=167)
    help_.reveals.append(Reveal("ask-x", "m8.1", 167, AT, dms_closed=False))
    help_.reveal_tries[(167, "m8.1")] += 1
    help_._check_reveals(_soak(purged), Counter(), AT + timedelta(days=now_days))  # no rows
    assert bool(help_.found) is broken, help_.found


# Snowflake-sized, as in the run (the check looks for the id anywhere in a row's text).
EXPORTER, FACILITATOR_WHO_ALSO_ASKED, OTHER_ASKER = (
    1574000000000000085,
    1574000000000000005,
    1574000000000000077,
)
ASKERS = {"ask-f": FACILITATOR_WHO_ALSO_ASKED, "ask-o": OTHER_ASKER}


@pytest.mark.parametrize(
    ("table", "row", "revealed_by_exporter", "leaks"),
    [
        # the reveal of the exporter's own ask names the facilitator who revealed it, even one
        # who asked anonymously elsewhere: not a leak (the case the year found)
        ("help_reveals", {"ask_id": 3, "requester_id": EXPORTER, "revealed_by_user_id": FACILITATOR_WHO_ALSO_ASKED}, set(), []),
        # a reveal the exporter made names the asker they revealed
        ("help_reveals", {"ask_id": 9, "requester_id": OTHER_ASKER, "revealed_by_user_id": EXPORTER}, {9}, []),
        # someone else's reveal in the exporter's file would name that asker
        ("help_reveals", {"ask_id": 9, "requester_id": OTHER_ASKER, "revealed_by_user_id": 1}, set(), [("help_reveals", "ask-o")]),
        # an offer row carrying an anonymous asker's id
        ("help_offers", {"ask_id": 4, "offerer_id": EXPORTER, "requester_id": OTHER_ASKER}, set(), [("help_offers", "ask-o")]),
        ("help_thanks", {"giver_user_id": OTHER_ASKER, "recipient_user_id": EXPORTER}, set(), []),
        ("checkins", {"user_id": EXPORTER, "note": str(OTHER_ASKER)}, set(), []),
    ],
)  # fmt: skip
def test_an_export_leaks_only_another_members_anonymous_ask(
    table: str, row: dict[str, int], revealed_by_exporter: set[int], leaks: list[tuple[str, str]]
) -> None:
    assert export_leaks({table: [row]}, EXPORTER, ASKERS, revealed_by_exporter) == leaks
