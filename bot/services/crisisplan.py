"""A member's crisis plan: save each part, read it back, share one copy, delete it.

The plan belongs to the member, wherever they write it (a server or a DM). What they wrote
is encrypted at rest, never screened by the safety net (a plan is expected to hold hard
words), never logged, and never shown to anyone but its author, except to the one person
the author chooses with `share`, which sends a copy by DM through the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.clock import Clock
from bot.domain.crisisplan import CrisisPlan, clean_part, encode_part
from bot.errors import ValidationError
from bot.services.outbox import DeliveryFailed, DeliveryRun, Outbox
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import crisisplan as repo
from bot.storage.repositories import outbox as outbox_repo

SHARE = "crisisplan-share"
SHARE_EXAMPLE = "/crisisplan share member:@Sam"
HAS_PLAN_SECONDS = 0.3  # /crisis asks with this budget; past it the card goes without the button


class CrisisPlanNotifier(Protocol):
    """The Discord side: a copy of a plan by DM. Raises `DeliveryFailed` when Discord
    could not be reached; returns False when the person's DMs are closed."""

    async def send_plan(
        self, recipient_id: int, author_id: int, plan: CrisisPlan, nonce: str
    ) -> bool: ...

    async def confirm_shared(self, author_id: int, recipient_id: int, nonce: str) -> bool: ...


@dataclass(frozen=True)
class Shared:
    delivery_id: int
    recipient_id: int


class CrisisPlanService:
    def __init__(self, db: Database, cipher: TextCipher, clock: Clock, outbox: Outbox) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._outbox = outbox
        self.notifier: CrisisPlanNotifier | None = None  # set by the cog
        outbox.register(SHARE, self._deliver_share)

    async def get(self, user_id: int) -> CrisisPlan | None:
        async with self._db.read() as tx:
            return await repo.get(tx, self._cipher, user_id)

    async def has_plan(self, user_id: int) -> bool:
        async with self._db.read() as tx:
            return await repo.exists(tx, user_id)

    async def has_plan_quickly(self, user_id: int) -> bool:
        """For the crisis card, which must never wait or fail: False when unsure."""
        try:
            return await asyncio.wait_for(self.has_plan(user_id), HAS_PLAN_SECONDS)
        except Exception:  # the database is slow or gone: the card goes out without the button
            return False

    async def save_part(
        self, user_id: int, part: int, values: Mapping[str, str | None]
    ) -> CrisisPlan:
        cleaned = clean_part(part, values)
        async with self._db.transaction() as tx:
            await repo.save_part(
                tx, self._cipher, user_id, part, encode_part(cleaned), self._clock.now()
            )
            plan = await repo.get(tx, self._cipher, user_id)
        assert plan is not None
        return plan

    async def delete(self, user_id: int) -> bool:
        async with self._db.transaction() as tx:
            return await repo.delete(tx, user_id)

    async def share(self, user_id: int, recipient_id: int, recipient_is_bot: bool) -> Shared:
        """Owe one copy to one person; a second press within the same minute is the same copy."""
        if recipient_id == user_id:
            raise ValidationError(
                "Choose someone else: `/crisisplan view` shows your plan and gives you a file to keep.",
                SHARE_EXAMPLE,
            )
        if recipient_is_bot:
            raise ValidationError("Choose a person, not a bot.", SHARE_EXAMPLE)
        now = self._clock.now()
        key = f"{SHARE}:{user_id}:{recipient_id}:{now:%Y%m%dT%H%M}"
        async with self._db.transaction() as tx:
            if not await repo.exists(tx, user_id):
                raise ValidationError(
                    "You don't have a crisis plan yet. Write one first.", "/crisisplan edit"
                )
            delivery_id = await outbox_repo.enqueue(
                tx,
                SHARE,
                key,
                now,
                {"author_id": user_id, "recipient_id": recipient_id},
                user_id=user_id,
            )
            if delivery_id is None:  # pressed twice: the same copy
                existing = await outbox_repo.by_key(tx, key)
                assert existing is not None
                delivery_id = existing.id
        self._outbox.kick()
        return Shared(delivery_id, recipient_id)

    async def _deliver_share(self, run: DeliveryRun) -> None:
        if self.notifier is None:
            raise DeliveryFailed("no-notifier", permanent=False)
        author_id = int(run.payload["author_id"])
        recipient_id = int(run.payload["recipient_id"])
        if not run.done("copy"):
            plan = await self.get(author_id)
            if plan is None:  # deleted before it went out: the author withdrew it
                return
            if not await self.notifier.send_plan(recipient_id, author_id, plan, run.nonce("copy")):
                raise DeliveryFailed("dms-closed", permanent=True)
            await run.record("copy")
        if not run.done("confirm"):
            await self.notifier.confirm_shared(author_id, recipient_id, run.nonce("confirm"))
            await run.record("confirm")
