"""The Discord side of help requests: threads, posts in them, DMs, thank-yous.

Called by the outbox worker: every message carries a nonce stable across retries and each
finished step is recorded, so a post or DM lands once however often a delivery is retried.
Nothing sent to anyone but the asker names the asker of an anonymous ask.
"""

from __future__ import annotations

from typing import Any, Literal

import discord

from bot.app import CircleBot
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.dm import DirectMessenger
from bot.domain.circles import Circle
from bot.domain.help_requests import Ask, Outcome
from bot.services import help_requests as kinds
from bot.services.outbox import DeliveryFailed, DeliveryRun
from bot.storage.repositories.help_requests import Thanks
from bot.text import clip
from bot.ui.crisis import GENTLE_SCREENING_INTRO
from bot.ui.crisis_card import card_message
from bot.ui.help_requests import (
    NO_PINGS,
    HelpButton,
    HelpPairButton,
    ask_embed,
    ask_view,
    asked_by,
    care_view,
    view_of,
)

SEND_ERRORS = (discord.HTTPException, *TRANSIENT_ERRORS)
MAX_ACTIVE_THREADS = 160006  # Discord: the server's active-thread limit is reached
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: idle care closes quiet asks sooner


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in clip(text, 1500).splitlines())


class DiscordHelpNotifier:
    def __init__(self, bot: CircleBot, messenger: DirectMessenger) -> None:
        self.bot = bot
        self.messenger = messenger

    async def _channel(self, channel_id: int) -> Any:
        try:
            return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error

    async def _send(self, channel: Any, run: DeliveryRun, step: str, **message: Any) -> None:
        if run.done(step):
            return
        try:
            sent = await channel.send(nonce=run.nonce(step), **message)
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error
        await run.record(step, sent.id)

    async def open_thread(self, ask: Ask, circle: Circle, run: DeliveryRun) -> int:
        thread_id = run.result("thread")
        if thread_id is None:
            parent = await self._channel(ask.channel_id)
            if not isinstance(parent, discord.TextChannel):
                raise DeliveryFailed("the help channel is not a text channel", permanent=True)
            try:
                thread = await parent.create_thread(
                    name=ask.title,
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
            except discord.HTTPException as error:
                if error.code == MAX_ACTIVE_THREADS:  # a slot frees up when asks close
                    raise DeliveryFailed("active thread limit", permanent=False) from error
                raise delivery_failure(error) from error
            except TRANSIENT_ERRORS as error:
                raise delivery_failure(error) from error
            await run.record("thread", thread.id)
            thread_id = thread.id
        thread = await self._channel(int(thread_id))
        await self._send(
            thread,
            run,
            "post",
            embed=ask_embed(ask, circle.name),
            view=ask_view(ask.id),
            allowed_mentions=NO_PINGS,
        )
        return int(thread_id)

    async def post_in_thread(
        self, thread_id: int, kind: str, ask: Ask | None, run: DeliveryRun, **facts: object
    ) -> None:
        thread = await self._channel(thread_id)
        await self._send(
            thread,
            run,
            "post",
            content=self._thread_line(kind, ask, facts),
            allowed_mentions=NO_PINGS,
        )
        if kind in (kinds.CLOSED, kinds.WITHDRAWN) and not run.done("archive"):
            try:
                await thread.edit(archived=True)
            except SEND_ERRORS as error:
                raise delivery_failure(error) from error
            await run.record("archive")

    @staticmethod
    def _thread_line(kind: str, ask: Ask | None, facts: dict[str, object]) -> str:
        if kind == kinds.ADDITION and ask is not None:
            who = "The asker" if ask.anonymous else f"<@{ask.requester_id}>"
            return f"**{who} added:**\n{_quoted(str(facts['text']))}"
        if kind == kinds.HELPING:
            return f"<@{facts['helper']}> is helping with this. Thank you."
        if kind == kinds.WITHDRAWN or ask is None:
            return "This ask was withdrawn."
        helpers = " ".join(f"<@{h}>" for h in facts.get("helpers", ()))  # type: ignore[attr-defined]
        return {
            Outcome.RESOLVED: "Resolved."
            + (f" Thank you, {helpers}, for helping." if helpers else ""),
            Outcome.WITHDRAWN: "The asker withdrew this ask. Thank you to everyone who looked.",
            Outcome.IDLE: "Closed after a quiet spell. The asker can always ask again.",
            Outcome.LEFT: "Closed: the person who asked is no longer in the server.",
        }[ask.outcome or Outcome.WITHDRAWN]

    async def dm(
        self, user_id: int, kind: str, ask: Ask, run: DeliveryRun, **facts: object
    ) -> bool:
        title = f"“{clip(ask.title, 90)}”"
        thread = f"<#{ask.thread_id}>" if ask.thread_id else "its thread"
        embeds: list[discord.Embed] = []
        view: discord.ui.View | None = None
        if kind == kinds.ROUTE:
            content = (
                f"Someone in your circle asked for {ask.kind.value} help: {title}. If you have "
                f"room, it's here: {thread}. Press **I can help** there or below.\n"
                f"You get this because `/capacity` says you have room for {ask.kind.value} help; "
                "`/capacity state:resting` pauses these."
            )
            view = view_of(HelpButton("offer", ask.id))
        elif kind == kinds.OFFERED:
            content = (
                f"<@{facts['offerer_id']}> offered to help with your ask {title}. Accept if you'd "
                "like their help; you can accept more than one."
            )
            view = view_of(HelpPairButton("accept", ask.id, int(str(facts["offerer_id"]))))
        elif kind == kinds.ACCEPTED:
            content = (
                f"You're helping with {title}: {thread}. Thank you. The asker closes it when it's "
                "done; if it becomes too much, say so there."
            )
        elif kind == kinds.CARE_DM:
            content = f"Your ask {title} has been quiet for a while. Do you still need this?"
            view = care_view(ask.id)
            if facts.get("card"):
                card = await self.bot.resources.services.crisis.card(ask.guild_id, None)
                shown = card_message(card, gentle_intro=GENTLE_SCREENING_INTRO)
                embeds = shown.embeds
                if shown.content:
                    content += "\n\n" + shown.content
        elif kind == kinds.REVEALED:
            content = (
                f"A facilitator, <@{facts['revealed_by']}>, revealed to facilitators that you made "
                f"the anonymous ask {title}. Their reason: “{clip(str(facts['reason']), 300)}”. "
                "Reveals are recorded. If this worries you, talk to them or another facilitator."
            )
        elif kind == kinds.RESOLVED_HELPER:
            content = f"{title} was resolved. Thank you for helping."
            if facts.get("time_bank"):
                content += (
                    " If you like, log the time you gave: it counts once the asker confirms too."
                )
                view = view_of(HelpPairButton("time", ask.id, user_id))
        else:
            raise DeliveryFailed(f"unknown help DM {kind}", permanent=True)
        message: dict[str, Any] = {"content": content, "allowed_mentions": NO_PINGS}
        if embeds:
            message["embeds"] = embeds
        if view is not None:
            message["view"] = view
        return await self.messenger.send(user_id, nonce=run.nonce(), **message)

    async def post_thanks(self, thanks: Thanks, channel_id: int | None, run: DeliveryRun) -> bool:
        note = f"\n{_quoted(thanks.note)}" if thanks.note else ""
        content = f"💛 <@{thanks.giver_id}> thanks <@{thanks.recipient_id}>.{note}"
        if channel_id is None:
            sent = await self.messenger.send(
                thanks.recipient_id,
                content=f"A private thank-you: {content}",
                allowed_mentions=NO_PINGS,
                nonce=run.nonce(),
            )
            if not sent:
                raise DeliveryFailed("DMs closed", permanent=True)
            return True
        channel = await self._channel(channel_id)
        mentions = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(thanks.recipient_id)]
        )
        await self._send(channel, run, "post", content=content, allowed_mentions=mentions)
        return True

    async def is_member(self, guild_id: int, user_id: int) -> bool | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:  # the bot itself was removed: it cannot tell
            return None
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return False
        except SEND_ERRORS as error:
            raise delivery_failure(error) from error
        return True


__all__ = ["DiscordHelpNotifier", "asked_by"]
