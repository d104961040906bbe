"""`/crisis` in the regions added for issue 13, and the member's Discord locale as a hint."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World
from tests.e2e.embed_text import text_of


@pytest.mark.parametrize(
    ("query", "title", "must_have"),
    [
        ("Brasil", "Brazil", ["188", "call 192 or 190"]),
        ("mexico", "Mexico", ["800-911-2000", "call 911"]),
        ("Spain", "Spain", ["024", "call 112"]),
        ("Japan", "Japan", ["0120-279-338", "119"]),
        ("za", "South Africa", ["0800 567 567", "31393", "10111"]),
        ("Philippines", "Philippines", ["1553", "call 911"]),
    ],
)
async def test_the_new_regions_show_their_lines(
    world: World, query: str, title: str, must_have: list[str]
) -> None:
    reply = await world.sam.run("/crisis", region=query, channel=world.channel)
    assert reply.embeds[0]["title"] == f"Reach a person now — {title}"
    text = text_of(reply.embeds)
    for needle in must_have:
        assert needle in text, (needle, text)
    assert "checked 2026-11-22" in text


async def test_the_discord_locale_picks_the_region_when_none_is_given(world: World) -> None:
    world.kai.locale = "pt-BR"
    try:
        dm = await world.kai.run("/crisis", dm=True)
        in_server = await world.kai.run("/crisis", channel=world.channel)
        chosen = await world.kai.run("/crisis", region="GB", channel=world.channel)
        await world.facilitator.run("/facilitate crisis region", region="NZ")
        server_default = await world.kai.run("/crisis", channel=world.channel)
    finally:
        world.kai.locale = "en-US"
    assert dm.embeds[0]["title"] == "Reach a person now — Brazil"
    assert "188" in text_of(dm.embeds)
    assert in_server.embeds[0]["title"] == "Reach a person now — Brazil"
    assert chosen.embeds[0]["title"] == "Reach a person now — United Kingdom"  # asked wins
    assert (
        server_default.embeds[0]["title"] == "Reach a person now — New Zealand"
    )  # then the server


async def test_an_english_locale_gives_no_hint(world: World) -> None:
    reply = await world.noor.run("/crisis", dm=True)  # en-US: spoken everywhere
    assert reply.embeds[0]["title"] == "Reach a person now — International"
