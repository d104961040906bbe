"""Data rights: export and erase everything stored about a member; purge departed servers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.scheduling import JobScheduler
from bot.sharding import Ownership
from bot.storage import member_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories.jobs import StoredJob

log = logging.getLogger(__name__)

# Stated in /privacy policy: a server's data is erased this long after the bot leaves it,
# so an accidental kick can be undone by re-inviting the bot.
GUILD_DATA_GRACE = timedelta(days=14)
PURGE_JOB_KIND = "purge-guild"

# A feature's part in an erase: let go of what it holds about the member outside the
# registry's rows (live state, effects on Discord). Called with the member's id.
EraseHook = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes
    record_count: int


class PrivacyService:
    def __init__(self, db: Database, cipher: TextCipher, clock: Clock, jobs: JobScheduler) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._jobs = jobs
        self._erase_hooks: dict[str, EraseHook] = {}
        jobs.register(PURGE_JOB_KIND, self._run_purge)

    def on_erase(self, feature: str, hook: EraseHook) -> None:
        """Have `hook` run at every `/privacy delete`, before the registry's rows are deleted
        (so it can still read them). Hooks run one after another, in registration order; one
        that raises stops the erase before anything is deleted, and the member is asked to
        try again. Registering the same feature again replaces its hook (a reloaded cog)."""
        self._erase_hooks[feature] = hook

    async def export(self, user_id: int) -> Export:
        async with self._db.read() as tx:
            tables = await member_data.export_member(tx, self._cipher, user_id)
        content = member_data.export_json(user_id, tables, self._clock.now().isoformat())
        count = sum(len(rows) for rows in tables.values())
        return Export(f"circlekeeper-export-{user_id}.json", content, count)

    async def delete(self, user_id: int) -> int:
        for hook in list(self._erase_hooks.values()):
            await hook(user_id)
        async with self._db.transaction() as tx:
            deleted = await member_data.delete_member(tx, user_id)
        log.info("Erased %d row(s) for a member on request", deleted)
        return deleted

    async def kept(self, user_id: int) -> list[str]:
        """What an erase kept because the bot still owes it to the member (say so, honestly)."""
        async with self._db.read() as tx:
            return await member_data.kept_after_erase(tx, user_id)

    async def guild_left(self, guild_id: int) -> None:
        """The bot was removed from a server: erase its data after the grace period."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await guilds_repo.record_departure(tx, guild_id, now)
        await self._jobs.schedule(
            f"{PURGE_JOB_KIND}:{guild_id}",
            PURGE_JOB_KIND,
            now + GUILD_DATA_GRACE,
            {"guild_id": guild_id},
            guild_id=guild_id,
        )

    async def reconcile_guilds(
        self, present: set[int], ownership: Ownership | None = None
    ) -> list[int]:
        """At startup: servers with stored data that the bot is no longer in (removed while
        it was down) get the same purge as a removal seen live. Returns those scheduled.

        A shard process sees only its own servers, so it judges only those (`ownership`)."""
        owns = (ownership or Ownership()).owns_guild
        async with self._db.read() as tx:
            known = {g for g in await member_data.known_guild_ids(tx) if owns(g)}
            departed = {g for g in known if await guilds_repo.has_departed(tx, g)}
        gone = sorted(known - present - departed)
        for guild_id in gone:
            await self.guild_left(guild_id)
        if gone:
            log.info(
                "%d server(s) removed the bot while it was offline; purge scheduled", len(gone)
            )
        return gone

    async def guild_joined(self, guild_id: int) -> None:
        """Re-invited within the grace period: keep the server's data.

        Called for every server at each start (GUILD_CREATE), so it only reads unless the
        server had been left.
        """
        async with self._db.read() as tx:
            if not await guilds_repo.has_departed(tx, guild_id):
                return
        async with self._db.transaction() as tx:
            await guilds_repo.clear_departure(tx, guild_id)
        await self._jobs.cancel(f"{PURGE_JOB_KIND}:{guild_id}")

    async def _run_purge(self, job: StoredJob) -> None:
        guild_id = int(job.payload["guild_id"])
        async with self._db.transaction() as tx:
            # Clearing first takes the row: a re-invite racing this purge waits, then finds none.
            if not await guilds_repo.clear_departure(tx, guild_id):
                return
            deleted = await member_data.purge_guild(tx, guild_id)
        log.info("Purged %d row(s) of server %s after the grace period", deleted, guild_id)
