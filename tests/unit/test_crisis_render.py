"""Rendering the crisis lines: Discord's limits for every region, worst case, and the
safe-messaging content every answer must carry."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.domain.crisis import (
    LOCAL_HOW_MAX,
    LOCAL_NAME_MAX,
    LOCAL_NOTES_MAX,
    LOCAL_URL_MAX,
    CrisisDirectory,
    LocalResource,
    RegionLookup,
    parse_directory,
    validate_local_resource,
)
from bot.ui.crisis import (
    ALERTS_NOTE,
    FROM_THIS_SERVER,
    GENTLE_SCREENING_INTRO,
    PEER_SUPPORT_NOTE,
    crisis_embeds,
)

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "crisis_resources.toml"
DIRECTORY: CrisisDirectory = parse_directory(DATA_FILE.read_text(encoding="utf-8"))
FORBIDDEN = (
    "committed suicide",
    "commit suicide",
    "successful attempt",
    "failed attempt",
    "unsuccessful attempt",
    "epidemic",
)


def _maximal_local(index: int) -> LocalResource:
    url = f"https://example.org/{index}/"
    return validate_local_resource(
        name=f"{index} ".ljust(LOCAL_NAME_MAX, "N"),
        how="h" * LOCAL_HOW_MAX,
        url=url + "a" * (LOCAL_URL_MAX - len(url)),
        notes="n" * LOCAL_NOTES_MAX,
    )


MAXIMAL_LOCAL = [_maximal_local(i) for i in range(10)]
LOOKUPS = [DIRECTORY.lookup(region.code) for region in DIRECTORY.regions] + [
    DIRECTORY.lookup("Atlantis"),
    DIRECTORY.lookup(None),
]
IDS = [f"{lookup.region.code}-{lookup.matched}-{bool(lookup.hint)}" for lookup in LOOKUPS]


def _text(embeds: list[discord.Embed]) -> str:
    parts: list[str] = []
    for embed in embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
        for field in embed.fields:
            parts += [field.name or "", field.value or ""]
    return "\n".join(parts)


def _assert_within_limits(embeds: list[discord.Embed]) -> None:
    assert 1 <= len(embeds) <= 10
    assert sum(len(embed) for embed in embeds) <= 6000
    for embed in embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        for field in embed.fields:
            assert field.name and len(field.name) <= 256
            assert field.value and len(field.value) <= 1024
        assert len(embed.footer.text or "") <= 2048
        embed.to_dict()  # serialisable as discord.py would send it


@pytest.mark.parametrize("lookup", LOOKUPS, ids=IDS)
@pytest.mark.parametrize("local_count", [0, 1, 10, 25])
def test_worst_case_fits_discord_limits(lookup: RegionLookup, local_count: int) -> None:
    local = (MAXIMAL_LOCAL * 3)[:local_count]
    embeds = crisis_embeds(lookup, local, alerts_enabled=True, gentle_intro=GENTLE_SCREENING_INTRO)
    _assert_within_limits(embeds)


@pytest.mark.parametrize("lookup", LOOKUPS, ids=IDS)
def test_required_content(lookup: RegionLookup) -> None:
    embeds = crisis_embeds(lookup, MAXIMAL_LOCAL, alerts_enabled=True)
    text = _text(embeds)
    region = lookup.region
    assert embeds[0].title == f"Reach a person now — {region.name}"
    assert "immediate danger" in (embeds[0].description or "")
    for number in region.emergency:
        assert number in (embeds[0].description or "")
    for line in region.lines:
        assert line.name in text
        assert f"checked {line.verified_at.isoformat()}" in text
    assert "findahelpline.com" in text
    assert PEER_SUPPORT_NOTE in text
    assert "not a crisis service" in text and "around the clock" in text
    assert ALERTS_NOTE in text
    assert "never what was written" in text
    lowered = text.casefold()
    for phrase in FORBIDDEN:
        assert phrase not in lowered, phrase


@pytest.mark.parametrize("lookup", LOOKUPS, ids=IDS)
def test_shipped_lines_come_first_then_local(lookup: RegionLookup) -> None:
    embeds = crisis_embeds(lookup, MAXIMAL_LOCAL[:2])
    names = [field.name for embed in embeds for field in embed.fields]
    assert FROM_THIS_SERVER in names
    position = names.index(FROM_THIS_SERVER)
    for line in lookup.region.lines:
        assert names.index(line.name) < position
    assert names[position + 1] == MAXIMAL_LOCAL[0].name
    assert names[position + 2] == MAXIMAL_LOCAL[1].name


def test_first_local_resources_keep_their_details_when_room_allows() -> None:
    embeds = crisis_embeds(DIRECTORY.lookup("FR"), MAXIMAL_LOCAL, alerts_enabled=True)
    fields = {field.name: field.value for embed in embeds for field in embed.fields}
    first = fields[MAXIMAL_LOCAL[0].name]
    assert first is not None and MAXIMAL_LOCAL[0].url is not None
    assert MAXIMAL_LOCAL[0].how in first and MAXIMAL_LOCAL[0].url in first
    # every resource keeps its name and how to reach it, even when links are cut
    for resource in MAXIMAL_LOCAL:
        assert resource.how in (fields[resource.name] or "")


def test_too_many_local_resources_are_counted_not_dropped_silently() -> None:
    local = [_maximal_local(i) for i in range(25)]
    embeds = crisis_embeds(DIRECTORY.lookup("US"), local, alerts_enabled=True)
    _assert_within_limits(embeds)
    assert "more from this server" in _text(embeds)


def test_small_local_resource_is_shown_in_full() -> None:
    resource = validate_local_resource(
        "Riverside Warmline", "call 555-0100, 5pm–11pm", "https://example.org", "Free."
    )
    embeds = crisis_embeds(DIRECTORY.lookup("GB"), [resource])
    field = next(f for e in embeds for f in e.fields if f.name == "Riverside Warmline")
    assert field.value == "call 555-0100, 5pm–11pm\nhttps://example.org\nFree."


def test_alerts_line_only_when_enabled() -> None:
    assert ALERTS_NOTE not in _text(crisis_embeds(DIRECTORY.lookup("US")))
    assert ALERTS_NOTE in _text(crisis_embeds(DIRECTORY.lookup("US"), alerts_enabled=True))


def test_unknown_region_shows_hint_and_international_help() -> None:
    lookup = DIRECTORY.lookup("Atlantis")
    description = crisis_embeds(lookup)[0].description or ""
    assert lookup.hint and lookup.hint in description
    assert "112" in description
    assert "Atlantis" in description


def test_gentle_intro_comes_first() -> None:
    embeds = crisis_embeds(DIRECTORY.lookup("CA"), gentle_intro=GENTLE_SCREENING_INTRO)
    description = embeds[0].description or ""
    assert description.startswith(GENTLE_SCREENING_INTRO)
    assert "If you are in immediate danger, call 911." in description


def test_us_contacts_render_as_actions() -> None:
    text = _text(crisis_embeds(DIRECTORY.lookup("US")))
    assert "Call **988**" in text and "Text **988**" in text
    assert "Text **HOME** to **741741**" in text
    assert "Call **988**, then press 1" in text
    assert "Text **838255**" in text
    assert "Call **1-800-662-4357**" in text
    assert "988lifeline.org" in text


def test_gentle_intro_is_calm() -> None:
    lowered = GENTLE_SCREENING_INTRO.casefold()
    assert len(GENTLE_SCREENING_INTRO) <= 300
    for word in ("suicide", "detected", "flagged", "warning", "!"):
        assert word not in lowered
