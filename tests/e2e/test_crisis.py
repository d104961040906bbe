"""`/crisis` end to end: the real bot, through the local Discord server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.localdiscord import Member
from bot.replies import SORRY
from bot.ui.crisis import PEER_SUPPORT_NOTE
from tests.e2e.conftest import World
from tests.e2e.embed_text import field_names, text_of

CHECKED = re.compile(r"checked \d{4}-\d{2}-\d{2}")


async def test_crisis_in_a_server_defaults_to_the_international_card_with_us_lines(
    world: World,
) -> None:
    before = len(world.channel.messages)
    reply = await world.sam.run("/crisis", channel=world.channel)

    assert reply.ephemeral
    assert reply.embeds, reply.describe()
    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — International"
    assert "If you are in immediate danger, call your local emergency number" in text
    assert "findahelpline.com" in text
    # The US lines are on the default card: 988 (call or text) and SAMHSA's helpline.
    assert "Call **988**" in text
    assert "Text **988**" in text
    assert "1-800-662-4357" in text
    assert "United States (US)" in field_names(reply.embeds)
    assert "If you are in immediate danger, call 911." in text
    assert CHECKED.search(text)
    assert PEER_SUPPORT_NOTE in text
    assert len(world.channel.messages) == before  # nothing posted for others


async def test_crisis_works_in_a_dm_with_the_bot(world: World) -> None:
    reply = await world.kai.run("/crisis", dm=True)

    assert reply.embeds, reply.describe()
    text = text_of(reply.embeds)
    assert "Call **988**" in text and "1-800-662-4357" in text
    assert PEER_SUPPORT_NOTE in text
    assert reply.message is not None and reply.message.channel_id == world.kai.dm_channel.id


async def test_crisis_in_a_dm_takes_a_region(world: World) -> None:
    reply = await world.kai.run("/crisis", region="Australia", dm=True)

    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — Australia"
    assert "Call **000**" in text or "call 000" in text
    assert "13 11 14" in text


@pytest.mark.parametrize("spelling", ["uk", "GB", "United Kingdom", "u.k.", "  gb  "])
async def test_crisis_region_accepts_codes_and_names_in_any_spelling(
    world: World, spelling: str
) -> None:
    reply = await world.sam.run("/crisis", region=spelling, channel=world.channel)

    assert reply.ephemeral
    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "If you are in immediate danger, call 999 or 112." in text
    assert "Samaritans" in field_names(reply.embeds)
    assert "116 123" in text
    assert "SHOUT" in text and "85258" in text
    assert "Another country?" in field_names(reply.embeds)
    assert "isn't in Circlekeeper's list" not in text


@pytest.mark.parametrize(
    ("query", "title", "must_have"),
    [
        ("US", "United States", ["Call **988**", "1-800-662-4357", "741741", "call 911"]),
        ("canada", "Canada", ["Call **988**", "1-800-668-6868"]),
        ("Ireland", "Ireland", ["116 123", "1800 247 247"]),
        ("nz", "New Zealand", ["1737", "call 111"]),
        ("India", "India", ["14416"]),
        ("de", "Germany", ["0800 111 0 111"]),
        ("France", "France", ["3114"]),
    ],
)
async def test_crisis_shows_each_regions_lines(
    world: World, query: str, title: str, must_have: list[str]
) -> None:
    reply = await world.noor.run("/crisis", region=query, channel=world.channel)

    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == f"Reach a person now — {title}"
    for needle in must_have:
        assert needle in text, f"{needle!r} missing for {query}"
    assert PEER_SUPPORT_NOTE in text
    assert CHECKED.search(text)


async def test_an_unknown_region_gives_the_directory_emergency_guidance_and_a_hint(
    world: World,
) -> None:
    reply = await world.sam.run("/crisis", region="Atlantis", channel=world.channel)

    assert reply.ephemeral
    assert SORRY not in reply.text
    text = text_of(reply.embeds)
    assert reply.embeds[0]["title"] == "Reach a person now — International"
    assert "If you are in immediate danger, call your local emergency number" in text
    assert "findahelpline.com" in text
    assert "“Atlantis” isn't in Circlekeeper's list yet" in text
    assert "GB" in text and "US" in text  # the hint names the regions that have lines


async def test_an_unknown_region_with_markup_is_not_echoed_raw(world: World) -> None:
    reply = await world.sam.run("/crisis", region="@everyone <script>", channel=world.channel)

    text = text_of(reply.embeds)
    assert "findahelpline.com" in text
    assert "@everyone" not in text and "<script>" not in text
    assert reply.message is not None
    assert reply.message.mentions == []


async def test_share_posts_the_card_in_the_channel_for_everyone(world: World) -> None:
    before = len(world.channel.messages)
    reply = await world.sam.run("/crisis", region="GB", share=True, channel=world.channel)

    assert not reply.ephemeral
    assert len(world.channel.messages) == before + 1
    posted = world.channel.messages[-1]
    assert posted.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "116 123" in posted.text
    assert posted.mentions == []


async def test_share_false_keeps_it_private(world: World) -> None:
    before = len(world.channel.messages)
    reply = await world.sam.run("/crisis", region="US", share=False, channel=world.channel)

    assert reply.ephemeral
    assert len(world.channel.messages) == before


async def test_region_autocomplete_suggests_shipped_regions(world: World) -> None:
    choices = await world.sam.autocomplete("/crisis", "region", "uni", channel=world.channel)
    assert ("United Kingdom (GB)", "GB") in choices
    assert ("United States (US)", "US") in choices

    exact = await world.sam.autocomplete("/crisis", "region", "uk", channel=world.channel)
    assert exact[0] == ("United Kingdom (GB)", "GB")

    everything = await world.sam.autocomplete("/crisis", "region", "", channel=world.channel)
    codes = {value for _, value in everything}
    assert {"US", "CA", "GB", "IE", "AU", "NZ", "IN", "DE", "FR", "INTL"} <= codes
    assert len(everything) <= 25

    nothing = await world.sam.autocomplete("/crisis", "region", "zzzz", channel=world.channel)
    assert nothing == []


async def test_region_autocomplete_works_in_dms(world: World) -> None:
    choices = await world.kai.autocomplete("/crisis", "region", "aus", dm=True)
    assert choices[0] == ("Australia (AU)", "AU")


async def test_the_card_fits_discords_limits_for_every_region(world: World) -> None:
    for region in world.bot.resources.static.crisis.regions:
        reply = await world.noor.run("/crisis", region=region.code, channel=world.channel)
        assert reply.embeds, f"{region.code}: {reply.describe()}"
        total = sum(
            len(e.get("title", ""))
            + len(e.get("description", ""))
            + len(e.get("footer", {}).get("text", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
            for e in reply.embeds
        )
        assert total <= 6000
        assert all(len(e.get("fields", [])) <= 25 for e in reply.embeds)


async def _second_guild(world: World, name: str) -> tuple[Any, Member, Member]:
    guild = world.server.create_guild(name)
    admin = guild.add_member(f"{name} admin", manage_guild=True)
    member = guild.add_member(f"{name} member")
    guild.create_text_channel("general")
    await world.server.wait_for(lambda: world.bot.get_guild(guild.id) is not None)
    return guild, admin, member


async def test_the_servers_default_region_is_used_and_an_explicit_region_wins(
    world: World,
) -> None:
    _, admin, member = await _second_guild(world, "Glasgow Circle")

    set_reply = await admin.run("/facilitate crisis region", region="United Kingdom")
    assert set_reply.ephemeral
    assert "United Kingdom" in set_reply.content

    default = await member.run("/crisis")
    assert default.embeds[0]["title"] == "Reach a person now — United Kingdom"
    assert "116 123" in text_of(default.embeds)

    explicit = await member.run("/crisis", region="IE")
    assert explicit.embeds[0]["title"] == "Reach a person now — Ireland"

    # Other servers keep the international default.
    elsewhere = await world.sam.run("/crisis", channel=world.channel)
    assert elsewhere.embeds[0]["title"] == "Reach a person now — International"
    # DMs have no server, so no server default either.
    dm = await member.run("/crisis", dm=True)
    assert dm.embeds[0]["title"] == "Reach a person now — International"


async def test_crisis_never_pings_anyone(world: World) -> None:
    reply = await world.sam.run("/crisis", share=True, channel=world.channel)
    assert reply.message is not None
    assert reply.message.mentions == []
    assert reply.message.allowed_mentions is not None
    assert reply.message.allowed_mentions.get("parse") == []
