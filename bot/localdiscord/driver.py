"""Simulated members for tests and the sandbox: `await sam.run("/crisis", region="UK")`.

Members do what Discord's client lets a person do (run registered commands they can see,
click buttons, pick from selects, fill modals) and get back a `Reply` holding everything
the bot answered, so feature tests read like the feature.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from bot.localdiscord.state import (
    ADMINISTRATOR,
    DM,
    GUILD_TEXT,
    GUILD_VOICE,
    LOADING,
    MANAGE_GUILD,
    VIEW_CHANNEL,
    Attachment,
    Command,
    Interaction,
    MemberRecord,
    Message,
    Role,
    User,
    walk_components,
)
from bot.localdiscord.state import Channel as ChannelRecord
from bot.localdiscord.state import Guild as GuildRecord
from bot.localdiscord.transcript import Event
from bot.localdiscord.voice import announce_voice_state

if TYPE_CHECKING:
    from bot.localdiscord.server import LocalDiscord

SUBCOMMAND_TYPES = (1, 2)


class DriverError(AssertionError):
    """A simulated member could not do what the test asked."""


class CommandNotFound(DriverError):
    pass


class CommandHidden(DriverError):
    """Discord's client would not show this command to the member."""


class ComponentNotFound(DriverError):
    pass


class ReplyTimeout(DriverError, TimeoutError):
    pass


T = TypeVar("T")


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


# -- handles -------------------------------------------------------------------------------
class Channel:
    """A guild text channel, thread or DM as members see it."""

    def __init__(self, server: LocalDiscord, record: ChannelRecord) -> None:
        self.server, self.record = server, record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def messages(self) -> list[Message]:
        """Messages everyone can see, oldest first (no ephemeral, no deleted)."""
        return self.record.visible_messages()

    @property
    def last_message(self) -> Message | None:
        shown = self.messages
        return shown[-1] if shown else None

    @property
    def threads(self) -> list[Channel]:
        guild = self.server.state.guild_of(self.record)
        chans = guild.channels.values() if guild else []
        return [self.server.channel(c.id) for c in chans if c.parent_id == self.id and c.is_thread]

    @property
    def archived(self) -> bool:
        return self.record.archived

    @property
    def locked(self) -> bool:
        return self.record.locked

    @property
    def member_ids(self) -> set[int]:
        return set(self.record.thread_member_ids)

    def deny_bot(self, permissions: int) -> None:
        """Deny the bot these permission bits here (e.g. SEND_MESSAGES); like Discord, the
        bot is told with a CHANNEL_UPDATE (its cached overwrites change)."""
        bot_id = self.server.state.bot.id
        self.record.denied[bot_id] = self.record.denied.get(bot_id, 0) | permissions
        if self.server.gateway.sessions and not self.record.is_thread:
            self.server.spawn(self.server.dispatch("CHANNEL_UPDATE", self.record.payload(bot_id)))

    def allow_bot(self, permissions: int) -> None:
        """Take back a `deny_bot` here (an admin fixed the channel's permissions)."""
        bot_id = self.server.state.bot.id
        self.record.denied[bot_id] = self.record.denied.get(bot_id, 0) & ~permissions
        if self.server.gateway.sessions and not self.record.is_thread:
            self.server.spawn(self.server.dispatch("CHANNEL_UPDATE", self.record.payload(bot_id)))

    def hide_from_everyone(self, *, visible_to: tuple[Member, ...] = ()) -> None:
        """Make the channel private: @everyone loses View Channel here (a role overwrite);
        the bot and `visible_to` keep it through member overwrites, as an admin would set."""
        guild_id = self.record.guild_id
        assert guild_id is not None, "DM channels are private already"
        self.record.denied[guild_id] = self.record.denied.get(guild_id, 0) | VIEW_CHANNEL
        for user_id in (self.server.state.bot.id, *(m.id for m in visible_to)):
            self.record.allowed[user_id] = self.record.allowed.get(user_id, 0) | VIEW_CHANNEL
        if self.server.gateway.sessions and not self.record.is_thread:
            bot_id = self.server.state.bot.id
            self.server.spawn(self.server.dispatch("CHANNEL_UPDATE", self.record.payload(bot_id)))

    def __repr__(self) -> str:
        return f"<Channel {self.server.where(self.record)} id={self.id}>"


