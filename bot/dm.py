"""Direct messages that respect Discord: closed DMs remembered and never retried, sends spread out.

Discord counts every 403 toward a temporary ban and rate limits bots that open many DMs
quickly (40003), so DMs go out one at a time with a minimum gap, and a member whose DMs
are closed (50007) is marked and skipped until they turn reminders on again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from bot.clock import Clock
from bot.delivery import TRANSIENT_ERRORS, delivery_failure
from bot.metrics import Metrics
from bot.settings import DEFAULT_DM_GAP
from bot.storage.database import Database
from bot.storage.repositories import dm_status

log = logging.getLogger(__name__)

CANNOT_MESSAGE_USER = 50007


class DirectMessenger:
    def __init__(
        self,
        client: discord.Client,
        db: Database,
        clock: Clock,
        min_gap: float = DEFAULT_DM_GAP,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._client = client
        self._db = db
        self._clock = clock
        self._min_gap = min_gap
        self._lock = asyncio.Lock()
        self._last_sent = 0.0

    async def send(self, user_id: int, **message: Any) -> bool:
        """DM a member; False if their DMs are closed (now or known before) or Discord refused.

        Raises `DeliveryFailed` when a later try may succeed (Discord down, rate limited), so
        an outbox delivery is retried rather than dropped.
        """
        async with self._db.read() as tx:
            if await dm_status.closed_ids(tx, [user_id]):
                self._metrics.dms.labels("refused").inc()  # known closed: not even tried
                return False
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._last_sent + self._min_gap - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
                await user.send(**message)
                self._metrics.dms.labels("sent").inc()
                return True
            except discord.Forbidden as error:
                self._metrics.dms.labels("refused").inc()
                if error.code != CANNOT_MESSAGE_USER:
                    log.warning("DM to user %s refused: code %s", user_id, error.code)
                async with self._db.transaction() as tx:
                    await dm_status.mark_closed(tx, user_id, self._clock.now())
                return False
            except discord.HTTPException as error:
                log.warning(
                    "DM to user %s failed: HTTP %s code %s", user_id, error.status, error.code
                )
                if error.status == 429 or error.status >= 500:
                    raise delivery_failure(error) from error  # worth another try later
                return False
            except TRANSIENT_ERRORS as error:
                raise delivery_failure(error) from error
            finally:
                self._last_sent = loop.time()

    async def take_closed_notice(self, user_id: int) -> bool:
        """True once after a DM to this member failed, so the next command can tell them.

        Runs after every command, so it only reads unless there is something to tell.
        """
        async with self._db.read() as tx:
            if not await dm_status.has_untold(tx, user_id):
                return False
        async with self._db.transaction() as tx:
            return await dm_status.take_untold(tx, user_id)
