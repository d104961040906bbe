"""`LocalDiscord`: REST (/api/v10) and the Gateway on one aiohttp app bound to loopback.

Start it, point the real discord.py client at `api_base` / `gateway_url` with
`bot.endpoints.apply_endpoints`, and drive simulated members through `create_guild`.
Everything the bot does is stored in `state` and recorded in `transcript`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.localdiscord.faults import Faults, Hold, Stage
from bot.localdiscord.gateway import (
    DM_MESSAGES_INTENT,
    GUILD_MESSAGES_INTENT,
    MAX_GUILDS_PER_SHARD,
    PRIVILEGED_INTENTS,
    Gateway,
)
from bot.localdiscord.openapi import SpecChecker, Violation
from bot.localdiscord.ratelimit import RateLimiter
from bot.localdiscord.state import DEFAULT_BOT, DM, Channel, Command, Message, State, User
from bot.localdiscord.transcript import Event, Transcript, message_event

if TYPE_CHECKING:
    from bot.localdiscord.driver import Channel as DriverChannel
    from bot.localdiscord.driver import Guild

log = logging.getLogger(__name__)


@dataclass
class Application:
    id: int
    name: str
    token: str
    user: User


MAX_ACTIVE_THREADS = 1000  # a guild's active (unarchived) threads, Discord's reported cap


class LocalDiscord:
    """A Discord-compatible server for one bot application, on 127.0.0.1."""

    def __init__(
        self,
        *,
        app_name: str = "Circlekeeper",
        token: str | None = None,
        interaction_deadline: float = 3.0,
        followup_window: float = 900.0,
        reply_timeout: float = 5.0,
        settle: float = 0.05,
        rate_limits: bool = True,
        message_rate: tuple[int, float] = (5, 5.0),
        edit_rate: tuple[int, float] = (5, 5.0),
        global_rate: tuple[int, float] = (50, 1.0),
        port: int = 0,
        nonce_window: float = 300.0,
        openapi_spec: str | Path | None = None,
        bot_permissions: int = DEFAULT_BOT,
        shards: int = 1,
        max_concurrency: int = 1,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
        privileged_intents: int = PRIVILEGED_INTENTS,
        max_active_threads: int = MAX_ACTIVE_THREADS,
    ) -> None:
        """`openapi_spec`: a copy of discord/discord-api-spec's openapi.json; when given,
        every request body is validated against it (400, 50035 and a recorded
        `spec_violations` entry when one does not conform). `bot_permissions`: what the
        bot's managed role grants in every guild created (an invite link's integer).
        Sharding: `shards` and `max_concurrency` are what GET /gateway/bot recommends; a
        session holding more than `max_guilds_per_shard` guilds is closed with 4011;
        IDENTIFY asking for a privileged intent not in `privileged_intents` gets 4014.
        Threads: a guild holds at most `max_active_threads` unarchived threads; creating
        one more is refused with 400, code 160006, as Discord does."""
        from bot.localdiscord.state import Snowflakes

        ids = Snowflakes()
        app_id = ids.next()
        bot_user = User(app_id, app_name, bot=True)
        token = token or f"{secrets.token_urlsafe(18)}.{secrets.token_urlsafe(6)}"
        self.state = State(app_id, bot_user, token, ids=ids)
        self.state.users[bot_user.id] = bot_user
        self.application = Application(app_id, app_name, token, bot_user)
        self.owner = self.state.new_user(f"{app_name} developer")
        self.transcript = Transcript()
        self.interaction_deadline = interaction_deadline
        self.followup_window = followup_window
        self.reply_timeout = reply_timeout
        self.settle = settle
        self.ratelimiter = RateLimiter(
            route_limits={
                "POST /channels/{channel_id}/messages": message_rate,
                # edits of a channel's messages share one bucket per channel
                "PATCH /channels/{channel_id}/messages/{message_id}": edit_rate,
            },
            global_limit=global_rate,
            enabled=rate_limits,
        )
        self.faults = Faults()
        self.nonce_window = nonce_window
        self.max_active_threads = max_active_threads
        self.shards, self.max_concurrency = shards, max_concurrency
        self.gateway = Gateway(
            self.state,
            lambda: self.gateway_url,
            privileged_intents=privileged_intents,
            max_guilds_per_shard=max_guilds_per_shard,
        )
        self.bot_permissions = bot_permissions
        self.spec = SpecChecker(Path(openapi_spec)) if openapi_spec is not None else None
        self.unknown_routes: list[str] = []
        self.requests: list[str] = []
        # (route, status, code) of every request answered with a Discord error: Discord counts
        # these (too many invalid requests get an IP banned), so a bot should not cause them
        self.refused: list[tuple[str, int, int]] = []
        self._port = port
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._guilds: dict[int, Guild] = {}
        self._channels: dict[int, DriverChannel] = {}
        self._changed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        from bot.localdiscord.rest import build_app

        self._runner = web.AppRunner(build_app(self), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "server did not bind"
        self._port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalDiscord:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def spec_violations(self) -> list[Violation]:
        """Request bodies the spec check refused (empty when the check is off)."""
        return self.spec.violations if self.spec is not None else []

    @property
    def port(self) -> int:
        return self._port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def token(self) -> str:
        return self.application.token

    # -- world building ----------------------------------------------------------------
    def create_user(self, name: str) -> User:
        return self.state.new_user(name)

    def create_guild(self, name: str, *, owner: str | User | None = None) -> Guild:
        """A guild with @everyone, the bot's managed role and an owner member."""
        from bot.localdiscord.driver import Guild

        owner_user = self.create_user(owner) if isinstance(owner, str) else owner
        record = self.state.new_guild(name, owner_user, bot_permissions=self.bot_permissions)
        guild = Guild(self, record)
        self._guilds[record.id] = guild
        if self.gateway.sessions:
            payload = record.payload(self.state.bot.id, all_members=self.gateway.wants_members())
            self.spawn(self.dispatch("GUILD_CREATE", payload))
        return guild

    def guild(self, guild_id: int) -> Guild:
        return self._guilds[guild_id]

    def channel(self, channel_id: int) -> DriverChannel:
        """The driver handle for any channel, thread or DM by id."""
        from bot.localdiscord.driver import Channel as DriverChannel

        if channel_id not in self._channels:
            self._channels[channel_id] = DriverChannel(self, self.state.channels[channel_id])
        return self._channels[channel_id]

    async def remove_bot_from_guild(self, guild: Guild) -> None:
        """The bot was kicked or left: Discord sends GUILD_DELETE without `unavailable`.
        Works while the bot is offline too: a session that RESUMEs gets the GUILD_DELETE
        from its backlog, and a new IDENTIFY no longer lists the guild."""
        guild.record.bot_present = False
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})
        self.record(
            Event("left_guild", "system", guild.name, content=f"bot removed from {guild.name}")
        )

    async def invite_bot_to_guild(self, guild: Guild) -> None:
        """The bot is added (again) through its invite link: Discord sends GUILD_CREATE."""
        guild.record.bot_present = True
        await self.dispatch(
            "GUILD_CREATE", guild.record.payload(self.state.bot.id, all_members=False)
        )
        self.record(
            Event("joined_guild", "system", guild.name, content=f"bot invited to {guild.name}")
        )

    # -- test hooks ------------------------------------------------------------------
    def hold(
        self,
        route: str,
        *,
        stage: Stage = "before",
        match: Callable[[dict[str, Any]], bool] | str | None = None,
        count: int | None = 1,
    ) -> Hold:
        """Hold matching requests before (or after) the server acts on them; see `faults`."""
        return self.faults.hold(route, stage=stage, match=match, count=count)

    def force_rate_limit(
        self, route: str, count: int = 1, retry_after: float = 0.05, *, is_global: bool = False
    ) -> None:
        """Answer the next `count` requests on `route` (e.g. "POST /channels/{channel_id}/messages") with 429."""
        self.ratelimiter.force(route, count, retry_after, is_global=is_global)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's websocket(s); sessions survive so the client can RESUME."""
        await self.gateway.drop(code)

    def sync_count(self, guild: Guild | int | None = None) -> int:
        """How many bulk overwrites hit the global (None) or a guild's command list."""
        key = guild if guild is None or isinstance(guild, int) else guild.id
        return self.state.sync_counts.get(key, 0)

    def commands(self, guild: Guild | int | None = None) -> list[Command]:
        key = guild if guild is None or isinstance(guild, int) else guild.id
        return list(self.state.commands.get(key, []))

    async def wait_until_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot identified and was sent its GUILD_CREATEs."""
        await asyncio.wait_for(self.gateway.connected.wait(), timeout)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        message: str = "",
    ) -> Any:
        """Poll `predicate` (sync) until truthy, re-checking whenever the state changes."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = "\n".join(
                    f"  {e.kind} {e.where}: {e.content[:80]}" for e in self.transcript.events[-8:]
                )
                raise TimeoutError(
                    f"wait_for timed out after {timeout}s {message}\nlast events:\n{recent}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    # -- effects used by the REST routes -----------------------------------------------------
    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Until every event spawned so far (e.g. a CHANNEL_CREATE) went out on the gateway,
        so an interaction dispatched next cannot overtake it."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def changed(self) -> None:
        self._changed.set()

    def record(self, event: Event) -> Event:
        self.changed()
        return self.transcript.add(event)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None = None
    ) -> None:
        await self.gateway.dispatch(event, data, intent=intent)

    def where(self, channel: Channel) -> str:
        if channel.type == DM:
            return f"DM with {channel.recipient.username if channel.recipient else '?'}"
        if channel.is_thread:
            return f"thread '{channel.name}'"
        return f"#{channel.name}"

    def user_name(self, user_id: int | None) -> str:
        user = self.state.users.get(user_id or 0)
        return user.username if user else "?"

    async def store_message(
        self,
        channel: Channel,
        message: Message,
        *,
        kind: str = "message",
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append a visible message, record it and tell the gateway (MESSAGE_CREATE)."""
        channel.messages.append(message)
        if channel.type == DM:
            kind, target = "dm", channel.recipient.username if channel.recipient else None
        event = message_event(kind, message, where=self.where(channel), target=target)
        event.detail.update(detail or {})
        self.record(event)
        if message.visible_to is None:
            intent = DM_MESSAGES_INTENT if channel.type == DM else GUILD_MESSAGES_INTENT
            await self.dispatch("MESSAGE_CREATE", message.payload(), intent=intent)