class Guild:
    def __init__(self, server: LocalDiscord, record: GuildRecord) -> None:
        self.server, self.record = server, record
        self._members: dict[int, Member] = {}

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def owner(self) -> Member:
        return self.member(self.record.owner_id)

    def member(self, user_id: int) -> Member:
        if user_id not in self._members:
            self._members[user_id] = Member(self.server, self, self.record.members[user_id])
        return self._members[user_id]

    @property
    def members(self) -> list[Member]:
        return [self.member(uid) for uid in self.record.members if uid != self.server.state.bot.id]

    def add_role(self, name: str, permissions: int = 0, *, manage_guild: bool = False) -> Role:
        state = self.server.state
        perms = permissions | (MANAGE_GUILD if manage_guild else 0)
        role = Role(state.ids.next(), name, perms, position=len(self.record.roles))
        self.record.roles[role.id] = role
        if self.server.gateway.sessions:
            self.server.spawn(
                self.server.dispatch(
                    "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()}
                )
            )
        return role

    def add_member(
        self,
        name: str | User,
        *,
        roles: list[Role] | tuple[Role, ...] = (),
        manage_guild: bool = False,
        administrator: bool = False,
    ) -> Member:
        """A new member; `manage_guild`/`administrator` give them a role with that bit."""
        user = self.server.create_user(name) if isinstance(name, str) else name
        role_ids = [r.id for r in roles]
        if manage_guild or administrator:
            bits = (MANAGE_GUILD if manage_guild else 0) | (ADMINISTRATOR if administrator else 0)
            role_ids.append(self.add_role(f"{user.username}'s role", bits).id)
        record = MemberRecord(user, self.id, role_ids)
        self.record.members[user.id] = record
        if self.server.gateway.wants_members():
            self.server.spawn(
                self.server.dispatch(
                    "GUILD_MEMBER_ADD",
                    {**record.payload(), "guild_id": str(self.id)},
                    intent=1 << 1,
                )
            )
        return self.member(user.id)

    def remove_member(self, member: Member) -> None:
        """The member leaves the server (their roles go with them; they leave its threads)."""
        self.record.members.pop(member.id, None)
        self._members.pop(member.id, None)
        for channel in self.record.channels.values():
            channel.thread_member_ids.discard(member.id)
        if self.server.gateway.wants_members():
            data = {"guild_id": str(self.id), "user": member.user.payload()}
            self.server.spawn(self.server.dispatch("GUILD_MEMBER_REMOVE", data, intent=1 << 1))

    def create_text_channel(self, name: str) -> Channel:
        record = self.server.state.new_channel(self.record, name, GUILD_TEXT)
        if self.server.gateway.sessions:
            self.server.spawn(
                self.server.dispatch("CHANNEL_CREATE", record.payload(self.server.state.bot.id))
            )
        return self.server.channel(record.id)

    def create_voice_channel(self, name: str) -> Channel:
        """A voice channel (type 2); its text chat takes commands and messages too."""
        record = self.server.state.new_channel(self.record, name, GUILD_VOICE)
        if self.server.gateway.sessions:
            self.server.spawn(
                self.server.dispatch("CHANNEL_CREATE", record.payload(self.server.state.bot.id))
            )
        return self.server.channel(record.id)

    @property
    def channels(self) -> list[Channel]:
        return [self.server.channel(c.id) for c in self.record.channels.values() if not c.is_thread]

    @property
    def threads(self) -> list[Channel]:
        return [self.server.channel(c.id) for c in self.record.channels.values() if c.is_thread]

    def channel(self, name: str) -> Channel:
        for c in self.record.channels.values():
            if c.name == name:
                return self.server.channel(c.id)
        raise LookupError(f"no channel named {name!r} in {self.name}")

    def thread(self, name: str) -> Channel:
        return next(t for t in self.threads if t.name == name)

    def set_bot_permissions(self, permissions: int) -> None:
        """Replace the bot's managed role permissions."""
        bot = self.record.members[self.server.state.bot.id]
        self.record.roles[bot.role_ids[0]].permissions = permissions


