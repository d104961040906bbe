"""The soak report's breakdown of acknowledgements by kind of interaction."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.soak.report import _by_kind, _limited_by
from benchmarks.soak.runner import interaction_kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"name": "ping"}, "/ping"),
        ({"name": "checkin"}, "/checkin"),
        ({"name": "facilitate", "options": [{"type": 2, "name": "round", "options": [
            {"type": 1, "name": "open", "options": [{"type": 3, "name": "note", "value": "x"}]}
        ]}]}, "/facilitate round open"),
        ({"name": "buddy", "options": [{"type": 1, "name": "avoid", "options": []}]}, "/buddy avoid"),
        ({"name": "ask", "options": [{"type": 3, "name": "kind", "value": "ride"}]}, "/ask"),
        ({"custom_id": "checkin:42", "component_type": 2}, "checkin"),
        ({"custom_id": "checkin-modal:42", "components": []}, "checkin-modal"),
        ({"custom_id": "crisisplan-show"}, "crisisplan-show"),
    ],
)  # fmt: skip
def test_an_interaction_is_named_by_its_command_path_or_custom_id_prefix(data, kind) -> None:
    assert interaction_kind({"type": 2, "data": data}) == kind


def test_option_values_never_reach_the_kind() -> None:
    data = {"name": "ask", "options": [{"type": 3, "name": "what", "value": "a ride on Tuesday"}]}
    assert "ride" not in interaction_kind({"data": data})


def test_the_slowest_kinds_come_first_and_only_as_many_as_shown() -> None:
    by_kind = {"/ping": [1.0, 2.0], "checkin": [5.0, 900.0], "/ask": [40.0, 50.0]}
    lines = _by_kind(by_kind, shown=2)
    assert lines[0].strip().startswith("acknowledgement by kind")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["checkin", "/ask"]
    assert "max 900 ms" in lines[1]


def test_no_interactions_print_no_breakdown() -> None:
    assert _by_kind({}) == []


def test_429s_are_named_by_the_limit_that_answered_them() -> None:
    by = Counter({"global": 2, "PATCH /channels/{channel_id}/messages/{message_id}": 7})
    assert _limited_by(by) == "PATCH /channels/{channel_id}/messages/{message_id}: 7, global: 2"
    assert _limited_by(Counter()) == "none"
