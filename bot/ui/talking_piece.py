"""The talking piece rendered: the board, its persistent buttons, the facilitator's panel.

Every button and select is a `DynamicItem` carrying the gathering's id (and, for Done and
Pass, the turn it was shown for) in its custom_id: they work after a restart and keep
nothing in memory. A press is acknowledged at once (a deferred update: the board itself
shows the result once it is edited); a refusal is a short private follow-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import is_facilitator
from bot.domain import talking_piece as tp
from bot.domain.talking_piece import Gathering, Phase
from bot.replies import note_unanswerable, reply_ephemeral
from bot.storage.repositories.talking_piece import StoredGathering
from bot.ui.timestamps import ts

if TYPE_CHECKING:
    from bot.app import CircleBot
    from bot.services.talking_piece import TalkService

log = logging.getLogger(__name__)

BOARD_COLOUR = discord.Colour(0xC98B3F)
NEXT_SHOWN = 3
HANDS_SHOWN = 10
SEATS_SHOWN = 30
FOOTER = (
    "Only the one holding the piece speaks; everyone listens. Nothing said is recorded. "
    "/crisis lists lines open right now."
)


@dataclass(frozen=True)
class BoardMessage:
    content: str | None
    embed: discord.Embed
    view: discord.ui.View
    allowed_mentions: discord.AllowedMentions


def _who(member_ids: list[int]) -> str:
    return ", ".join(f"<@{m}>" for m in member_ids)


def _minutes(length: timedelta) -> str:
    minutes = length.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 10 else f"{minutes:.1f} min"


def _holding(g: Gathering, now: datetime) -> list[str]:
    if g.holder is None:
        if g.phase is Phase.FLOOR:
            return ["**The floor is open.** Press **Raise hand** to speak."]
        return []
    line = f"**Holding the piece:** <@{g.holder}>"
    if g.paused:
        line += " · ⏸ paused"
    elif g.overtime:
        line += " · time is up; the facilitator will move the piece on"
    elif g.deadline is not None:
        line += f" · time left: {ts(g.deadline, 'R')}"
    lines = [line]
    nudge = g.nudge_at()
    if nudge is not None and now >= nudge and not g.paused:
        lines.append(
            "_A gentle note: most of the time has gone. Take the time you need to finish._"
        )
    return lines


def board_embed(g: Gathering, now: datetime) -> discord.Embed:
    mode = {Phase.FLOOR: "Open floor", Phase.LAST_CALL: "Last call"}.get(g.phase, "Round")
    if g.options.mode is tp.Mode.STACK:
        mode = "Open floor"
    lines: list[str] = []
    if g.phase is Phase.GATHERING:
        seated = [s.member_id for s in g.seats]
        lines.append("**Gathering.** Members of the circle: press **Join** to take a seat.")
        if g.gather_until is not None:
            lines.append(
                f"Begins by itself {ts(g.gather_until, 'R')}, or when the facilitator presses **Begin**."
            )
        else:
            lines.append("Begins when the facilitator presses **Begin**.")
        more = f" and {len(seated) - SEATS_SHOWN} more" if len(seated) > SEATS_SHOWN else ""
        lines.append(f"Seated ({len(seated)}): {_who(seated[:SEATS_SHOWN]) or 'no one yet'}{more}")
    elif g.phase is Phase.ENDED:
        closing = tp.closing(g)
        if g.abandoned:
            hours = round(tp.IDLE_AFTER.total_seconds() / 3600)
            lines.append(
                f"_Nothing happened on this board for {hours} hours, so the gathering was "
                "closed. A facilitator can start a new one with /facilitate talk start._"
            )
        lines.append(
            f"**The gathering has ended.** {closing.spoke} spoke, {closing.passed} passed, "
            f"{_minutes(closing.length)} in all. Thank you for listening to each other."
        )
    else:
        lines += _holding(g, now)
        upcoming = g.upcoming()[:NEXT_SHOWN]
        if upcoming:
            lines.append(
                "**Next:** " + " · ".join(f"{i}. <@{m}>" for i, m in enumerate(upcoming, 1))
            )
        if g.phase is Phase.LAST_CALL:
            lines.append(
                "**Last call:** one more turn for those who passed. Passing again is fine."
            )
        elif g.phase is Phase.ROUND:
            lines.append("Passing is always fine: press **Pass** when the piece comes to you.")
        if g.hands:
            shown = [
                f"<@{h.member_id}> (up {ts(h.raised_at, 'R')})" for h in g.stack()[:HANDS_SHOWN]
            ]
            lines.append(f"**Hands raised ({len(g.hands)}):** " + ", ".join(shown))
        if g.options.progressive and g.phase is Phase.FLOOR:
            lines.append("_Progressive stack: those not yet heard today speak first._")
    embed = discord.Embed(
        title=f"Talking piece · {mode}", description="\n".join(lines), colour=BOARD_COLOUR
    )
    embed.set_footer(text=FOOTER)
    return embed


def board_message(stored: StoredGathering, now: datetime) -> BoardMessage:
    g = stored.gathering
    nxt = g.next_member() if g.live and g.phase is not Phase.GATHERING else None
    content = f"<@{nxt}>, you're next." if nxt is not None else None
    mentions = (
        discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(nxt)])
        if nxt is not None
        else discord.AllowedMentions.none()
    )
    return BoardMessage(content, board_embed(g, now), board_view(stored), mentions)


def _button(
    gid: int, action: str, label: str, style: discord.ButtonStyle, turn: int | None = None
) -> TalkButton:
    return TalkButton(gid, action, label, style, turn)


def board_view(stored: StoredGathering) -> discord.ui.View:
    g, gid = stored.gathering, stored.id
    view = discord.ui.View(timeout=None)
    grey, green, blue = (
        discord.ButtonStyle.secondary,
        discord.ButtonStyle.success,
        discord.ButtonStyle.primary,
    )
    if not g.live:
        view.add_item(_button(gid, "airtime", "Airtime (facilitator)", grey))
        return view
    if g.phase is not Phase.GATHERING:
        view.add_item(_button(gid, "done", "Done", blue, g.turn))
        view.add_item(_button(gid, "pass", "Pass", grey, g.turn))
    view.add_item(_button(gid, "raise", "Raise hand", grey))
    view.add_item(_button(gid, "lower", "Lower hand", grey))
    view.add_item(_button(gid, "join", "Join", green))
    view.add_item(_button(gid, "leave", "Leave", grey))
    if g.phase is Phase.GATHERING:
        view.add_item(_button(gid, "begin", "Begin", blue))
    view.add_item(_button(gid, "panel", "Facilitator", grey))
    return view


def _service(interaction: discord.Interaction) -> TalkService:
    bot: CircleBot = interaction.client  # type: ignore[assignment]
    return bot.resources.services.talk


async def acknowledged(interaction: discord.Interaction, work: Awaitable[Any]) -> Any:
    """Acknowledge the press at once (the board shows the result), then do the work; a
    refusal or failure reaches the member privately."""
    from bot.tree import answer_error

    try:
        await interaction.response.defer()
    except discord.HTTPException as error:
        if not note_unanswerable(interaction, error):
            raise
    try:
        return await work
    except Exception as error:
        await answer_error(interaction, error)
        return None


async def _server_facilitator(interaction: discord.Interaction) -> bool:
    return await is_facilitator(interaction)


class TalkButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"talk:(?P<gid>\d+):(?P<action>[a-z]+)(?::(?P<turn>\d+))?",
):
    def __init__(
        self,
        gid: int,
        action: str,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        turn: int | None = None,
    ) -> None:
        custom_id = f"talk:{gid}:{action}" + ("" if turn is None else f":{turn}")
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.gid, self.action, self.turn = gid, action, turn

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> TalkButton:
        turn = match["turn"]
        return cls(int(match["gid"]), match["action"], turn=None if turn is None else int(turn))

    async def callback(self, interaction: discord.Interaction) -> None:
        service = _service(interaction)
        user = interaction.user
        if self.action == "panel":
            await open_panel(interaction, self.gid)
            return
        if self.action == "airtime":
            await show_airtime(interaction, self.gid)
            return
        actions: dict[str, Callable[[], Awaitable[Any]]] = {
            "done": lambda: service.finish(self.gid, user.id, self.turn or 0, passed=False),
            "pass": lambda: service.finish(self.gid, user.id, self.turn or 0, passed=True),
            "raise": lambda: service.raise_hand(self.gid, user.id),
            "lower": lambda: service.lower_hand(self.gid, user.id),
            "join": lambda: service.join(self.gid, user.id, user.display_name),
            "leave": lambda: service.leave(self.gid, user.id),
        }
        if self.action == "begin":
            await acknowledged(interaction, _begin(interaction, service, self.gid))
            return
        chosen = actions.get(self.action)
        if chosen is not None:
            await acknowledged(interaction, chosen())


async def _begin(interaction: discord.Interaction, service: TalkService, gid: int) -> None:
    await service.begin(gid, interaction.user.id, await _server_facilitator(interaction))


# -- the facilitator's panel (private)


def panel_view(stored: StoredGathering) -> discord.ui.View:
    g, gid = stored.gathering, stored.id
    view = discord.ui.View(timeout=None)
    grey, red = discord.ButtonStyle.secondary, discord.ButtonStyle.danger
    if g.phase is Phase.GATHERING:
        view.add_item(PanelButton(gid, "begin", "Begin", discord.ButtonStyle.primary))
    else:
        view.add_item(PanelButton(gid, "skip", "Skip", grey))
        view.add_item(PanelButton(gid, "minute", "+1 minute", grey))
        if g.paused:
            view.add_item(PanelButton(gid, "resume", "Resume", discord.ButtonStyle.primary))
        else:
            view.add_item(PanelButton(gid, "pause", "Pause", grey))
        view.add_item(PanelButton(gid, "hands", "Lower all hands", grey))
    view.add_item(PanelButton(gid, "end", "End", red))
    waiting = g.upcoming()[:25]
    if waiting and g.phase is not Phase.GATHERING:
        view.add_item(MoveSelect(gid, [(m, g.name_of(m)) for m in waiting]))
    view.add_item(HandOverSelect(gid))
    return view


def panel_text(g: Gathering) -> str:
    return (
        "**Facilitator panel** (only you see this). Skip moves the piece on; +1 minute gives the "
        "holder more time; Move to next puts someone first in line; Hand over makes another "
        "member this gathering's facilitator. These controls are checked each time you press them."
    )


async def open_panel(interaction: discord.Interaction, gid: int) -> None:
    from bot.tree import answer_error

    service = _service(interaction)
    try:
        stored = await service.may_facilitate(
            gid, interaction.user.id, await _server_facilitator(interaction)
        )
    except Exception as error:
        await answer_error(interaction, error)
        return
    if not stored.gathering.live:
        await reply_ephemeral(interaction, "This gathering has ended.")
        return
    await reply_ephemeral(interaction, panel_text(stored.gathering), view=panel_view(stored))


def airtime_text(airtime: dict[int, tuple[int, timedelta]]) -> str:
    if not airtime:
        return "No one held the piece in this gathering."
    lines = ["**Airtime** (only you see this; there is no public leaderboard):"]
    for member, (turns, held) in sorted(airtime.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"<@{member}>: {turns} turn{'s' if turns != 1 else ''}, {_minutes(held)}")
    return "\n".join(lines[:40])


async def show_airtime(interaction: discord.Interaction, gid: int) -> None:
    from bot.tree import answer_error

    if not await _server_facilitator(interaction):
        await answer_error(
            interaction,
            tp.TalkRefused("The airtime summary is for facilitators. It is never shown publicly."),
        )
        return
    airtime = await _service(interaction).airtime(gid)
    await reply_ephemeral(
        interaction, airtime_text(airtime), allowed_mentions=discord.AllowedMentions.none()
    )


CONTROLS: dict[str, Callable[[Gathering, datetime], Gathering]] = {
    "skip": tp.skip,
    "minute": lambda g, _now: tp.add_minute(g),
    "pause": tp.pause,
    "resume": tp.resume,
    "hands": lambda g, _now: tp.lower_all_hands(g),
    "end": tp.end,
}


class PanelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"talkf:(?P<gid>\d+):(?P<action>[a-z]+)",
):
    def __init__(
        self,
        gid: int,
        action: str,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"talkf:{gid}:{action}")
        )
        self.gid, self.action = gid, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> PanelButton:
        return cls(int(match["gid"]), match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        service = _service(interaction)
        if self.action == "begin":
            await acknowledged(interaction, _begin(interaction, service, self.gid))
            return
        change = CONTROLS.get(self.action)
        if change is None:
            return
        stored = await acknowledged(interaction, _control(interaction, self.gid, change))
        if stored is None:
            return
        if self.action == "end":
            await show_airtime_after_end(interaction, self.gid)
        else:  # the panel shows what is possible now (Pause becomes Resume)
            await _refresh_panel(interaction, stored)


async def _refresh_panel(interaction: discord.Interaction, stored: StoredGathering) -> None:
    try:
        await interaction.edit_original_response(
            content=panel_text(stored.gathering), view=panel_view(stored)
        )
    except discord.HTTPException as error:
        if not note_unanswerable(interaction, error):
            log.warning("Facilitator panel not refreshed: HTTP %s", error.status)


async def _control(
    interaction: discord.Interaction, gid: int, change: Callable[[Gathering, datetime], Gathering]
) -> StoredGathering:
    return await _service(interaction).control(
        gid, interaction.user.id, await _server_facilitator(interaction), change
    )


async def show_airtime_after_end(interaction: discord.Interaction, gid: int) -> None:
    airtime = await _service(interaction).airtime(gid)
    await interaction.followup.send(
        airtime_text(airtime), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )


class MoveSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"talkf:(?P<gid>\d+):move"
):
    def __init__(self, gid: int, waiting: list[tuple[int, str]] | None = None) -> None:
        options = [
            discord.SelectOption(label=(name or f"member {i}")[:100], value=str(m))
            for i, (m, name) in enumerate(waiting or [], 1)
        ] or [discord.SelectOption(label="no one waiting", value="0")]
        super().__init__(
            discord.ui.Select(
                custom_id=f"talkf:{gid}:move", placeholder="Move to next…", options=options
            )
        )
        self.gid = gid

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> MoveSelect:
        return cls(int(match["gid"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        member = _picked(interaction)
        await acknowledged(
            interaction, _control(interaction, self.gid, lambda g, _now: tp.move_next(g, member))
        )


class HandOverSelect(
    discord.ui.DynamicItem[discord.ui.UserSelect[Any]], template=r"talkf:(?P<gid>\d+):handover"
):
    def __init__(self, gid: int) -> None:
        super().__init__(
            discord.ui.UserSelect(custom_id=f"talkf:{gid}:handover", placeholder="Hand over to…")
        )
        self.gid = gid

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> HandOverSelect:
        return cls(int(match["gid"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        member = _picked(interaction)
        stored = await acknowledged(
            interaction, _control(interaction, self.gid, lambda g, _now: tp.hand_over(g, member))
        )
        if stored is not None:
            await interaction.followup.send(
                f"<@{member}> now facilitates this gathering.",
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )


def _picked(interaction: discord.Interaction) -> int:
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    values = data.get("values") or ["0"]
    return int(values[0])
