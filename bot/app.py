"""The bot: a `commands.Bot` built around injected resources (never a global)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord.ext import commands

from bot.clock import SharedClock, follow_moves
from bot.forms import FormRouter
from bot.health import OpsServer
from bot.resources import Resources
from bot.settings import DEFAULT_DM_GAP
from bot.storage.repositories import command_sync
from bot.tree import CircleTree

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "cogs.meta",
    "cogs.facilitate",  # before the features that attach their /facilitate subgroups
    "cogs.crisis",
    "cogs.privacy",
    "cogs.lifecycle",
    "cogs.circles",
    "cogs.checkins",
    "cogs.talking_piece",
    "cogs.crisisplan",  # circle care (issue 13)
    "cogs.roles",
    "cogs.resources",
    "cogs.help_requests",
    "cogs.buddies",
)


def intents() -> discord.Intents:
    """Minimal and unprivileged: text arrives through slash options and modals."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True  # (not privileged) the talking piece's opt-in voice muting
    return chosen


def allowed_mentions() -> discord.AllowedMentions:
    """Member-written text can never ping a crowd."""
    return discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


class CircleBot(commands.Bot):
    def __init__(
        self,
        resources: Resources,
        *,
        extensions: Sequence[str] = EXTENSIONS,
        dm_min_gap: float = DEFAULT_DM_GAP,
        **options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=CircleTree,
            allowed_mentions=allowed_mentions(),
            help_command=None,
            **options,
        )
        self.resources = resources
        self._extension_names = tuple(extensions)
        self.last_sync_skipped: bool | None = None
        self.dm_min_gap = dm_min_gap  # seconds between DMs; tests shorten it
        self.forms = FormRouter()
        self.late_interactions = 0  # answers Discord refused as too late or repeated
        self.metrics = resources.metrics
        self._clock_follower: asyncio.Task[None] | None = None  # soak runs only
        self.ops: OpsServer | None = None  # /metrics and /healthz, when a port is configured

    async def setup_hook(self) -> None:
        for name in self._extension_names:
            await self.load_extension(name)
        await self.resources.jobs.start()
        if isinstance(self.resources.clock, SharedClock):
            self._clock_follower = asyncio.create_task(
                follow_moves(self.resources.clock, self._clock_moved), name="clock-follower"
            )
        if self.resources.settings.metrics_port is not None:
            self.ops = OpsServer(self, self.resources, self.metrics)
            await self.ops.start()
        await self.sync_commands_if_changed()

    async def _clock_moved(self) -> None:
        try:
            await self.resources.jobs.clock_moved()
        except Exception as error:  # the database is busy: the next move arms them again
            log.warning("Could not re-arm timers after a clock move (%s)", type(error).__name__)
        self.resources.services.outbox.kick()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.metrics.received(interaction, self.tree)
        await self.forms.dispatch(interaction)

    async def on_ready(self) -> None:
        """Every (re)connection: deliver what is owed (a no-op once the worker runs)."""
        await self.resources.services.outbox.start()
        log.info("Ready: %d server(s)", len(self.guilds))

    async def close(self) -> None:
        if self._clock_follower is not None:
            self._clock_follower.cancel()
        if self.ops is not None:
            await self.ops.stop()
            self.ops = None
        await self.resources.services.outbox.stop()
        await self.resources.jobs.shutdown()
        await super().close()

    def command_definitions(self, guild: discord.abc.Snowflake | None) -> list[dict[str, object]]:
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands_if_changed(self) -> bool:
        """Bulk-overwrite commands only when their definitions changed since the last sync."""
        dev_guild_id = self.resources.settings.dev_guild_id
        guild = discord.Object(dev_guild_id) if dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        scope = str(dev_guild_id) if dev_guild_id else "global"
        definitions = json.dumps(self.command_definitions(guild), sort_keys=True, default=str)
        digest = hashlib.sha256(definitions.encode()).hexdigest()
        db = self.resources.db
        async with db.read() as tx:
            unchanged = await command_sync.last_hash(tx, scope) == digest
        self.last_sync_skipped = unchanged
        if unchanged:
            log.info("Commands unchanged since the last sync (%s); not syncing", scope)
            return False
        synced = await self.tree.sync(guild=guild)
        async with db.transaction() as tx:
            await command_sync.record(tx, scope, digest, self.resources.clock.now())
        log.info("Synced %d command(s) to %s", len(synced), scope)
        return True


class ShardedCircleBot(CircleBot, commands.AutoShardedBot):
    """The same bot on discord.py's sharded client: one process, the shards it is given."""
