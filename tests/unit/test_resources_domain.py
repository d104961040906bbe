"""Shared resources' rules: validation, regions, staleness, search, the starter file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.crisis import parse_directory
from bot.domain.resources import (
    KIND_KEYS,
    NAME_MAX,
    Resource,
    parse_kind,
    parse_starter,
    search,
    select,
    validate_draft,
)
from bot.errors import ValidationError

DATA = Path(__file__).resolve().parents[2] / "data"
DIRECTORY = parse_directory((DATA / "crisis_resources.toml").read_text("utf-8"))
STARTER = (DATA / "resources_starter.toml").read_text("utf-8")


def r(
    name: str, kind: str = "peer-group", region: str = "ANY", on: date = date(2026, 1, 1)
) -> Resource:
    return Resource(kind, name, f"about {name}", None, region, None, on, on, id=1, author_id=5)


def test_a_good_entry_is_tidied() -> None:
    draft = validate_draft(
        "Sliding scale",
        "  Riverside   Clinic ",
        "from $20",
        " https://x.org ",
        "u.k.",
        " bring ID ",
        DIRECTORY,
    )
    assert (draft.kind, draft.name, draft.url, draft.region, draft.notes) == (
        "sliding-scale",
        "Riverside Clinic",
        "https://x.org",
        "GB",
        "bring ID",
    )
    assert validate_draft("training", "A", "b", None, "online", None, DIRECTORY).region == "ANY"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("url", "javascript:alert(1)", "https://"),
        ("url", "ftp://x.org", "https://"),
        ("url", "https://", "https://"),
        ("name", "", "Give it a name"),
        ("name", "n" * (NAME_MAX + 1), "holds up to 80"),
        ("name", "<@&123> group", "mentions"),
        ("notes", "x" * 4001, "holds up to 500"),
        ("region", "Atlantis", "don't know that region"),
    ],
)
def test_bad_fields_are_refused(field: str, value: str, fragment: str) -> None:
    values = {"name": "Clinic", "offers": "care", "url": None, "region": None, "notes": None}
    values[field] = value
    with pytest.raises(ValidationError) as info:
        validate_draft("training", **values, directory=DIRECTORY)  # type: ignore[arg-type]
    assert fragment in info.value.message and "Nothing was saved" in info.value.message


def test_unknown_kind() -> None:
    with pytest.raises(ValidationError):
        parse_kind("therapy-dog")
    assert [parse_kind(k) for k in KIND_KEYS] == list(KIND_KEYS)


def test_a_year_without_confirmation_is_possibly_out_of_date() -> None:
    entry = r("x", on=date(2025, 1, 1))
    assert not entry.possibly_outdated(date(2026, 1, 1))
    assert entry.possibly_outdated(date(2026, 1, 2))


def test_select_and_search() -> None:
    items = [r("Walkers"), r("Clinic", "sliding-scale", "GB"), r("Locator", "sliding-scale", "US")]
    assert [x.name for x in select(items, region="GB")] == ["Clinic", "Walkers"]  # by kind
    assert [x.name for x in select(items, kind="sliding-scale")] == ["Clinic", "Locator"]
    assert [x.name for x in search(items, "SLIDING clinic")] == ["Clinic"]
    assert search(items, "   ") == []


@given(st.text(max_size=200))
def test_search_never_raises(words: str) -> None:
    assert isinstance(search([r("Walkers")], words), list)


def test_the_starter_file_parses_with_sources_and_dates() -> None:
    starter = parse_starter(STARTER)
    assert {x.name for x in starter} >= {
        "FindTreatment.gov (SAMHSA)",
        "NAMI Peer-to-Peer",
        "Intentional Peer Support",
    }
    for entry in starter:
        assert entry.source and entry.source.startswith("https://")
        assert entry.region == "ANY" or DIRECTORY.get(entry.region) is not None
        assert entry.starter and entry.confirmed_on <= date(2026, 11, 22)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('kind = "training"', 'kind = "therapy"', "unknown kind"),
        ('url = "https://www.intentionalpeersupport.org/"', 'url = "http://x.org"', "https URL"),
        ("verified_at = 2026-11-22\n", "", "verified_at"),
    ],
)
def test_bad_starter_entries_are_refused(old: str, new: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_starter(STARTER.replace(old, new))