class Modal:
    """A modal the bot showed; pass it to `member.submit`."""

    def __init__(self, data: dict[str, Any], origin: Interaction) -> None:
        self.data, self.origin = data, origin

    @property
    def title(self) -> str:
        return str(self.data.get("title", ""))

    @property
    def custom_id(self) -> str:
        return str(self.data.get("custom_id", ""))

    @property
    def fields(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, input component) for every input, in order."""
        out = []
        for top in self.data.get("components", []):
            if top.get("type") == 1:
                for comp in top.get("components", []):
                    out.append((str(comp.get("label", "")), comp))
            elif top.get("type") == 18:
                out.append((str(top.get("label", "")), top["component"]))
        return out

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.fields]

    def __repr__(self) -> str:
        return f"<Modal {self.title!r} fields={self.labels}>"


class Reply:
    """Everything the bot answered to one interaction."""

    def __init__(self, server: LocalDiscord, interaction: Interaction) -> None:
        self.server, self.interaction = server, interaction

    @property
    def response_type(self) -> int | None:
        return self.interaction.callback_type

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    @property
    def messages(self) -> list[Message]:
        msgs = [self.interaction.original] if self.interaction.callback_type in (4, 5) else []
        return [m for m in [*msgs, *self.interaction.followups] if m is not None and not m.deleted]

    @property
    def message(self) -> Message | None:
        if self.interaction.callback_type == 7:
            return self.interaction.original
        return self.messages[0] if self.messages else None

    @property
    def followups(self) -> list[Message]:
        return [m for m in self.interaction.followups if not m.deleted]

    @property
    def content(self) -> str:
        return self.message.content if self.message else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message else []

    @property
    def embed(self) -> dict[str, Any] | None:
        return self.embeds[0] if self.embeds else None

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components if self.message else []

    @property
    def buttons(self) -> list[str]:
        return self.message.buttons if self.message else []

    @property
    def files(self) -> list[Attachment]:
        return self.message.files if self.message else []

    @property
    def ephemeral(self) -> bool:
        return bool(self.message and self.message.ephemeral)

    @property
    def text(self) -> str:
        """All text of all messages in this reply (content, embeds) joined."""
        return "\n".join(m.text for m in self.messages)

    @property
    def modal(self) -> Modal | None:
        data = self.interaction.modal
        return Modal(data, self.interaction) if data else None

    @property
    def choices(self) -> list[tuple[str, Any]]:
        return [(c["name"], c["value"]) for c in self.interaction.choices or []]

    def describe(self) -> str:
        inter = self.interaction
        parts = [f"callback type={inter.callback_type}"]
        parts += [f"message: {m.text[:120]!r}" for m in self.messages]
        parts += inter.notes
        if inter.modal:
            parts.append(f"modal {inter.modal.get('title')!r}")
        return "; ".join(parts)

    async def _until(self, cond: Callable[[], bool], deadline: float) -> bool:
        inter = self.interaction
        while not cond():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            inter.activity.clear()
            if cond():
                break
            try:  # woken by activity, or soon anyway: a condition may depend on quiet time
                await asyncio.wait_for(inter.activity.wait(), min(remaining, 0.05))
            except TimeoutError:
                continue
        return True

    async def wait(self, timeout: float) -> Reply:  # noqa: ASYNC109
        """First callback; for a deferral, the real answer; then a short quiet period."""
        inter = self.interaction
        deadline = time.monotonic() + timeout
        if not await self._until(lambda: inter.callback_type is not None, deadline):
            raise ReplyTimeout(
                f"no response to {inter.payload['data'].get('name') or inter.payload['data'].get('custom_id')!r} within {timeout}s: {self.describe()}"
            )
        if inter.callback_type == 5:

            def done() -> bool:
                original = inter.original
                return bool(inter.followups) or (
                    original is not None and not original.flags & LOADING
                )

            if not await self._until(done, deadline):
                raise ReplyTimeout(
                    f"deferred but never answered within {timeout}s: {self.describe()}"
                )
        elif inter.callback_type == 6:
            await self._until(
                lambda: bool(inter.followups) or time.monotonic() - inter.last_activity > 0.25,
                deadline,
            )
        while (quiet := time.monotonic() - inter.last_activity) < self.server.settle:  # noqa: ASYNC110
            await asyncio.sleep(self.server.settle - quiet)
        return self

    async def next_followup(self, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """Wait for one more followup than there is now."""
        count = len(self.interaction.followups)
        if not await self._until(
            lambda: len(self.interaction.followups) > count, time.monotonic() + timeout
        ):
            raise ReplyTimeout(f"no further followup within {timeout}s: {self.describe()}")
        return self.interaction.followups[count]

    def __repr__(self) -> str:
        return f"<Reply {self.describe()}>"


class Member:
    """A person in a guild; every action returns the bot's `Reply`."""

    def __init__(self, server: LocalDiscord, guild: Guild, record: MemberRecord) -> None:
        self.server, self.guild, self.record = server, guild, record
        self.default_channel: Channel | None = None
        self.locale = "en-US"  # the Discord client's language, sent with every interaction

    @property
    def user(self) -> User:
        return self.record.user

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def dms_closed(self) -> bool:
        return self.user.dms_closed

    @dms_closed.setter
    def dms_closed(self, value: bool) -> None:
        self.user.dms_closed = value

    @property
    def dm_channel(self) -> Channel:
        return self.server.channel(self.server.state.dm_channel(self.user).id)

    @property
    def dms(self) -> list[Message]:
        """Messages the bot sent this member by DM (not interaction replies)."""
        record = self.server.state.dm_channels.get(self.id)
        return [m for m in record.visible_messages() if m.interaction_id is None] if record else []

    @property
    def permissions(self) -> int:
        return self.guild.record.base_permissions(self.id)

    @property
    def roles(self) -> list[Role]:
        """The member's roles (not @everyone), e.g. the one `add_member(manage_guild=True)` made."""
        return [self.guild.record.roles[rid] for rid in self.record.role_ids]

    def add_role(self, role: Role) -> None:
        if role.id not in self.record.role_ids:
            self.record.role_ids.append(role.id)
            self._member_updated()

    def remove_role(self, role: Role) -> None:
        """Take a role away (e.g. the Manage Server role a facilitator was given)."""
        if role.id in self.record.role_ids:
            self.record.role_ids.remove(role.id)
            self._member_updated()

    # -- voice ---------------------------------------------------------------------------
    @property
    def voice_channel(self) -> Channel | None:
        channel_id = self.record.voice_channel_id
        return None if channel_id is None else self.server.channel(channel_id)

    @property
    def server_muted(self) -> bool:
        """Server-muted (by the bot or a moderator); it stays with them out of voice."""
        return self.record.mute

    async def join_voice(self, channel: Channel) -> None:
        """Connect to a voice channel (the bot hears VOICE_STATE_UPDATE)."""
        self.record.voice_channel_id = channel.id
        await announce_voice_state(self.server, self.record)

    async def leave_voice(self) -> None:
        self.record.voice_channel_id = None
        await announce_voice_state(self.server, self.record)

    def _member_updated(self) -> None:
        # GUILD_MEMBER_UPDATE needs the privileged members intent, as in Discord.
        if self.server.gateway.wants_members():
            data = {**self.record.payload(), "guild_id": str(self.guild.id)}
            self.server.spawn(self.server.dispatch("GUILD_MEMBER_UPDATE", data, intent=1 << 1))

    def __repr__(self) -> str:
        return f"<Member {self.name} id={self.id}>"

    # -- building interactions ---------------------------------------------------------------
    def _channel(self, channel: Channel | None, dm: bool) -> ChannelRecord:
        if dm:
            return self.server.state.dm_channel(self.user)
        chosen = channel or self.default_channel
        if chosen is None:
            texts = [c for c in self.guild.record.channels.values() if c.type == GUILD_TEXT]
            if not texts:
                raise DriverError(f"{self.guild.name} has no text channel: create one first")
            chosen = self.server.channel(texts[0].id)
        self.default_channel = chosen
        return chosen.record

    def _payload(self, itype: int, data: dict[str, Any], channel: ChannelRecord) -> dict[str, Any]:
        state = self.server.state
        bot_id = state.bot.id
        payload: dict[str, Any] = {
            "id": str(state.ids.next()),
            "application_id": str(state.app_id),
            "type": itype,
            "token": secrets.token_urlsafe(32),
            "version": 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel": channel.payload(bot_id),
            "channel_id": str(channel.id),
            "locale": self.locale,
            "entitlements": [],
            "data": data,
        }
        if channel.type == DM:
            payload.update(
                user=self.user.payload(),
                app_permissions=str(0b1111 << 10 | 1 << 31),
                authorizing_integration_owners={"1": str(self.id)},
                context=1,
            )
        else:
            guild = self.guild.record
            member = self.record.payload()
            member["permissions"] = str(guild.channel_permissions(self.id, channel))
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
                app_permissions=str(guild.channel_permissions(bot_id, channel)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        return payload

    async def _interact(
        self,
        itype: int,
        data: dict[str, Any],
        channel: ChannelRecord,
        action: str,
        kind: str,
        *,
        source: Message | None = None,
        timeout: float | None,  # noqa: ASYNC109
    ) -> Reply:
        payload = self._payload(itype, data, channel)
        if source is not None:
            payload["message"] = source.payload()
        inter = Interaction(
            int(payload["id"]),
            payload["token"],
            itype,
            self.user,
            channel.id,
            channel.guild_id,
            payload,
            source_message=source,
        )
        self.server.state.interactions[inter.token] = inter
        self.server.record(Event(kind, self.name, self.server.where(channel), content=action))
        await self.server.dispatch("INTERACTION_CREATE", payload)
        return await Reply(self.server, inter).wait(timeout or self.server.reply_timeout)

    # -- commands ------------------------------------------------------------------------
    def _command(self, path: str, dm: bool, force: bool) -> tuple[Command, list[dict[str, Any]]]:
        parts = path.lstrip("/").split()
        if not parts:
            raise CommandNotFound("empty command")
        state = self.server.state
        scopes = [None] if dm else [self.guild.id, None]
        found = [
            c
            for s in scopes
            for c in state.commands.get(s, [])
            if c.type == 1 and c.name == parts[0]
        ]
        if not found:
            names = sorted(
                {f"/{c.name}" for s in scopes for c in state.commands.get(s, []) if c.type == 1}
            )
            raise CommandNotFound(
                f"/{parts[0]} is not registered{' for DMs' if dm else ''}; registered: {', '.join(names) or 'none'}"
            )
        cmd = found[0]
        chain: list[dict[str, Any]] = []
        options = cmd.data.get("options") or []
        for sub in parts[1:]:
            node = next(
                (o for o in options if o.get("name") == sub and o.get("type") in SUBCOMMAND_TYPES),
                None,
            )
            if node is None:
                subs = [o["name"] for o in options if o.get("type") in SUBCOMMAND_TYPES]
                raise CommandNotFound(
                    f"/{cmd.name} has no subcommand {sub!r} at this level; has: {subs}"
                )
            chain.append(node)
            options = node.get("options") or []
        if any(o.get("type") in SUBCOMMAND_TYPES for o in options):
            subs = [o["name"] for o in options if o.get("type") in SUBCOMMAND_TYPES]
            raise CommandNotFound(f"{path} needs a subcommand: {subs}")
        if not force:
            self._check_visible(cmd, dm)
        return cmd, chain

    def _check_visible(self, cmd: Command, dm: bool) -> None:
        contexts = cmd.data.get("contexts")
        if dm:
            if cmd.data.get("dm_permission") is False or (
                contexts is not None and 1 not in contexts
            ):
                raise CommandHidden(f"/{cmd.name} is not available in DMs")
            return
        if contexts is not None and 0 not in contexts:
            raise CommandHidden(f"/{cmd.name} is not available in servers")
        required = cmd.data.get("default_member_permissions")
        if required is None:
            return
        perms = self.permissions
        if perms & ADMINISTRATOR:
            return
        need = int(required)
        if need == 0 or perms & need != need:
            raise CommandHidden(
                f"{self.name} cannot see /{cmd.name}: needs permissions {need:#x}, has {perms:#x} (use force=True to simulate an override)"
            )

    def _convert(self, opt: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        otype, name = opt.get("type"), opt.get("name")
        if opt.get("choices"):
            by_name = {c["name"]: c["value"] for c in opt["choices"]}
            values = [c["value"] for c in opt["choices"]]
            if value in by_name and value not in values:
                value = by_name[value]
            if value not in values:
                raise DriverError(
                    f"option {name}: {value!r} is not one of the choices {list(by_name)}"
                )
        if otype == 3:
            value = str(value)
            lo, hi = opt.get("min_length", 0), opt.get("max_length", 6000)
            if not lo <= len(value) <= hi:
                raise DriverError(f"option {name}: length must be {lo}..{hi}")
            return value
        if otype in (4, 10):
            value = int(value) if otype == 4 else float(value)
            if ("min_value" in opt and value < opt["min_value"]) or (
                "max_value" in opt and value > opt["max_value"]
            ):
                raise DriverError(
                    f"option {name}: {value} outside {opt.get('min_value')}..{opt.get('max_value')}"
                )
            return value
        if otype == 5:
            return bool(value)
        if otype == 11:
            filename, content = value
            att = Attachment(self.server.state.ids.next(), filename, content)
            resolved.setdefault("attachments", {})[str(att.id)] = att.payload()
            return str(att.id)
        return self._resolve_entity(value, resolved)

    def _resolve_entity(self, value: Any, resolved: dict[str, dict[str, Any]]) -> str:
        guild = self.guild.record
        if isinstance(value, Member):
            value = value.user
        if isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if value.id in guild.members:
                member = guild.members[value.id].payload()
                member.pop("user")
                member["permissions"] = str(guild.base_permissions(value.id))
                resolved.setdefault("members", {})[str(value.id)] = member
            return str(value.id)
        if isinstance(value, Channel):
            value = value.record
        if isinstance(value, ChannelRecord):
            data = value.payload(self.server.state.bot.id)
            data["permissions"] = str(guild.channel_permissions(self.id, value))
            resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        if isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        raise DriverError(f"cannot pass {value!r} as an option value")

    def _options(
        self,
        schema: list[dict[str, Any]],
        given: dict[str, Any],
        path: str,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        by_key = {_norm(o["name"]): o for o in schema}
        unknown = [k for k in given if _norm(k) not in by_key]
        if unknown:
            raise DriverError(
                f"{path} has no option(s) {unknown}; options: {[o['name'] for o in schema]}"
            )
        values = {by_key[_norm(k)]["name"]: v for k, v in given.items()}
        resolved: dict[str, dict[str, Any]] = {}
        out = []
        for opt in schema:
            name = opt["name"]
            if name == focused:
                out.append(
                    {
                        "type": opt["type"],
                        "name": name,
                        "value": str(values.get(name, "")),
                        "focused": True,
                    }
                )
                continue
            if name not in values:
                if opt.get("required") and focused is None:
                    raise DriverError(f"{path}: missing required option {name!r}")
                continue
            value = self._convert(opt, values[name], resolved) if focused is None else values[name]
            if focused is not None and not isinstance(value, str | int | float | bool):
                value = self._resolve_entity(value, resolved)
            out.append({"type": opt["type"], "name": name, "value": value})
        return out, resolved

    def _command_data(
        self, command: str, dm: bool, force: bool, given: dict[str, Any], focused: str | None = None
    ) -> dict[str, Any]:
        cmd, chain = self._command(command, dm, force)
        schema = (chain[-1] if chain else cmd.data).get("options") or []
        if focused is not None and _norm(focused) not in {_norm(o["name"]) for o in schema}:
            raise DriverError(f"{command} has no option {focused!r}")
        if focused is not None:
            focused = next(o["name"] for o in schema if _norm(o["name"]) == _norm(focused))
        options, resolved = self._options(schema, given, command, focused)
        for node in reversed(chain):
            options = [{"type": node["type"], "name": node["name"], "options": options}]
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        return data

    async def run(
        self,
        command: str,
        /,
        *,
        channel: Channel | None = None,
        dm: bool = False,
        force: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109
        options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """Run a slash command ("/group sub" for subcommands); options as keywords
        (or `options={...}` for names that clash with these parameters)."""
        given = {**(options or {}), **kwargs}
        data = self._command_data(command, dm, force, given)
        shown = " ".join([command, *(f"{k}:{_show(v)}" for k, v in given.items())])
        where = self._channel(channel, dm)
        return await self._interact(2, data, where, shown, "command", timeout=timeout)

    async def autocomplete(
        self,
        command: str,
        option: str,
        typed: str,
        /,
        *,
        channel: Channel | None = None,
        dm: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109
        **others: Any,
    ) -> list[tuple[str, Any]]:
        """Type `typed` into `option`; returns the bot's (name, value) suggestions."""
        data = self._command_data(command, dm, True, {**others, option: typed}, focused=option)
        where = self._channel(channel, dm)
        reply = await self._interact(
            4, data, where, f"{command} {option}:{typed}…", "autocomplete", timeout=timeout
        )
        return reply.choices

    # -- components ----------------------------------------------------------------------
    def _candidates(
        self, message: Message | Reply | None, channel: Channel | None
    ) -> list[Message]:
        if isinstance(message, Message):
            return [message]
        if isinstance(message, Reply):
            return list(
                reversed([m for m in [*message.messages, message.message] if m is not None])
            )
        record = (
            channel or self.default_channel or self.server.channel(self._channel(None, False).id)
        ).record
        return [
            m
            for m in reversed(record.messages)
            if not m.deleted and m.visible_to in (None, self.id)
        ]

    def _find(
        self,
        message: Message | Reply | None,
        channel: Channel | None,
        match: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> tuple[Message, dict[str, Any]]:
        seen: list[str] = []
        for msg in self._candidates(message, channel):
            for comp in walk_components(msg.components):
                if match(comp):
                    if comp.get("disabled"):
                        raise DriverError(f"{what} is disabled")
                    return msg, comp
                if comp.get("type") in (2, 3, 5, 6, 7, 8):
                    seen.append(
                        str(comp.get("label") or comp.get("placeholder") or comp.get("custom_id"))
                    )
        raise ComponentNotFound(f"{what} not found; visible components: {seen}")

    async def click(
        self,
        label: str,
        /,
        *,
        message: Message | Reply | None = None,
        channel: Channel | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Reply:
        """Click a button by label (or custom_id) on `message`, a `Reply`, or the latest
        message in `channel` that has it."""
        msg, comp = self._find(
            message,
            channel,
            lambda c: c.get("type") == 2 and label in (c.get("label"), c.get("custom_id")),
            f"button {label!r}",
        )
        if comp.get("style") == 5 or "custom_id" not in comp:
            raise DriverError(f"button {label!r} is a link or premium button: nothing to click")
        data = {"custom_id": comp["custom_id"], "component_type": 2}
        where = self.server.state.channels[msg.channel_id]
        return await self._interact(
            3, data, where, f"clicks [{label}]", "click", source=msg, timeout=timeout
        )

    async def select(
        self,
        placeholder: str,
        /,
        *values: Any,
        message: Message | Reply | None = None,
        channel: Channel | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Reply:
        """Pick options (by label or value) in a select found by placeholder or custom_id."""
        msg, comp = self._find(
            message,
            channel,
            lambda c: (
                c.get("type") in (3, 5, 6, 7, 8)
                and placeholder in (c.get("placeholder"), c.get("custom_id"))
            ),
            f"select {placeholder!r}",
        )
        resolved: dict[str, dict[str, Any]] = {}
        picked = _select_values(comp, list(values), lambda v: self._resolve_entity(v, resolved))
        data: dict[str, Any] = {
            "custom_id": comp["custom_id"],
            "component_type": comp["type"],
            "values": picked,
        }
        if resolved:
            data["resolved"] = resolved
        where = self.server.state.channels[msg.channel_id]
        shown = ", ".join(_show(v) for v in values)
        return await self._interact(
            3,
            data,
            where,
            f"selects {shown} in [{placeholder}]",
            "select",
            source=msg,
            timeout=timeout,
        )

    async def submit(
        self,
        modal: Modal | Reply | None,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> Reply:
        """Fill and submit a modal; fields by label or custom_id (keywords match labels
        case-insensitively, so mood="3" fills "Mood"); selects take option labels or values."""
        if isinstance(modal, Reply):
            modal = modal.modal
        if modal is None:
            raise DriverError("the bot did not show a modal")
        given = {**(fields or {}), **kwargs}
        used: set[str] = set()

        def lookup(label: str, comp: dict[str, Any]) -> tuple[bool, Any]:
            for key, value in given.items():
                if key == comp.get("custom_id") or key == label or _norm(key) == _norm(label):
                    used.add(key)
                    return True, value
            return False, None

        out: list[dict[str, Any]] = []
        for top in modal.data.get("components", []):
            if top.get("type") == 1:
                inner = [
                    self._fill(str(c.get("label", "")), c, lookup)
                    for c in top.get("components", [])
                ]
                out.append({"type": 1, "id": top.get("id", 0), "components": inner})
            elif top.get("type") == 18:
                out.append(
                    {
                        "type": 18,
                        "id": top.get("id", 0),
                        "component": self._fill(
                            str(top.get("label", "")), top["component"], lookup
                        ),
                    }
                )
            elif top.get("type") == 10:
                out.append({"type": 10, "id": top.get("id", 0)})
        unknown = [k for k in given if k not in used]
        if unknown:
            raise DriverError(
                f"modal {modal.title!r} has no field(s) {unknown}; fields: {modal.labels}"
            )
        data = {"custom_id": modal.custom_id, "components": out}
        origin = modal.origin
        where = self.server.state.channels[origin.channel_id]
        shown = ", ".join(f"{_norm(k)}={_show(v)}" for k, v in given.items())
        return await self._interact(
            5,
            data,
            where,
            f"submits {modal.title!r}: {shown}",
            "submit",
            source=origin.source_message,
            timeout=timeout,
        )

    def _fill(
        self,
        label: str,
        comp: dict[str, Any],
        lookup: Callable[[str, dict[str, Any]], tuple[bool, Any]],
    ) -> dict[str, Any]:
        found, value = lookup(label, comp)
        ctype = comp.get("type")
        base = {"type": ctype, "id": comp.get("id", 0), "custom_id": comp.get("custom_id")}
        if ctype == 4:
            text = str(value) if found else str(comp.get("value") or "")
            if comp.get("required", True) and not text:
                raise DriverError(f"required field {label!r} left empty")
            lo, hi = comp.get("min_length", 0), comp.get("max_length", 4000)
            if text and not lo <= len(text) <= hi:
                raise DriverError(f"field {label!r}: length must be {lo}..{hi}")
            return {**base, "value": text}
        raw = (value if isinstance(value, list | tuple) else [value]) if found else None
        if raw is None:
            picked = [o["value"] for o in comp.get("options", []) if o.get("default")]
        else:
            picked = _select_values(comp, list(raw), lambda v: self._resolve_entity(v, {}))
        if comp.get("required", True) and len(picked) < max(1, comp.get("min_values", 1)):
            raise DriverError(f"required field {label!r} left empty")
        return {**base, "values": picked}


def _select_values(
    comp: dict[str, Any], values: list[Any], entity: Callable[[Any], str]
) -> list[str]:
    if comp.get("type") != 3:
        return [entity(v) if not isinstance(v, str | int) else str(v) for v in values]
    options = comp.get("options", [])
    picked = []
    for v in values:
        match = next((o for o in options if v in (o.get("label"), o.get("value"))), None)
        if match is None:
            raise DriverError(
                f"select has no option {v!r}; options: {[o.get('label') for o in options]}"
            )
        picked.append(match["value"])
    lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
    if not lo <= len(picked) <= hi:
        raise DriverError(f"select takes {lo}..{hi} values, got {len(picked)}")
    return picked


def _show(value: Any) -> str:
    if isinstance(value, Member | Channel):
        return f"@{value.name}" if isinstance(value, Member) else f"#{value.name}"
    if isinstance(value, Role):
        return f"@{value.name}"
    return str(value)


async def together(*actions: Awaitable[T], seed: int | None = None, spread: int = 3) -> list[T]:
    """Simulated members acting at the same moment, as a live circle does.

    The actions start in an order shuffled by `seed` and each yields to the event loop a
    random 0..`spread` times before starting, so their requests interleave differently for
    each seed; results come back in the order given. The first failure is raised once all
    have finished, so no action is left running behind a failed test.
    """
    rng = random.Random(seed)
    order = list(range(len(actions)))
    rng.shuffle(order)
    delays = [rng.randint(0, spread) for _ in actions]

    async def staggered(index: int) -> T:
        for _ in range(delays[index]):
            await asyncio.sleep(0)
        return await actions[index]

    tasks = {index: asyncio.ensure_future(staggered(index)) for index in order}
    await asyncio.wait(tasks.values())
    return [tasks[index].result() for index in range(len(actions))]
