"""The safety net every feature that receives free text calls.

A match only changes what the *author* sees (the crisis card, privately) and, where
the server opted in, sends facilitators a note naming the member, never quoting them.
What the member wrote is saved and shown exactly as they chose either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.screening import Screener
from bot.services.ports import SafetyNotifier
from bot.storage.database import Database
from bot.storage.repositories import guilds as guilds_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Concern:
    """The outcome of screening one text: whether to show the author the crisis card."""

    show_card: bool


class SafetyNet:
    def __init__(self, db: Database, screener: Screener) -> None:
        self._db = db
        self._screener = screener
        self.notifier: SafetyNotifier | None = None

    def screen(self, text: str | None) -> bool:
        return bool(text) and self._screener.screen(text or "").matched

    async def alerts_channel(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        async with self._db.read() as tx:
            value = await guilds_repo.guild_setting(tx, guild_id, "alerts_channel_id")
        return None if value is None else int(value)

    async def check(
        self, guild_id: int | None, user_id: int, text: str | None, where: str
    ) -> Concern:
        """Screen `text`; on a match, alert facilitators if (and only if) the server opted in."""
        if not self.screen(text):
            return Concern(show_card=False)
        channel_id = await self.alerts_channel(guild_id)
        if channel_id is not None and self.notifier is not None:
            try:
                await self.notifier.alert_facilitators(channel_id, user_id, where)
            except Exception as error:  # the author's card must not depend on the alert
                log.warning(
                    "Could not post a support alert in guild %s: %s", guild_id, type(error).__name__
                )
        return Concern(show_card=True)
