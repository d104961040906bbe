"""Crisis resources: the shipped directory (static, always there) plus a server's own lines.

The static part never touches the database; the server's default region and local
resources are read with a short timeout and dropped on any failure, so `/crisis`
answers even when the database is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.crisis import (
    INTL_CODE,
    CrisisDirectory,
    LocalResource,
    Region,
    RegionLookup,
    region_for_locale,
    validate_local_resource,
)
from bot.errors import ValidationError
from bot.storage.database import Database
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories import local_resources as local_repo
from bot.text import quote

log = logging.getLogger(__name__)

SERVER_EXTRAS_TIMEOUT = 0.5  # seconds; the card goes out without extras past this
EXTRAS_TTL_SECONDS = 300.0  # bounds staleness after a change made outside this service (a purge)
LOCAL_RESOURCES_MAX = 10
# The international card also carries these lines: the default card names a line to call now.
INTERNATIONAL_ALSO = "US"


@dataclass(frozen=True)
class CrisisCard:
    lookup: RegionLookup
    local: tuple[LocalResource, ...]
    alerts_enabled: bool
    also: Region | None = None


class CrisisService:
    def __init__(self, db: Database, directory: CrisisDirectory) -> None:
        self._db = db
        self.directory = directory
        self._extras: dict[int, tuple[float, tuple[str | None, list[LocalResource], bool]]] = {}

    async def card(
        self, guild_id: int | None, region: str | None, locale: str | None = None
    ) -> CrisisCard:
        """The card for `region`, else the server's default, else the member's Discord locale
        as a hint (pt-BR -> Brazil), else the international card; never raises."""
        default_region: str | None = None
        local: list[LocalResource] = []
        alerts = False
        if guild_id is not None:
            try:
                default_region, local, alerts = await asyncio.wait_for(
                    self._cached_extras(guild_id), SERVER_EXTRAS_TIMEOUT
                )
            except Exception as error:  # the shipped lines must go out whatever happened
                log.warning(
                    "Crisis card without server extras (guild %s): %s",
                    guild_id,
                    type(error).__name__,
                )
        query = region if region and region.strip() else default_region
        if not query:
            hinted = region_for_locale(locale)
            if hinted is not None and self.directory.get(hinted) is not None:
                query = hinted
        return self.card_for(self.directory.lookup(query), local, alerts)

    def card_for(
        self,
        lookup: RegionLookup,
        local: Sequence[LocalResource] = (),
        alerts_enabled: bool = False,
    ) -> CrisisCard:
        """A card from static data alone (plus whatever server extras were read)."""
        also = self.directory.get(INTERNATIONAL_ALSO) if lookup.region.code == INTL_CODE else None
        return CrisisCard(lookup, tuple(local), alerts_enabled, also)

    async def _cached_extras(self, guild_id: int) -> tuple[str | None, list[LocalResource], bool]:
        """A server's extras from memory when fresh; every change below invalidates them."""
        now = time.monotonic()
        cached = self._extras.get(guild_id)
        if cached is not None and now - cached[0] < EXTRAS_TTL_SECONDS:
            return cached[1]
        extras = await self._server_extras(guild_id)
        self._extras[guild_id] = (now, extras)
        return extras

    def _invalidate(self, guild_id: int) -> None:
        self._extras.pop(guild_id, None)

    async def _server_extras(self, guild_id: int) -> tuple[str | None, list[LocalResource], bool]:
        async with self._db.read() as tx:
            region = await guilds_repo.guild_setting(tx, guild_id, "crisis_region")
            alerts = await guilds_repo.guild_setting(tx, guild_id, "alerts_channel_id")
            local = await local_repo.list_for(tx, guild_id)
        return region, local, alerts is not None

    async def set_region(self, guild_id: int, region: str) -> RegionLookup:
        lookup = self.directory.lookup(region)
        if not lookup.matched:
            codes = ", ".join(r.code for r in self.directory.regions)
            what = quote(region) if region.strip() else "An empty name"
            raise ValidationError(
                f"{what} is not a region Circlekeeper knows. Regions it knows: {codes}.",
                "region:GB",
            )
        async with self._db.transaction() as tx:
            await guilds_repo.set_guild_setting(tx, guild_id, "crisis_region", lookup.region.code)
        self._invalidate(guild_id)
        return lookup

    async def add_local(
        self, guild_id: int, name: str, how: str, url: str | None, notes: str | None
    ) -> LocalResource:
        resource = validate_local_resource(name, how, url, notes)
        async with self._db.transaction() as tx:
            await local_repo.hold_guild(tx, guild_id)  # the limit holds under concurrent adds
            existing = await local_repo.list_for(tx, guild_id)
            if any(r.name.casefold() == resource.name.casefold() for r in existing):
                raise ValidationError(
                    f"{quote(resource.name)} is already listed. Remove it first to change it.",
                    f'/facilitate crisis remove name:"{resource.name}"',
                )
            if len(existing) >= LOCAL_RESOURCES_MAX:
                raise ValidationError(
                    f"A server can list up to {LOCAL_RESOURCES_MAX} local resources. Remove one first.",
                    '/facilitate crisis remove name:"Old Warmline"',
                )
            await local_repo.add(tx, guild_id, resource)
        self._invalidate(guild_id)
        return resource

    async def remove_local(self, guild_id: int, name: str) -> None:
        async with self._db.transaction() as tx:
            if not await local_repo.remove(tx, guild_id, name.strip()):
                raise ValidationError(
                    f"No local resource called {quote(name)}.", "/facilitate crisis list"
                )
        self._invalidate(guild_id)

    async def list_local(self, guild_id: int) -> list[LocalResource]:
        async with self._db.read() as tx:
            return await local_repo.list_for(tx, guild_id)

    async def set_alerts(self, guild_id: int, channel_id: int | None) -> None:
        async with self._db.transaction() as tx:
            await guilds_repo.set_guild_setting(tx, guild_id, "alerts_channel_id", channel_id)
        self._invalidate(guild_id)
