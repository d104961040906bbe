"""`/resources` end to end: add through the form, list, search, approval, bad input."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.resources import NOTES_MAX
from bot.localdiscord import Member, together
from bot.localdiscord.driver import Reply
from bot.replies import SORRY
from tests.e2e.conftest import World

SUPPRESS_EMBEDS = 1 << 2
CLINIC = {
    "Name": "Riverside Community Clinic",
    "What it offers": "Counselling on a sliding scale, from $20 a session",
    "Link": "https://riverside.example.org/fees",
    "Region": "UK",
    "Notes": "Ask for the reduced-fee form at reception",
}


async def add(member: Member, world: World, fields: dict[str, str], **options: object) -> Reply:
    form = await member.run("/resources add", channel=world.channel, **options)
    assert form.modal is not None, form.describe()
    return await member.submit(form, fields)


async def test_a_member_adds_a_clinic_and_another_finds_it(world: World) -> None:
    added = await add(world.sam, world, CLINIC, kind="sliding-scale")
    assert added.ephemeral and "is listed with your name" in added.text, added.describe()

    found = await world.kai.run("/resources search", words="sliding clinic", channel=world.channel)
    assert found.ephemeral
    text = found.text
    assert "**Riverside Community Clinic** · Sliding scale · GB" in text
    assert "<https://riverside.example.org/fees>" in text  # a link, never a preview
    assert found.message is not None and found.message.flags & SUPPRESS_EMBEDS
    assert f"added by <@{world.sam.id}> on " in text and "confirmed " in text
    assert "reduced-fee form" in text
    assert "possibly out of date" not in text

    # The starter set answers searches too, with its source and date.
    starter = await world.kai.run("/resources search", words="findtreatment", channel=world.channel)
    assert "FindTreatment.gov (SAMHSA)" in starter.text and "source <https://" in starter.text


async def test_list_filters_by_kind_and_region_and_anonymity_shows_a_member(world: World) -> None:
    group = {"Name": "Tuesday Walkers", "What it offers": "A walking group for low days"}
    added = await add(world.noor, world, group, kind="peer-group", anonymous=True)
    assert "as “a member”" in added.text

    peers = await world.sam.run("/resources list", kind="peer-group", channel=world.channel)
    assert "Tuesday Walkers" in peers.text and "added by a member" in peers.text
    assert str(world.noor.id) not in peers.text
    assert "NAMI Peer-to-Peer" in peers.text  # the starter entry of the same kind

    uk = await world.sam.run("/resources list", region="UK", channel=world.channel)
    assert "Tuesday Walkers" in uk.text  # anywhere counts everywhere
    assert "FindTreatment.gov" not in uk.text  # a US entry


async def test_an_entry_a_year_old_is_marked_possibly_out_of_date(world: World) -> None:
    await add(world.kai, world, {**CLINIC, "Name": "Old Clinic"}, kind="free-care")
    await world.advance(timedelta(days=366))
    listed = await world.kai.run("/resources list", kind="free-care", channel=world.channel)
    block = next(b for b in listed.text.split("\n\n") if "Old Clinic" in b)
    assert "⚠ possibly out of date" in block


async def test_approval_flow(world: World) -> None:
    on = await world.facilitator.run(
        "/facilitate resources approval", required=True, channel=world.channel
    )
    assert "wait for a facilitator's approval" in on.text
    shown = await world.facilitator.run("/facilitate resources approval", channel=world.channel)
    assert "wait for a facilitator's approval" in shown.text
    added = await add(world.sam, world, {**CLINIC, "Name": "Hillside Clinic"}, kind="sliding-scale")
    assert "waits for a facilitator's approval" in added.text
    listed = await world.kai.run("/resources search", words="hillside", channel=world.channel)
    assert "Nothing matches" in listed.text

    choices = await world.facilitator.autocomplete(
        "/facilitate resources approve", "entry", "hill", channel=world.channel
    )
    assert len(choices) == 1 and "Hillside Clinic" in choices[0][0]
    approved = await world.facilitator.run(
        "/facilitate resources approve", entry=choices[0][1], channel=world.channel
    )
    assert "Approved: **Hillside Clinic**" in approved.text
    assert "Hillside Clinic" in (await world.kai.run("/resources search", words="hillside")).text

    removed = await world.facilitator.run(
        "/facilitate resources remove", entry=choices[0][1], channel=world.channel
    )
    assert "Removed **Hillside Clinic**" in removed.text
    assert "Nothing matches" in (await world.kai.run("/resources search", words="hillside")).text
    again = await world.facilitator.run(
        "/facilitate resources remove", entry=choices[0][1], channel=world.channel
    )
    assert "No such entry" in again.text and SORRY not in again.text


async def test_bad_input_is_refused_and_nothing_is_saved(world: World) -> None:
    js = await add(world.sam, world, {**CLINIC, "Link": "javascript:alert(1)"}, kind="training")
    assert "must be a web address starting with https://" in js.text and SORRY not in js.text
    ftp = await add(world.sam, world, {**CLINIC, "Link": "ftp://example.org/x"}, kind="training")
    assert "must be a web address" in ftp.text
    ping = await add(world.sam, world, {**CLINIC, "Name": "Call @everyone"}, kind="training")
    assert "can't contain @everyone" in ping.text
    where = await add(world.sam, world, {**CLINIC, "Region": "Atlantis"}, kind="training")
    assert "I don't know that region" in where.text

    form = await world.sam.run("/resources add", kind="training", channel=world.channel)
    assert form.modal is not None
    for _, component in form.modal.fields:
        component["max_length"] = 4001  # a client that ignores the form's limits
    long = await world.sam.submit(form, {**CLINIC, "Notes": "n" * 4001})
    assert f"holds up to {NOTES_MAX:,}" in long.text and "Nothing was saved" in long.text

    kind = await world.sam.run("/resources add", kind="therapy-dog", channel=world.channel)
    assert kind.modal is None and "no kind by that name" in kind.text

    listed = await world.sam.run("/resources list", kind="training", channel=world.channel)
    assert "Riverside" not in listed.text


async def test_the_same_entry_submitted_twice_at_once_is_stored_once(world: World) -> None:
    first = await world.kai.run("/resources add", kind="coping-idea", channel=world.channel)
    second = await world.kai.run("/resources add", kind="coping-idea", channel=world.channel)
    idea = {"Name": "Box breathing", "What it offers": "Four counts in, hold, out, hold"}
    results = await together(world.kai.submit(first, idea), world.kai.submit(second, idea), seed=3)
    texts = [r.text for r in results]
    assert sum("is listed" in t for t in texts) == 1, texts
    assert sum("already in the list" in t for t in texts) == 1, texts
    listed = await world.noor.run("/resources search", words="box breathing", channel=world.channel)
    assert listed.text.count("**Box breathing**") == 1
