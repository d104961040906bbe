"""In-memory world of the local Discord server: users, guilds, channels, messages, commands.

Plain data plus the payload serialisers discord.py expects. The REST routes, the gateway
and the driver all read and write this one `State`, so what a test sees is exactly what
the bot was told.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits used by the server (the full list lives in discord.Permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
MUTE_MEMBERS = 1 << 22
ALL_PERMISSIONS = (1 << 51) - 1

# @everyone in a newly created server. Discord's docs do not publish this value (the
# Permissions topic lists the flags only); 2248473465835073 is what Discord itself sent as
# the @everyone role of a fresh server in a captured GUILD_CREATE (January 2024: role
# version equal to the guild's creation, only the default channels). It grants the
# everyday member permissions (view, send, embed links, attach files, history, reactions,
# threads, application commands, voice, polls, ...) and no management bit: no Manage
# Server, Manage Roles, Manage Channels, Manage Messages, Manage Threads, Administrator.
DEFAULT_EVERYONE = 2248473465835073
# The bot's managed role when a test does not choose: a generous set for tests of the
# server itself. Circlekeeper's own tests use the README's invite permissions instead.
DEFAULT_BOT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
    | MANAGE_THREADS
    | MANAGE_MESSAGES
    | MANAGE_CHANNELS
)

# Channel types.
GUILD_TEXT, DM, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 11, 12
GUILD_VOICE = 2
THREAD_TYPES = (PUBLIC_THREAD, PRIVATE_THREAD)

# Message types the server posts itself.
RECIPIENT_ADD = 1  # "<someone> added <member> to the thread."

EPHEMERAL = 1 << 6
LOADING = 1 << 7


class Snowflakes:
    """Strictly increasing snowflakes whose timestamp part is the real time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


def iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).isoformat()


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    dms_closed: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name or self.username,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None  # set on a bot's managed role (`tags.bot_id`)

    def payload(self) -> dict[str, Any]:
        tags = {"bot_id": str(self.bot_id)} if self.bot_id is not None else {}
        return {
            "tags": tags,
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class MemberRecord:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso)
    mute: bool = False  # a server mute: it stays with the member when they leave voice
    voice_channel_id: int | None = None  # the voice channel they are connected to

    def payload(self) -> dict[str, Any]:
        return {
            "user": self.user.payload(),
            "nick": self.nick,
            "avatar": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": self.mute,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }


def voice_state_payload(member: MemberRecord, *, with_member: bool = True) -> dict[str, Any]:
    """A member's voice state, as in GUILD_CREATE (`voice_states`) and VOICE_STATE_UPDATE."""
    data: dict[str, Any] = {
        "guild_id": str(member.guild_id),
        "channel_id": None if member.voice_channel_id is None else str(member.voice_channel_id),
        "user_id": str(member.user.id),
        "session_id": f"voice-{member.user.id}",
        "deaf": False,
        "mute": member.mute,
        "self_deaf": False,
        "self_mute": False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
    }
    if with_member:
        data["member"] = member.payload()
    return data


@dataclass
class Attachment:
    id: int
    filename: str
    content: bytes
    content_type: str | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    def payload(self) -> dict[str, Any]:
        url = f"https://cdn.localdiscord.invalid/attachments/{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": url,
            "proxy_url": url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class Message:
    """A message as stored; `visible_to` is set for ephemeral messages."""

    id: int
    channel_id: int
    author: User
    guild_id: int | None = None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[User] = field(default_factory=list)
    webhook_id: int | None = None
    interaction_id: int | None = None
    visible_to: int | None = None
    created_at: float = field(default_factory=time.time)
    edited_at: float | None = None
    deleted: bool = False
    thread_id: int | None = None
    nonce: str | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def files(self) -> list[Attachment]:
        return self.attachments

    @property
    def buttons(self) -> list[str]:
        """Labels of every button on the message, in order."""
        return [c.get("label", "") for c in walk_components(self.components) if c.get("type") == 2]

    @property
    def embed(self) -> dict[str, Any] | None:
        return self.embeds[0] if self.embeds else None

    @property
    def text(self) -> str:
        """Content and embed text joined: handy for `in` assertions."""
        parts = [self.content] if self.content else []
        for e in self.embeds:
            parts += [e.get(k, "") for k in ("title", "description") if e.get(k)]
            for f in e.get("fields", []):
                parts += [f.get("name", ""), f.get("value", "")]
            if e.get("footer", {}).get("text"):
                parts.append(e["footer"]["text"])
        return "\n".join(parts)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at) if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [u.payload() for u in self.mentions],
            "mention_roles": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.thread_id is not None:
            data["thread"] = {"id": str(self.thread_id)}
        if self.nonce is not None:
            data["nonce"] = self.nonce
        return data


def walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten nested components (action rows, labels, containers, sections)."""
    out: list[dict[str, Any]] = []
    for comp in components:
        out.append(comp)
        if "components" in comp:
            out += walk_components(comp["components"])
        if "component" in comp:
            out += walk_components([comp["component"]])
        if "accessory" in comp:
            out += walk_components([comp["accessory"]])
    return out


@dataclass
class Channel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    recipient: User | None = None
    position: int = 0
    denied: dict[int, int] = field(default_factory=dict)  # member/role id -> denied bits
    allowed: dict[int, int] = field(default_factory=dict)  # member/role id -> allowed bits
    messages: list[Message] = field(default_factory=list)
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    invitable: bool = True
    thread_member_ids: set[int] = field(default_factory=set)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def visible_messages(self) -> list[Message]:
        """What everyone sees: not deleted, not ephemeral."""
        return [m for m in self.messages if not m.deleted and m.visible_to is None]

    def payload(self, bot_id: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": self.type, "flags": 0}
        shown = self.visible_messages()
        last = shown[-1].id if shown else None
        data["last_message_id"] = str(last) if last else None
        if self.type == DM:
            assert self.recipient is not None
            data["recipients"] = [self.recipient.payload()]
            return data
        data.update(
            guild_id=str(self.guild_id),
            name=self.name,
            position=self.position,
            nsfw=False,
            rate_limit_per_user=0,
            parent_id=str(self.parent_id) if self.parent_id else None,
        )
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=len(self.messages),
                total_message_sent=len(self.messages),
                member_count=len(self.thread_member_ids),
                thread_metadata={
                    "archived": self.archived,
                    "locked": self.locked,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(),
                    "invitable": self.invitable,
                    "create_timestamp": iso(),
                },
            )
            if bot_id is not None and bot_id in self.thread_member_ids:
                data["member"] = {
                    "id": str(self.id),
                    "user_id": str(bot_id),
                    "join_timestamp": iso(),
                    "flags": 0,
                }
        else:
            data["topic"] = None
            if self.type == GUILD_VOICE:
                data.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
            data["permission_overwrites"] = [
                # The guild's id is its @everyone role: a role overwrite (type 0).
                {
                    "id": str(target),
                    "type": 0 if target == self.guild_id else 1,
                    "allow": str(self.allowed.get(target, 0)),
                    "deny": str(self.denied.get(target, 0)),
                }
                for target in {**self.denied, **self.allowed}
            ]
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, MemberRecord] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    bot_present: bool = True

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def base_permissions(self, user_id: int) -> int:
        """Guild-level permissions: owner and administrators get everything."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.everyone.permissions
        for rid in member.role_ids if member else []:
            perms |= self.roles[rid].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def channel_permissions(self, user_id: int, channel: Channel) -> int:
        perms = self.base_permissions(user_id)
        if perms & ADMINISTRATOR or user_id == self.owner_id:
            return perms
        parent = self.channels.get(channel.parent_id) if channel.parent_id else None
        for ch in (parent, channel):
            if ch is None:
                continue
            member = self.members.get(user_id)
            # Discord's order: @everyone, then the member's roles, then the member.
            for target in [self.id, *(member.role_ids if member else []), user_id]:
                perms = (perms & ~ch.denied.get(target, 0)) | ch.allowed.get(target, 0)
        return perms

    def payload(self, bot_id: int, *, all_members: bool = False) -> dict[str, Any]:
        members = list(self.members.values()) if all_members else [self.members[bot_id]]
        channels = [c for c in self.channels.values() if not c.is_thread]
        threads = [c for c in self.channels.values() if c.is_thread and not c.archived]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.payload() for r in self.roles.values()],
            "member_count": len(self.members),
            "members": [m.payload() for m in members],
            "channels": [c.payload(bot_id) for c in channels],
            "threads": [c.payload(bot_id) for c in threads],
            "presences": [],
            "voice_states": [
                voice_state_payload(m, with_member=False)
                for m in self.members.values()
                if m.voice_channel_id is not None
            ],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "lazy": True,
            "joined_at": self.members[bot_id].joined_at,
            "application_id": None,
            "max_members": 500000,
        }


