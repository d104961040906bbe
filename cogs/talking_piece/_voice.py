"""Opt-in voice muting (`mute_others`): everyone in the gathering's voice channel but the
holder is server-muted by the bot, and the bot lifts exactly the mutes it placed.

One rule, applied whenever something may have changed (a board refresh, a voice state
update, a restart): the mutes wanted are the voice members of each live muting gathering
except its holder; the bot's own recorded mutes that are no longer wanted are lifted for
members in voice (Discord refuses to unmute someone out of voice, so a member who left is
unmuted when they next join a voice channel of the server); a member someone else muted
is never touched. Member edits go through discord.py, which paces them by the route's
rate-limit headers.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.app import CircleBot
from bot.services.talking_piece import TalkService

log = logging.getLogger(__name__)


class VoiceKeeper:
    def __init__(self, bot: CircleBot, service: TalkService) -> None:
        self.bot = bot
        self.service = service
        self._locks: dict[int, asyncio.Lock] = {}
        self.edits = 0  # member edits sent (tests, benchmark)

    def _voice_states(self, guild: discord.Guild) -> dict[int, tuple[int, discord.VoiceState]]:
        """Member id → (voice channel id, state), across the server's voice channels."""
        found: dict[int, tuple[int, discord.VoiceState]] = {}
        for channel in (*guild.voice_channels, *guild.stage_channels):
            for user_id, state in channel.voice_states.items():
                found[user_id] = (channel.id, state)
        return found

    async def reconcile(self, guild_id: int) -> None:
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:  # one pass at a time per server: no mute and unmute racing
            await self._reconcile(guild_id)

    async def _reconcile(self, guild_id: int) -> None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return
        in_voice = self._voice_states(guild)
        me = self.bot.user.id if self.bot.user else 0
        wanted: dict[int, int] = {}  # member → the gathering that wants them muted
        for stored in await self.service.muting_in(guild_id):
            holder = stored.gathering.holder
            for user_id, (channel_id, _) in in_voice.items():
                if channel_id == stored.channel_id and user_id not in (holder, me):
                    wanted.setdefault(user_id, stored.id)
        ours = await self.service.muted_by_bot(guild_id)
        for user_id in sorted(ours - set(wanted)):
            if user_id in in_voice:
                await self._unmute(guild_id, user_id)
        for user_id, gathering_id in sorted(wanted.items()):
            if user_id in ours or in_voice[user_id][1].mute:
                continue  # ours already, or muted by someone else: not ours to touch
            await self._mute(guild_id, user_id, gathering_id)

    async def _mute(self, guild_id: int, user_id: int, gathering_id: int) -> None:
        await self.service.note_muted(guild_id, user_id, gathering_id)
        try:
            await self.bot.http.edit_member(guild_id, user_id, mute=True)
            self.edits += 1
        except discord.HTTPException as error:
            await self.service.forget_muted(guild_id, user_id)
            log.warning(
                "Could not mute a member in server %s: HTTP %s code %s",
                guild_id,
                error.status,
                error.code,
            )

    async def _unmute(self, guild_id: int, user_id: int) -> None:
        try:
            await self.bot.http.edit_member(guild_id, user_id, mute=False)
            self.edits += 1
        except discord.NotFound:
            pass  # they left the server: nothing to lift any more
        except discord.HTTPException as error:
            if error.status == 400:
                return  # out of voice after all: lifted when they next join voice
            log.warning(
                "Could not unmute a member in server %s: HTTP %s code %s",
                guild_id,
                error.status,
                error.code,
            )
            return
        await self.service.forget_muted(guild_id, user_id)
