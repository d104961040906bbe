"""Help requests rendered: the ask in its thread, the buttons that survive restarts, the forms.

Buttons are `DynamicItem`s carrying the ask's id (and a member's id where needed) in their
custom_id; forms are `StatelessForm`s. Both work for any number of members at once and
after a restart. Nothing rendered for others ever names the asker of an anonymous ask.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.domain.help_requests import (
    ADDITION_MAX,
    ENOUGH_MAX,
    WHAT_MAX,
    WHEN_MAX,
    Ask,
    AskText,
    Kind,
    Outcome,
    parse_anonymous,
)
from bot.errors import ValidationError
from bot.forms import FormValues, StatelessForm
from bot.replies import reply_ephemeral, within_deadline
from bot.services.outbox import Outcome as Delivery
from bot.text import clip
from bot.ui.crisis import GENTLE_SCREENING_INTRO
from bot.ui.crisis_card import card_message

if TYPE_CHECKING:
    from bot.app import CircleBot

ASK_COLOUR = discord.Colour(0xC9A227)
NO_PINGS = discord.AllowedMentions.none()
THREAD_WAIT_SECONDS = 3.0  # the reply links the thread if it opens by then
WHEN_PLACEHOLDER = "Tuesday at 2pm, from Main St to the clinic on 5th"
ENOUGH_PLACEHOLDER = "e.g. a 30-minute call, or a ride one way"


def _bot(interaction: discord.Interaction) -> CircleBot:
    return interaction.client  # type: ignore[return-value]


def asked_by(ask: Ask) -> str:
    return "Someone in the circle" if ask.anonymous else f"<@{ask.requester_id}>"


def ask_embed(ask: Ask, circle_name: str) -> discord.Embed:
    embed = discord.Embed(
        title=ask.title,
        description=(
            f"{asked_by(ask)} asked **{discord.utils.escape_markdown(circle_name)}** for "
            f"{ask.kind.value} help.\n\n**What they need**\n{ask.text.what}"
        ),
        colour=ASK_COLOUR,
    )
    if ask.text.when:
        embed.add_field(name="When and where", value=clip(ask.text.when, 1024), inline=False)
    if ask.text.enough:
        embed.add_field(
            name="What would be enough", value=clip(ask.text.enough, 1024), inline=False
        )
    embed.add_field(
        name="How to help",
        value=(
            "Press **I can help**: the asker is told privately and chooses. Only offer what you "
            "have room for."
        ),
        inline=False,
    )
    embed.set_footer(
        text=f"Ask #{ask.id} · peer support, not a crisis service: /crisis lists lines"
    )
    return embed


class HelpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"help:(?P<action>offer|resolve|withdraw|add|keep|offers):(?P<ask_id>\d+)",
):
    """One of an ask's buttons; the ask's id travels in the custom_id."""

    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "offer": ("I can help", discord.ButtonStyle.primary),
        "add": ("Add to my ask", discord.ButtonStyle.secondary),
        "offers": ("See offers", discord.ButtonStyle.secondary),
        "resolve": ("Resolved", discord.ButtonStyle.success),
        "withdraw": ("Withdraw", discord.ButtonStyle.secondary),
        "keep": ("Yes, keep it open", discord.ButtonStyle.primary),
    }

    def __init__(self, action: str, ask_id: int) -> None:
        label, style = self.LABELS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"help:{action}:{ask_id}")
        )
        self.action, self.ask_id = action, ask_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> HelpButton:
        return cls(match["action"], int(match["ask_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.tree import answer_error

        try:
            await _BUTTON_ACTIONS[self.action](interaction, self.ask_id)
        except Exception as error:
            await answer_error(interaction, error)


class HelpPairButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"help:(?P<action>accept|time):(?P<ask_id>\d+):(?P<user_id>\d+)",
):
    """Accept a helper's offer, or log time given with a helper."""

    def __init__(self, action: str, ask_id: int, user_id: int, label: str | None = None) -> None:
        text = label or ("Accept" if action == "accept" else "Log time")
        super().__init__(
            discord.ui.Button(
                label=text,
                style=discord.ButtonStyle.success
                if action == "accept"
                else discord.ButtonStyle.secondary,
                custom_id=f"help:{action}:{ask_id}:{user_id}",
            )
        )
        self.action, self.ask_id, self.user_id = action, ask_id, user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> HelpPairButton:
        label = getattr(item, "label", None)
        return cls(match["action"], int(match["ask_id"]), int(match["user_id"]), label)

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.tree import answer_error

        try:
            if self.action == "accept":
                await _accept(interaction, self.ask_id, self.user_id)
            else:
                await TimeModal(self.ask_id, self.user_id).send(interaction)
        except Exception as error:
            await answer_error(interaction, error)


