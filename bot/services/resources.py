"""The circle's shared knowledge: add (a facilitator may need to approve), list, search,
approve, remove; the shipped starter set is listed with every server's own entries."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.crisis import CrisisDirectory
from bot.domain.resources import (
    ADD_EXAMPLE,
    Resource,
    parse_kind,
    resolve_region,
    search,
    select,
    validate_draft,
)
from bot.errors import ValidationError
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import resources as repo

MAX_PER_SERVER = 500


@dataclass(frozen=True)
class Added:
    resource: Resource
    pending: bool


class ResourcesService:
    def __init__(
        self,
        db: Database,
        cipher: TextCipher,
        clock: Clock,
        directory: CrisisDirectory,
        starter: tuple[Resource, ...],
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self.directory = directory
        self.starter = starter

    async def add(
        self,
        guild_id: int,
        user_id: int,
        kind: str,
        anonymous: bool,
        values: dict[str, str | None],
    ) -> Added:
        draft = validate_draft(
            kind,
            values.get("name"),
            values.get("offers"),
            values.get("url"),
            values.get("region"),
            values.get("notes"),
            self.directory,
        )
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.serialize(f"resources:{guild_id}")  # the duplicate check holds under races
            existing = await repo.of_guild(tx, self._cipher, guild_id)
            if any(
                r.kind == draft.kind and r.name.casefold() == draft.name.casefold()
                for r in existing
            ):
                raise ValidationError(
                    f"“{draft.name}” is already in the list. `/resources search` shows it.",
                    f"/resources search words:{draft.name[:40]}",
                )
            if len(existing) >= MAX_PER_SERVER:
                raise ValidationError(
                    f"This server's list holds {MAX_PER_SERVER} entries; ask a facilitator to "
                    "remove old ones first.",
                    ADD_EXAMPLE,
                )
            pending = await repo.approval_required(tx, guild_id)
            entry_id = await repo.add(
                tx, self._cipher, guild_id, draft, user_id, anonymous, not pending, now
            )
            stored = await repo.get(tx, self._cipher, guild_id, entry_id)
        assert stored is not None
        return Added(stored, pending)

    async def _listed(self, guild_id: int) -> list[Resource]:
        async with self._db.read() as tx:
            own = [r for r in await repo.of_guild(tx, self._cipher, guild_id) if r.approved]
        return [*own, *self.starter]

    async def listing(
        self, guild_id: int, kind: str | None, region: str | None
    ) -> tuple[list[Resource], str | None]:
        chosen_kind = parse_kind(kind) if kind else None
        code = resolve_region(region, self.directory) if region and region.strip() else None
        if code == "ANY":
            code = None
        return select(await self._listed(guild_id), chosen_kind, code), code

    async def search(self, guild_id: int, words: str) -> list[Resource]:
        if not words.strip():
            raise ValidationError(
                "Type a word or two to look for.", "/resources search words:sliding"
            )
        return search(await self._listed(guild_id), words)

    async def pending(self, guild_id: int) -> list[Resource]:
        async with self._db.read() as tx:
            return [r for r in await repo.of_guild(tx, self._cipher, guild_id) if not r.approved]

    async def entries(self, guild_id: int) -> list[Resource]:
        async with self._db.read() as tx:
            return await repo.of_guild(tx, self._cipher, guild_id)

    async def approve(self, guild_id: int, entry: str) -> Resource:
        entry_id = _entry_id(entry)
        async with self._db.transaction() as tx:
            found = await repo.get(tx, self._cipher, guild_id, entry_id)
            if found is None:
                raise ValidationError(
                    "No such entry waiting here.", "/facilitate resources approve"
                )
            if found.approved:
                raise ValidationError(f"“{found.name}” is already listed.", "/resources list")
            await repo.approve(tx, guild_id, entry_id, self._clock.now())
        return found

    async def remove(self, guild_id: int, entry: str) -> Resource:
        entry_id = _entry_id(entry)
        async with self._db.transaction() as tx:
            found = await repo.get(tx, self._cipher, guild_id, entry_id)
            if found is None or not await repo.remove(tx, guild_id, entry_id):
                raise ValidationError(
                    "No such entry in this server's list (the starter entries can't be removed).",
                    "/facilitate resources remove",
                )
        return found

    async def approval_required(self, guild_id: int) -> bool:
        async with self._db.read() as tx:
            return await repo.approval_required(tx, guild_id)

    async def set_approval(self, guild_id: int, required: bool) -> None:
        async with self._db.transaction() as tx:
            await repo.set_approval_required(tx, guild_id, required)


def _entry_id(entry: str) -> int:
    digits = entry.strip().lstrip("#")
    if not digits.isdigit():
        raise ValidationError(
            "Choose an entry from the list as you type.", "/facilitate resources remove entry:#12"
        )
    return int(digits)
