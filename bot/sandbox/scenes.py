"""The scripted walk-through of `circlekeeper sandbox`: one scene per feature.

Each scene drives simulated members through the real bot and checks what a facilitator
would want to be true (the crisis lines are there; private notes stay private). A check
that fails raises `SceneFailed`, and the sandbox exits non-zero naming the scene.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.localdiscord import Channel, Guild, LocalDiscord, Member, Reply, together
from bot.localdiscord.state import Message
from bot.replies import SORRY

CIRCLE = "Tuesday Evenings"
TIMEZONE = "America/New_York"
MEMBER_NAMES = ("Ada", "Sam", "Kai", "Noor")
FACILITATOR = "Ada"

SAM_NOTE = "Started the new job this week. Nervous, but it went better than I feared."
KAI_NOTE = "Rough week with my dad in hospital. Not ready to talk about it in the group."
NOOR_NOTE = "Just writing this down for myself: slept badly, but I went for a walk."


class SceneFailed(Exception):
    """A scene did not go as scripted: the bot answered wrongly, late, or not at all."""


@dataclass
class Stage:
    """The sandbox world the scenes act in, and a way to narrate between actions."""

    server: LocalDiscord
    guild: Guild
    channel: Channel
    members: dict[str, Member]
    say: Callable[[str], None]
    notes: dict[str, Any] = field(default_factory=dict)

    def member(self, name: str) -> Member:
        return self.members[name]

    def all_messages(self) -> Iterable[Message]:
        """Every message anyone can see anywhere: channels, threads, DMs, ephemeral replies."""
        for channel in self.server.state.channels.values():
            yield from (m for m in channel.messages if not m.deleted)


@dataclass(frozen=True)
class Scene:
    title: str
    intro: str
    play: Callable[[Stage], Awaitable[None]]


def expect(condition: object, problem: str) -> None:
    if not condition:
        raise SceneFailed(problem)


def expect_private(reply: Reply, what: str) -> None:
    expect(reply.message is not None, f"{what}: the bot sent no message ({reply.describe()})")
    expect(reply.ephemeral, f"{what}: the answer should be private (ephemeral) but was public")
    expect(SORRY not in reply.text, f"{what}: the bot hit an unexpected error (see its log above)")


# -- 1. crisis lines ---------------------------------------------------------------------
async def crisis_scene(stage: Stage) -> None:
    sam, kai = stage.member("Sam"), stage.member("Kai")
    reply = await sam.run("/crisis", channel=stage.channel)
    expect_private(reply, "/crisis")
    expect("988" in reply.text, "/crisis (default region) does not show the US 988 line")

    stage.say("Kai is in the UK and asks for lines there:")
    reply = await kai.run("/crisis", channel=stage.channel, region="UK")
    expect_private(reply, "/crisis region:UK")
    expect("116 123" in reply.text or "Samaritans" in reply.text, "no UK lines for region:UK")

    stage.say("Sam shares the lines in the channel, for someone else who needs them:")
    reply = await sam.run("/crisis", channel=stage.channel, share=True)
    expect(reply.message is not None and not reply.ephemeral, "/crisis share:True was not public")

    stage.say("It also works in a direct message with the bot, outside any server:")
    reply = await sam.run("/crisis", dm=True)
    expect("988" in reply.text, "/crisis in a DM does not show crisis lines")


# -- 2. privacy policy -------------------------------------------------------------------
async def privacy_scene(stage: Stage) -> None:
    reply = await stage.member("Noor").run("/privacy policy", channel=stage.channel)
    expect_private(reply, "/privacy policy")
    expect(reply.embed is not None, "/privacy policy sent no policy")


# -- 3. a circle and a check-in round ------------------------------------------------------
async def circle_scene(stage: Stage) -> None:
    ada = stage.member("Ada")
    reply = await ada.run(
        "/facilitate circle create", channel=stage.channel, name=CIRCLE, timezone=TIMEZONE
    )
    expect_private(reply, "/facilitate circle create")
    expect(
        CIRCLE in reply.content,
        f"/facilitate circle create did not confirm {CIRCLE!r}: {reply.content}",
    )

    stage.say("Sam, Kai and Noor each read the circle's agreement and press I agree:")
    for name in ("Sam", "Kai", "Noor"):
        member = stage.member(name)
        agreement = await member.run("/circle join", channel=stage.channel, circle=CIRCLE)
        expect_private(agreement, f"/circle join ({name})")
        joined = await member.click("I agree", message=agreement)
        expect(joined.response_type is not None, f"{name} pressed I agree and nothing happened")

    stage.say("Ada sets a schedule: Mondays and Thursdays at 19:00, open for 12 hours.")
    reply = await ada.run(
        "/facilitate checkin schedule",
        channel=stage.channel,
        circle=CIRCLE,
        days="mon,thu",
        time="19:00",
        close_after="12h",
    )
    expect_private(reply, "/facilitate checkin schedule")

    stage.say("She doesn't wait for Monday: she opens a round right now.")
    reply = await ada.run("/facilitate checkin now", channel=stage.channel, circle=CIRCLE)
    expect_private(reply, "/facilitate checkin now")
    prompt = stage.channel.last_message
    expect(
        prompt is not None and "Check in" in prompt.buttons,
        "/facilitate checkin now did not post a round with a Check in button in #tuesday-circle",
    )

    answers = (
        ("Sam", "4", SAM_NOTE, "the circle"),
        ("Kai", "2", KAI_NOTE, "facilitators only"),
        ("Noor", "3", NOOR_NOTE, "just me"),
    )
    for name, mood, note, who in answers:
        stage.say(f"{name} checks in: mood {mood}, shared with {who}.")
        member = stage.member(name)
        form = await member.click("Check in", message=prompt)
        expect(form.modal is not None, f"{name} pressed Check in but no form opened")
        done = await member.submit(form, {"Mood": mood, "Note": note, "Who sees this": who})
        expect_private(done, f"{name}'s check-in")

    stage.say("Ada closes the round. The summary shows only what each member chose to share.")
    reply = await ada.run("/facilitate checkin close", channel=stage.channel, circle=CIRCLE)
    expect_private(reply, "/facilitate checkin close")
    await stage.server.wait_for(
        lambda: any("Check-in closed" in m.text for m in stage.channel.messages),
        message="for the round summary in #tuesday-circle",
    )
    await stage.server.wait_for(
        lambda: any(KAI_NOTE in m.text for m in ada.dms),
        message="for Kai's facilitators-only note to reach Ada by DM",
    )
    channel_text = "\n".join(m.text for m in stage.channel.messages)
    expect(SAM_NOTE in channel_text, "Sam's note (shared with the circle) is not in the summary")
    expect(KAI_NOTE not in channel_text, "Kai's facilitators-only note leaked into the channel")
    expect(NOOR_NOTE not in channel_text, "Noor's just-me note leaked into the channel")
    kai_places = [
        stage.server.where(stage.server.state.channels[m.channel_id])
        for m in stage.all_messages()
        if KAI_NOTE in m.text
    ]
    expect(
        kai_places == ["DM with Ada"],
        f"Kai's note should reach only Ada's DMs; found in {kai_places}",
    )
    expect(
        not any(NOOR_NOTE in m.text for m in stage.all_messages()),
        "Noor's just-me note was shown somewhere",
    )
    stage.say(
        "✓ Checked: Sam's note is in the channel summary; Kai's reached Ada alone, by DM; "
        "Noor's (just me) was shown to no one: it is only in her own, private form."
    )


# -- 4. a member's own data ----------------------------------------------------------------
async def own_data_scene(stage: Stage) -> None:
    sam = stage.member("Sam")
    reply = await sam.run("/checkin history", channel=stage.channel)
    expect_private(reply, "/checkin history")
    charts = [f for f in reply.files if f.filename.endswith(".png")]
    expect(charts, f"/checkin history attached no chart: {reply.content}")
    stage.say(f"(the chart is a {charts[0].size / 1024:.0f} KB PNG image, only for Sam)")

    stage.say("Sam asks for a copy of everything stored about them:")
    reply = await sam.run("/privacy export", channel=stage.channel)
    expect_private(reply, "/privacy export")
    files = [f for f in reply.files if f.filename.endswith(".json")]
    expect(files, "/privacy export attached no JSON file")
    try:
        document = json.loads(files[0].content)
        tables = document["tables"]
        count = sum(len(rows) for rows in tables.values())
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SceneFailed(f"/privacy export is not the expected JSON ({error})") from error
    expect(count > 0, "/privacy export holds no records for Sam")
    filled = sorted(name for name, rows in tables.items() if rows)
    stage.say(
        f"(the JSON file holds {count} record(s), from: {', '.join(filled)}; "
        "its content is not shown here)"
    )


# -- 5. bad input ----------------------------------------------------------------------------
async def bad_input_scene(stage: Stage) -> None:
    ada = stage.member("Ada")
    reply = await ada.run(
        "/facilitate checkin schedule",
        channel=stage.channel,
        circle=CIRCLE,
        days="mon,thu",
        time="25:00",
    )
    expect_private(reply, "/facilitate checkin schedule time:25:00")
    expect(
        reply.content and reply.content != SORRY,
        f"time:25:00 got a generic error instead of a clear refusal: {reply.content!r}",
    )

    stage.say("And a circle in a time zone that doesn't exist:")
    reply = await ada.run(
        "/facilitate circle create", channel=stage.channel, name="Moon Base", timezone="Mars/Base"
    )
    expect_private(reply, "/facilitate circle create timezone:Mars/Base")
    expect("Created" not in reply.content, "a circle was created in the Mars/Base time zone")
    expect(reply.content != SORRY, "timezone:Mars/Base got a generic error, not a clear refusal")


# -- a circle acts together ----------------------------------------------------------------
async def together_scene(stage: Stage) -> None:
    ada = stage.member("Ada")
    trio = [stage.member(name) for name in ("Sam", "Kai", "Noor")]
    reply = await ada.run("/facilitate checkin now", channel=stage.channel, circle=CIRCLE)
    expect_private(reply, "/facilitate checkin now")
    prompt = stage.channel.last_message
    expect(prompt is not None and "Check in" in prompt.buttons, "no new round was posted")
    stage.say("Sam, Kai and Noor press Check in in the same second: three forms are open at once.")
    forms = await together(*(m.click("Check in", message=prompt) for m in trio), seed=1)
    expect(all(form.modal is not None for form in forms), "a Check in press opened no form")
    stage.say("They submit at the same moment too, each with their own answer.")
    done = await together(
        *(
            member.submit(
                form, {"Mood": "3", "Note": f"{member.name} made it", "Who sees this": "the circle"}
            )
            for member, form in zip(trio, forms, strict=True)
        ),
        seed=2,
    )
    for member, reply in zip(trio, done, strict=True):
        expect_private(reply, f"{member.name}'s check-in")
        expect("Thank you" in reply.text, f"{member.name} was not thanked: {reply.describe()}")
    before = sum("Check-in closed" in m.text for m in stage.channel.messages)
    stage.say("Ada double-clicks close: two closes arrive together.")
    closes = await together(
        *(ada.run("/facilitate checkin close", channel=stage.channel, circle=CIRCLE) for _ in "ab")
    )
    for reply in closes:
        expect_private(reply, "/facilitate checkin close")
    await stage.server.wait_for(
        lambda: sum("Check-in closed" in m.text for m in stage.channel.messages) > before,
        message="for the round summary",
    )
    summaries = [m for m in stage.channel.messages if "Check-in closed" in m.text][before:]
    expect(len(summaries) == 1, f"{len(summaries)} summaries for one round")
    expect(
        all(f"{m.name} made it" in summaries[0].text for m in trio),
        "an answer given at the same moment as the others is missing from the summary",
    )
    stage.say("✓ Checked: three forms open at once, three answers saved; two closes, one summary.")


# -- 7. the talking piece ------------------------------------------------------------------
async def talking_piece_scene(stage: Stage) -> None:
    from datetime import timedelta

    ada, sam, kai, noor = (stage.member(n) for n in ("Ada", "Sam", "Kai", "Noor"))
    advance = stage.notes.get("advance")
    expect(advance is not None, "the sandbox cannot move its clock for the talking piece scene")
    agreement = await ada.run("/circle join", channel=stage.channel, circle=CIRCLE)
    await ada.click("I agree", message=agreement)
    reply = await ada.run(
        "/facilitate talk start", channel=stage.channel, circle=CIRCLE, minutes="2", then="floor"
    )
    expect_private(reply, "/facilitate talk start")
    boards = [m for m in stage.channel.messages if m.embed and "Talking piece" in m.text]
    expect(boards, "/facilitate talk start posted no board")
    board = boards[-1]

    async def shown(text: str) -> None:
        await stage.server.wait_for(lambda: text in board.text, 10, message=f"for {text!r}")

    async def holding(member: Member) -> None:
        await shown(f"Holding the piece:** {member.mention}")

    stage.say("Four members take a seat, and Ada begins the round.")
    for member in (ada, sam, kai, noor):
        await member.click("Join", message=board)
    await shown(noor.mention)
    await ada.click("Begin", message=board)
    await holding(ada)
    await ada.click("Done", message=board)
    await holding(sam)
    stage.say("Sam passes: passing is always fine. Kai raises a hand for later.")
    await sam.click("Pass", message=board)
    await kai.click("Raise hand", message=board)
    await holding(kai)
    stage.say("Kai's share runs out of time: two minutes later the piece moves on by itself.")
    await advance(timedelta(minutes=2))  # type: ignore[misc]
    await holding(noor)
    await noor.click("Done", message=board)
    stage.say("The last call comes back to Sam, who speaks this time; then the floor opens.")
    await holding(sam)
    await shown("Last call")
    await sam.click("Done", message=board)
    await shown("The floor is open")
    await kai.click("Raise hand", message=board)
    await holding(kai)
    await kai.click("Done", message=board)
    stage.say("Ada ends the gathering and reads the airtime summary, which only she sees.")
    panel = await ada.click("Facilitator", message=board)
    expect_private(panel, "the Facilitator panel")
    ended = await ada.click("End", message=panel)
    summary = ended.followups[-1] if ended.followups else await ended.next_followup()
    expect(summary.ephemeral and "Airtime" in summary.text, "End gave no private airtime summary")
    await shown("The gathering has ended")
    stage.say(
        "✓ Checked: a pass, a share timed out, a hand answered on the open floor, airtime private."
    )


# -- circle care (issue 13): a crisis plan, rotating roles, shared knowledge ---------------
async def care_scene(stage: Stage) -> None:
    ada, sam, kai, noor = (stage.member(n) for n in ("Ada", "Sam", "Kai", "Noor"))
    form = await sam.run("/crisisplan edit", channel=stage.channel)
    expect(form.modal is not None, "/crisisplan edit opened no form")
    saved = await sam.submit(
        form,
        {
            "Warning signs": "I stop answering messages",
            "Things I can do on my own": "a walk round the block",
            "People I can ask for help": "my sister",
        },
    )
    expect_private(saved, "part 1 of the crisis plan")
    stage.say("Sam saves part 1, then presses Continue for part 2 (its lines are prefilled):")
    second = await sam.click("Continue with part 2", message=saved)
    expect(second.modal is not None, "Continue with part 2 opened no form")
    done = await sam.submit(second, {"My reasons to keep going": "my cat Miso"})
    expect_private(done, "part 2 of the crisis plan")
    view = await sam.run("/crisisplan view", channel=stage.channel)
    expect_private(view, "/crisisplan view")
    expect("my cat Miso" in view.text, "the plan's view lacks what Sam wrote")
    stage.say("The /crisis card now offers Sam's plan, to Sam only:")
    card = await sam.run("/crisis", channel=stage.channel)
    expect("My plan" in card.buttons, "the /crisis card has no My plan button")
    shown = await sam.click("My plan", message=card)
    expect_private(shown, "My plan")

    stage.say("Sam and Kai volunteer as keeper, Noor to pick prompts; Ada turns the rotation on.")
    for member, role in ((sam, "keeper"), (kai, "keeper"), (noor, "prompt")):
        reply = await member.run(
            "/circle volunteer", role=role, circle=CIRCLE, channel=stage.channel
        )
        expect_private(reply, f"/circle volunteer role:{role}")
    reply = await ada.run(
        "/facilitate circle roles", circle=CIRCLE, rotation=True, channel=stage.channel
    )
    expect_private(reply, "/facilitate circle roles")
    # An earlier scene may have moved the sandbox's clock ahead of the wall clock, which
    # APScheduler's wake-ups follow: run the cycle that is due by the sandbox's own time.
    advance = stage.notes.get("advance")
    if advance is not None:
        await advance(timedelta())
    await stage.server.wait_for(
        lambda: any("This cycle's roles" in m.text for m in stage.channel.messages),
        message="for this cycle's roles",
    )
    post = next(m for m in reversed(stage.channel.messages) if "This cycle's roles" in m.text)
    stage.say("Sam can't keep this week, and presses Swap keeper: the next in line takes it.")
    swapped = await sam.click("Swap keeper", message=post)
    expect_private(swapped, "Swap keeper")
    expect(kai.mention in swapped.text, "the swap did not hand keeper to Kai")

    stage.say("Noor adds a sliding-scale clinic; Kai finds it with /resources search.")
    form = await noor.run("/resources add", kind="sliding-scale", channel=stage.channel)
    expect(form.modal is not None, "/resources add opened no form")
    added = await noor.submit(
        form,
        {
            "Name": "Riverside Community Clinic",
            "What it offers": "Counselling from $20 a session",
            "Link": "https://riverside.example.org",
        },
    )
    expect_private(added, "/resources add")
    found = await kai.run("/resources search", words="sliding clinic", channel=stage.channel)
    expect_private(found, "/resources search")
    expect("Riverside Community Clinic" in found.text, "the search did not find the clinic")
    stage.say(
        "✓ Checked: a private plan in two forms; roles named and swapped; a clinic shared and found."
    )


async def help_scene(stage: Stage) -> None:
    sam, kai, noor, ada = (stage.member(n) for n in ("Sam", "Kai", "Noor", "Ada"))
    here = stage.channel
    stage.say("Ada joins the circle too. Kai and Noor have room to help; Ada is resting.")
    agreement = await ada.run("/circle join", channel=here, circle=CIRCLE)
    await ada.click("I agree", message=agreement)
    for member, state in ((kai, "available"), (noor, "available"), (ada, "resting")):
        reply = await member.run("/capacity", channel=here, state=state)
        expect_private(reply, f"/capacity ({member.name})")
    stage.say("Sam asks for a ride, anonymously.")
    form = await sam.run("/ask", channel=here, kind="practical", circle=CIRCLE)
    expect(form.modal is not None, f"/ask showed no form: {form.describe()}")
    asked = await sam.submit(
        form,
        {
            "What you need": "A ride to my appointment",
            "When and where": "Tuesday 2pm, from Main St to the clinic",
            "What would be enough": "One way is plenty",
            "Ask anonymously": "yes",
        },
    )
    expect_private(asked, "the ask")

    def routed(member: Member) -> list[Message]:
        return [m for m in member.dms if "asked for practical help" in m.text]

    await stage.server.wait_for(
        lambda: bool(routed(kai) and routed(noor) and here.threads), message="the ask's thread"
    )
    thread = here.threads[-1]
    expect(not routed(ada), "a resting member was routed an ask")
    expect(sam.id not in thread.member_ids, "the anonymous asker was added to the thread")
    stage.say(f"The thread “{thread.name}” opens; Kai and Noor hear privately; Ada is skipped.")
    opening = thread.messages[0]
    await kai.click("I can help", message=opening)
    await stage.server.wait_for(
        lambda: any("offered to help" in m.text for m in sam.dms), message="the offer's DM"
    )
    offer = [m for m in sam.dms if "offered to help" in m.text][-1]
    accepted = await sam.click("Accept", message=offer)
    expect("Accepted" in accepted.text, f"accepting did not work: {accepted.describe()}")
    stage.say("Kai offers; Sam accepts from a DM, still anonymous to everyone else.")
    resolved = await sam.click("Resolved", message=opening)
    expect_private(resolved, "Resolved")
    logged = await sam.submit(
        await sam.click("Log time with helper 1", message=resolved), {"How much time": "45m"}
    )
    expect_private(logged, "logging time")
    await stage.server.wait_for(
        lambda: any("was resolved" in m.text for m in kai.dms), message="the helper's thanks"
    )
    helper_dm = [m for m in kai.dms if "was resolved" in m.text][-1]
    await kai.submit(await kai.click("Log time", message=helper_dm), {"How much time": "45m"})
    thanks = await sam.run("/thanks", channel=here, member=kai, note="for the ride", circle=CIRCLE)
    expect("Thanks posted" in thanks.text, f"/thanks: {thanks.describe()}")
    stage.say("Resolved; Sam thanks Kai; both log 45 minutes.")
    given = await kai.run("/ledger", channel=here)
    received = await sam.run("/ledger", channel=here)
    expect("given: **45 min**" in given.text, f"Kai's ledger: {given.text}")
    expect("received: **45 min**" in received.text, f"Sam's ledger: {received.text}")
    others = [*thread.messages, *(m for x in (kai, noor, ada) for m in x.dms)]
    expect(
        not any(str(sam.id) in m.text for m in others),
        "the anonymous asker was named in the thread or in someone else's DMs",
    )
    stage.say(
        "✓ Checked: routed to two with room (resting skipped), anonymous throughout, "
        "accepted, resolved, thanked; /ledger shows both sides."
    )


# -- 7. buddy pairing ----------------------------------------------------------------------
async def buddies_scene(stage: Stage) -> None:
    ada, kai, noor = stage.member("Ada"), stage.member("Kai"), stage.member("Noor")
    lee = stage.members.setdefault("Lee", stage.guild.add_member("Lee"))
    for member in (ada, lee):
        agreement = await member.run("/circle join", channel=stage.channel, circle=CIRCLE)
        await member.click("I agree", message=agreement)
    five = [stage.member(name) for name in ("Ada", "Sam", "Kai", "Noor", "Lee")]
    stage.say("Ada, Sam, Kai, Noor and Lee opt in to buddy pairing.")
    for member in five:
        reply = await member.run("/buddy join", channel=stage.channel, circle=CIRCLE)
        expect_private(reply, f"/buddy join ({member.name})")
    stage.say("Kai would rather not be paired with Noor. Only Kai sees the answer:")
    reply = await kai.run("/buddy avoid", channel=stage.channel, member=noor)
    expect_private(reply, "/buddy avoid")
    stage.say("Lee has closed DMs. Ada starts a buddy cycle now:")
    lee.dms_closed = True
    reply = await ada.run("/facilitate buddies now", channel=stage.channel, circle=CIRCLE)
    expect_private(reply, "/facilitate buddies now")
    expect("5 members in 2 groups (1 trio)" in reply.text, f"unexpected pairing: {reply.text}")

    def intro(member: Member) -> Message | None:
        return next((m for m in member.dms if "A first question" in m.text), None)

    await stage.server.wait_for(
        lambda: (
            all(intro(m) is not None for m in five if m is not lee)
            and any(
                "couldn't reach one of you" in m.text
                for t in stage.channel.threads
                for m in t.messages
            )
        ),
        message="for the introductions and Lee's private thread",
    )
    kai_intro = intro(kai)
    expect(kai_intro is not None and noor.mention not in kai_intro.text, "Kai was paired with Noor")
    sam = stage.member("Sam")
    sam_intro = intro(sam)
    expect(sam_intro is not None, "Sam got no introduction")
    assert sam_intro is not None
    stage.say("Sam and their buddy met for coffee; Sam presses We connected:")
    reply = await sam.click("We connected", message=sam_intro)
    expect_private(reply, "We connected")
    expect("noted that you connected" in reply.text, f"We connected not noted: {reply.text}")
    stats = await ada.run("/facilitate buddies stats", channel=stage.channel, circle=CIRCLE)
    expect_private(stats, "/facilitate buddies stats")
    expect("“we connected” 1/2" in stats.text, f"stats do not count the connection: {stats.text}")
    stage.say("✓ Checked: five placed (one trio), Kai never with Noor, Lee reached in a thread.")


SCENES: tuple[Scene, ...] = (
    Scene(
        "Crisis lines, from anywhere",
        "Anyone can ask for crisis lines, any time: only they see the answer, unless they share it.",
        crisis_scene,
    ),
    Scene(
        "What is stored, and why",
        "Noor reads the privacy policy before joining anything.",
        privacy_scene,
    ),
    Scene(
        "A circle and a check-in round",
        f"Ada, a facilitator (Manage Server), creates the circle “{CIRCLE}” in #tuesday-circle.",
        circle_scene,
    ),
    Scene(
        "A member's own data",
        "Sam looks at their own mood history, then takes a copy of their data.",
        own_data_scene,
    ),
    Scene(
        "Bad input gets a clear answer",
        "Ada mistypes the schedule: there is no 25 o'clock.",
        bad_input_scene,
    ),
    Scene(
        "A circle acts together",
        "A new round: everyone answers in the same moment, and the facilitator double-clicks.",
        together_scene,
    ),
    Scene(
        "The talking piece",
        "A live gathering: one speaks at a time, passing is fine, and time is kept gently.",
        talking_piece_scene,
    ),
    Scene(
        "Circle care",
        "Sam writes a crisis plan; the circle's roles rotate; Noor shares a clinic she trusts.",
        care_scene,
    ),
    Scene(
        "Asking for help, and gratitude",
        "Sam needs a ride and would rather not say so under their own name.",
        help_scene,
    ),
    Scene(
        "Buddy pairing",
        "Five members opt in to buddy pairing; one quietly avoids another; one has closed DMs.",
        buddies_scene,
    ),
)