@dataclass
class Command:
    """A registered application command; `guild_id` is None for global ones."""

    id: int
    application_id: int
    guild_id: int | None
    data: dict[str, Any]
    version: int

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def type(self) -> int:
        return int(self.data.get("type", 1))

    def payload(self) -> dict[str, Any]:
        data = dict(self.data)
        data.update(
            id=str(self.id), application_id=str(self.application_id), version=str(self.version)
        )
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Interaction:
    """One interaction and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user: User
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    created: float = field(default_factory=time.monotonic)
    callback_type: int | None = None
    callback_at: float | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    source_message: Message | None = None
    notes: list[str] = field(default_factory=list)  # e.g. refused late callbacks
    activity: asyncio.Event = field(default_factory=asyncio.Event)
    last_activity: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        self.activity.set()


@dataclass
class State:
    app_id: int
    bot: User
    token: str
    ids: Snowflakes = field(default_factory=Snowflakes)
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    dm_channels: dict[int, Channel] = field(default_factory=dict)  # user id -> DM
    interactions: dict[str, Interaction] = field(default_factory=dict)  # token -> record
    commands: dict[int | None, list[Command]] = field(default_factory=dict)
    sync_counts: dict[int | None, int] = field(default_factory=dict)
    # (author id, nonce) -> (message, monotonic time created): Discord's `enforce_nonce`
    nonces: dict[tuple[int, str], tuple[Message, float]] = field(default_factory=dict)
    _command_ids: dict[tuple[int | None, int, str], int] = field(default_factory=dict)
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_user(self, name: str, *, bot: bool = False) -> User:
        user = User(self.ids.next(), name, bot=bot)
        self.users[user.id] = user
        return user

    def new_guild(
        self, name: str, owner: User | None = None, *, bot_permissions: int = DEFAULT_BOT
    ) -> Guild:
        gid = self.ids.next()
        owner = owner or self.new_user(f"{name} owner")
        guild = Guild(gid, name, owner.id)
        guild.roles[gid] = Role(gid, "@everyone", DEFAULT_EVERYONE)
        bot_role = Role(
            self.ids.next(),
            self.bot.username,
            bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = MemberRecord(owner, gid)
        guild.members[self.bot.id] = MemberRecord(self.bot, gid, [bot_role.id])
        self.guilds[gid] = guild
        return guild

    def new_channel(self, guild: Guild, name: str, type: int = GUILD_TEXT, **kw: Any) -> Channel:
        channel = Channel(self.ids.next(), type, name, guild.id, position=len(guild.channels), **kw)
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user: User) -> Channel:
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.ids.next(), DM, recipient=user)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None

    def command_id(self, guild_id: int | None, type_: int, name: str) -> int:
        """Discord keeps a command's id across overwrites when name and type match."""
        key = (guild_id, type_, name)
        if key not in self._command_ids:
            self._command_ids[key] = self.ids.next()
        return self._command_ids[key]

    def next_version(self) -> int:
        return self.ids.next()