def view_of(*items: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def ask_view(ask_id: int) -> discord.ui.View:
    return view_of(
        *(HelpButton(a, ask_id) for a in ("offer", "add", "offers", "resolve", "withdraw"))
    )


def care_view(ask_id: int) -> discord.ui.View:
    return view_of(*(HelpButton(a, ask_id) for a in ("keep", "resolve", "withdraw")))


# -- button actions --------------------------------------------------------------------------


async def _offer(interaction: discord.Interaction, ask_id: int) -> None:
    service = _bot(interaction).resources.services.help
    offered = await within_deadline(interaction, service.offer(ask_id, interaction.user.id))
    text = (
        "Thank you. The asker has been told privately and will choose; if they accept, I'll "
        "DM you with the thread."
        if offered.new
        else "You already offered to help with this; the asker knows. Thank you."
    )
    await reply_ephemeral(interaction, text)


async def _add(interaction: discord.Interaction, ask_id: int) -> None:
    await AddModal(ask_id).send(interaction)  # a form can't wait: the submit checks it is theirs


async def _offers(interaction: discord.Interaction, ask_id: int) -> None:
    service = _bot(interaction).resources.services.help
    ask, offers = await within_deadline(interaction, service.offers(ask_id, interaction.user.id))
    waiting = [o for o in offers if o.accepted_at is None][:20]
    helping = [o.offerer_id for o in offers if o.accepted_at is not None]
    lines = [f"Offers on “{clip(ask.title, 80)}”:"]
    lines += [f"• <@{h}> is helping" for h in helping]
    lines += [f"• <@{o.offerer_id}> offered" for o in waiting]
    if len(lines) == 1:
        lines.append("No offers yet. I'll DM you when one comes.")
    view = view_of(
        *(
            HelpPairButton("accept", ask.id, o.offerer_id, f"Accept offer {i}")
            for i, o in enumerate(waiting[:5], 1)
        )
    )
    await reply_ephemeral(interaction, "\n".join(lines), view=view, allowed_mentions=NO_PINGS)


async def _close(interaction: discord.Interaction, ask_id: int, outcome: Outcome) -> None:
    service = _bot(interaction).resources.services.help
    closed = await within_deadline(interaction, service.close(ask_id, interaction.user.id, outcome))
    if outcome is Outcome.WITHDRAWN:
        await reply_ephemeral(interaction, "Withdrawn. The thread is closed; ask again any time.")
        return
    lines = ["Resolved, and the thread is closed. Thank you for asking: that takes courage."]
    if closed.helper_ids:
        names = " ".join(f"<@{h}>" for h in closed.helper_ids)
        lines.append(f"If you'd like to thank {names}: `/thanks member:@name`.")
    items: list[discord.ui.Item[Any]] = []
    if closed.time_bank and closed.helper_ids:
        lines.append(
            "Time bank (optional): log the time each helper gave; it counts once they confirm too."
        )
        items = [
            HelpPairButton("time", ask_id, h, f"Log time with helper {i}")
            for i, h in enumerate(closed.helper_ids[:5], 1)
        ]
    await reply_ephemeral(
        interaction, "\n".join(lines), view=view_of(*items), allowed_mentions=NO_PINGS
    )


async def _resolve(interaction: discord.Interaction, ask_id: int) -> None:
    await _close(interaction, ask_id, Outcome.RESOLVED)


async def _withdraw(interaction: discord.Interaction, ask_id: int) -> None:
    await _close(interaction, ask_id, Outcome.WITHDRAWN)


async def _keep(interaction: discord.Interaction, ask_id: int) -> None:
    service = _bot(interaction).resources.services.help
    await within_deadline(interaction, service.keep_open(ask_id, interaction.user.id))
    await reply_ephemeral(interaction, "Kept open. I'll check in again if it goes quiet.")


async def _accept(interaction: discord.Interaction, ask_id: int, helper_id: int) -> None:
    service = _bot(interaction).resources.services.help
    _, accepted = await within_deadline(
        interaction, service.accept(ask_id, interaction.user.id, helper_id)
    )
    text = (
        f"Accepted <@{helper_id}>. They've been told, and the thread shows they're helping."
        if accepted
        else f"<@{helper_id}> is already helping with this."
    )
    await reply_ephemeral(interaction, text, allowed_mentions=NO_PINGS)


_BUTTON_ACTIONS = {
    "offer": _offer,
    "add": _add,
    "offers": _offers,
    "resolve": _resolve,
    "withdraw": _withdraw,
    "keep": _keep,
}


# -- forms -----------------------------------------------------------------------------------


def _text(
    label: str, custom_id: str, *, limit: int, required: bool, placeholder: str, long: bool
) -> discord.ui.Label[Any]:
    return discord.ui.Label(
        text=label,
        component=discord.ui.TextInput(
            custom_id=custom_id,
            style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
            required=required,
            max_length=limit,
            placeholder=placeholder,
        ),
    )


async def crisis_followup(interaction: discord.Interaction) -> None:
    """The crisis card, privately to the author: shown, never instead of what they wrote."""
    bot = _bot(interaction)
    card = await bot.resources.services.crisis.card(interaction.guild_id, None)
    message = card_message(card, gentle_intro=GENTLE_SCREENING_INTRO)
    await interaction.followup.send(
        message.content or discord.utils.MISSING, embeds=message.embeds, ephemeral=True
    )


class AskModal(StatelessForm):
    template = re.compile(r"help-ask:(?P<circle_id>\d+):(?P<kind>[a-z]+)")

    def __init__(self, circle_id: int, circle_name: str, kind: Kind) -> None:
        super().__init__(
            title=clip(f"Ask {circle_name} for {kind.value} help", 45),
            custom_id=f"help-ask:{circle_id}:{kind.value}",
        )
        self.add_item(
            _text(
                "What you need",
                "what",
                limit=WHAT_MAX,
                required=True,
                placeholder="Be specific: a ride to my appointment Tuesday at 2pm",
                long=True,
            )
        )
        self.add_item(
            _text(
                "When and where",
                "when",
                limit=WHEN_MAX,
                required=False,
                placeholder=WHEN_PLACEHOLDER,
                long=False,
            )
        )
        self.add_item(
            _text(
                "What would be enough",
                "enough",
                limit=ENOUGH_MAX,
                required=False,
                placeholder=ENOUGH_PLACEHOLDER,
                long=False,
            )
        )
        self.add_item(
            discord.ui.Label(
                text="Ask anonymously",
                description="Members won't see it's you; you follow it by DM",
                component=discord.ui.Select(
                    custom_id="anonymous",
                    options=[
                        discord.SelectOption(label="No, show my name", value="no", default=True),
                        discord.SelectOption(label="Yes, anonymously", value="yes"),
                    ],
                ),
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        bot = _bot(interaction)
        service = bot.resources.services.help
        try:
            kind = Kind(match["kind"])
        except ValueError:
            raise ValidationError(
                "That form is out of date. Ask again.", "/ask kind:practical"
            ) from None
        anonymous = parse_anonymous(values.choice("anonymous"))
        text = AskText(values.text("what") or "", values.text("when"), values.text("enough"))
        # Acknowledged at once: the ask, its routing and its thread's delivery are one write.
        asked = await within_deadline(
            interaction,
            service.ask(
                int(match["circle_id"]),
                interaction.guild_id,
                interaction.user.id,
                kind,
                text,
                anonymous,
            ),
            defer_after=0,
        )
        outbox = bot.resources.services.outbox
        posted = Delivery.PENDING
        if asked.thread_delivery is not None:
            posted = await outbox.wait(asked.thread_delivery, THREAD_WAIT_SECONDS)
        thread_id = await service.thread_of(asked.ask.id)
        where = f"<#{thread_id}>" if thread_id else f"<#{asked.ask.channel_id}> shortly"
        told = (
            f"I told {asked.routed} member(s) with room for {kind.value} help privately"
            if asked.routed
            else "No one has set room for this kind of help right now"
        )
        lines = [f"Your ask is posted: {where}. {told}; everyone in the circle can see it."]
        if posted is Delivery.FAILED:
            lines = [
                "Your ask is saved, but I couldn't open its thread. A facilitator needs to give me "
                "Create Public Threads and Send Messages in Threads there."
            ]
        if anonymous:
            lines.append(
                "It's anonymous: no one sees it's you. Offers come to you by DM; add to it with "
                "**Add to my ask** in the thread."
            )
        await reply_ephemeral(interaction, "\n".join(lines))
        if asked.show_crisis_card:
            await crisis_followup(interaction)


class AddModal(StatelessForm):
    template = re.compile(r"help-add:(?P<ask_id>\d+)")

    def __init__(self, ask_id: int) -> None:
        super().__init__(title="Add to your ask", custom_id=f"help-add:{ask_id}")
        self.add_item(
            _text(
                "Add to your ask",
                "text",
                limit=ADDITION_MAX,
                required=True,
                placeholder="Anything new: a time that works, what changed",
                long=True,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        service = _bot(interaction).resources.services.help
        ask, flagged = await within_deadline(
            interaction,
            service.add_to_ask(int(match["ask_id"]), interaction.user.id, values.text("text")),
            defer_after=0,
        )
        how = " anonymously" if ask.anonymous else ""
        await reply_ephemeral(
            interaction, f"Added{how} to your ask in <#{ask.thread_id or ask.channel_id}>."
        )
        if flagged:
            await crisis_followup(interaction)


class TimeModal(StatelessForm):
    template = re.compile(r"help-time:(?P<ask_id>\d+):(?P<helper_id>\d+)")

    def __init__(self, ask_id: int, helper_id: int) -> None:
        super().__init__(title="Time given", custom_id=f"help-time:{ask_id}:{helper_id}")
        self.add_item(
            _text(
                "How much time",
                "minutes",
                limit=20,
                required=True,
                placeholder="30m, 1h or 1h30m",
                long=False,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        service = _bot(interaction).resources.services.help
        counted = await within_deadline(
            interaction,
            service.log_time(
                int(match["ask_id"]),
                interaction.user.id,
                int(match["helper_id"]),
                values.text("minutes") or "",
            ),
        )
        text = (
            f"Logged. Both sides confirmed: {counted} minutes count in `/ledger`."
            if counted
            else "Logged. It counts in `/ledger` once the other side confirms too."
        )
        await reply_ephemeral(interaction, text)


DYNAMIC_ITEMS = (HelpButton, HelpPairButton)
FORMS = (AskModal, AddModal, TimeModal)
