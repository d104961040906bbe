"""REST routes under /api/v10: login, command sync, guilds, channels, messages, DMs, threads.

A middleware gives every response Discord's shape: exact `application/json`, rate-limit
headers, 401 for a bad token, JSON 404 for unknown routes (logged so missing routes are
easy to spot) and `ApiError`s rendered as Discord error bodies.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.localdiscord.gateway import GUILD_MESSAGES_INTENT
from bot.localdiscord.messages import (
    BODY_CHECK,
    ApiError,
    apply_edit,
    new_message,
    not_found,
    read_body,
)
from bot.localdiscord.state import (
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DM,
    EMBED_LINKS,
    GUILD_TEXT,
    MANAGE_CHANNELS,
    MANAGE_THREADS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    RECIPIENT_ADD,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
    Command,
    Guild,
    Message,
)
from bot.localdiscord.transcript import Event, message_event
from bot.localdiscord.validation import FormErrors, validate_commands, validate_message

if TYPE_CHECKING:
    from bot.localdiscord.server import LocalDiscord

log = logging.getLogger(__name__)
PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVER_KEY: web.AppKey[LocalDiscord] = web.AppKey("server")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Exactly `application/json`: discord.py only decodes bodies with that content type."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def srv(request: web.Request) -> LocalDiscord:
    return request.app[SERVER_KEY]


def _interaction_endpoint(canonical: str) -> bool:
    """The initial response and the webhook routes an interaction token opens (original
    response, followups): Discord does not bind them to the bot's global rate limit."""
    return canonical.startswith(("/interactions/", "/webhooks/{application_id}/{token}"))


@web.middleware
async def discord_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    server = srv(request)
    if not request.path.startswith(PREFIX):
        return await handler(request)
    exc = request.match_info.http_exception
    if exc is not None:
        server.unknown_routes.append(f"{request.method} {request.path}")
        log.warning("localdiscord: unknown route %s %s", request.method, request.path)
        return json_response({"message": "404: Not Found", "code": 0}, 404)
    resource = request.match_info.route.resource
    canonical = resource.canonical.removeprefix(PREFIX) if resource else request.path
    route = f"{request.method} {canonical}"
    server.requests.append(route)
    public = canonical.startswith(("/interactions", "/webhooks"))
    if not public and request.headers.get("Authorization") != f"Bot {server.token}":
        return json_response({"message": "401: Unauthorized", "code": 0}, 401)
    info = request.match_info
    major = info.get("channel_id") or info.get("guild_id") or info.get("token") or ""
    decision = server.ratelimiter.check(
        route, major, exempt_global=_interaction_endpoint(canonical)
    )
    if decision.limited:
        headers = {**decision.headers, "Via": "1.1 google"}
        return json_response(decision.body(), 429, headers)
    held_body = await _json_body(request) if server.faults.active else {}
    if await server.faults.wait(route, "before", held_body) and _client_gone(request):
        return json_response({"message": "client went away", "code": 0}, 499)
    try:
        response = await handler(request)
    except ApiError as e:
        server.refused.append((route, e.status, e.code))
        response = json_response(e.body, e.status)
    finally:
        server.changed()
    await server.faults.wait(route, "after", held_body)
    response.headers.update(decision.headers)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The JSON body for matching holds (multipart bodies are left for the handler to read)."""
    if request.content_type != "application/json" or not request.body_exists:
        return {}
    text = await request.text()  # aiohttp caches it: the handler reads it again
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def build_app(server: LocalDiscord) -> web.Application:
    from bot.localdiscord import rest_interactions, voice

    app = web.Application(middlewares=[discord_middleware], client_max_size=64 * 1024 * 1024)
    app[SERVER_KEY] = server
    if server.spec is not None:
        app[BODY_CHECK] = check_against_spec
    app.router.add_get("/gateway", server.gateway.handle)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/users/@me", get_me),
        ("GET", "/oauth2/applications/@me", get_application),
        ("GET", "/applications/@me", get_application),
        ("GET", "/gateway", get_gateway),
        ("GET", "/gateway/bot", get_gateway),
        ("POST", "/users/@me/channels", open_dm),
        ("DELETE", "/users/@me/guilds/{guild_id}", leave_guild),
        ("GET", "/users/{user_id}", get_user),
        ("GET", "/applications/{application_id}/commands", get_commands),
        ("PUT", "/applications/{application_id}/commands", put_commands),
        ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", get_commands),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", put_commands),
        ("GET", "/guilds/{guild_id}", get_guild),
        ("GET", "/guilds/{guild_id}/members/{user_id}", get_member),
        ("GET", "/guilds/{guild_id}/members", list_members),
        ("GET", "/guilds/{guild_id}/roles", get_roles),
        ("GET", "/guilds/{guild_id}/channels", get_guild_channels),
        ("POST", "/guilds/{guild_id}/channels", create_guild_channel),
        ("GET", "/guilds/{guild_id}/threads/active", active_threads),
        ("GET", "/channels/{channel_id}", get_channel),
        ("PATCH", "/channels/{channel_id}", patch_channel),
        ("DELETE", "/channels/{channel_id}", delete_channel),
        ("GET", "/channels/{channel_id}/messages", list_messages),
        ("POST", "/channels/{channel_id}/messages", send_message),
        ("GET", "/channels/{channel_id}/messages/{message_id}", get_message),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message),
        ("POST", "/channels/{channel_id}/typing", ok_no_content),
        (
            "PUT",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            ok_no_content,
        ),
        ("PUT", "/channels/{channel_id}/pins/{message_id}", ok_no_content),
        ("POST", "/channels/{channel_id}/threads", create_thread),
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads", create_thread),
        ("PUT", "/channels/{channel_id}/thread-members/{user_id}", add_thread_member),
        ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", remove_thread_member),
        *rest_interactions.ROUTES,
        *voice.ROUTES,
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, handler)
    return app


def check_against_spec(request: web.Request, body: Any) -> None:
    """Refuse a body that does not conform to Discord's OpenAPI spec (see openapi.py)."""
    spec = srv(request).spec
    resource = request.match_info.route.resource
    if spec is None or resource is None:
        return
    path = resource.canonical.removeprefix(PREFIX)
    errors = spec.check(request.method, path, body)
    if errors:
        log.warning("localdiscord: %s %s does not conform to the spec", request.method, path)
        raise_form(errors)


# -- lookups -----------------------------------------------------------------------------
def guild_of(request: web.Request) -> Guild:
    guild = srv(request).state.guilds.get(int(request.match_info["guild_id"]))
    if guild is None:
        raise not_found("Guild", 10004)
    if not guild.bot_present:
        raise ApiError(403, 50001, "Missing Access")
    return guild


def channel_of(request: web.Request) -> Channel:
    server = srv(request)
    channel = server.state.channels.get(int(request.match_info["channel_id"]))
    if channel is None:
        raise not_found("Channel", 10003)
    guild = server.state.guild_of(channel)
    if guild is not None:
        if not guild.bot_present:
            raise ApiError(403, 50001, "Missing Access")
        if not guild.channel_permissions(server.state.bot.id, channel) & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
    return channel


def message_of(request: web.Request, channel: Channel) -> Message:
    mid = int(request.match_info["message_id"])
    for message in channel.visible_messages():
        if message.id == mid:
            return message
    raise not_found("Message", 10008)


def require(guild: Guild | None, channel: Channel, perms: int, bot_id: int) -> None:
    if guild is not None and guild.channel_permissions(bot_id, channel) & perms != perms:
        raise ApiError(403, 50013, "Missing Permissions")


def apply_content_permissions(
    guild: Guild | None, channel: Channel, body: dict[str, Any], files: list[Any], bot_id: int
) -> bool:
    """Attach Files and Embed Links on channel sends and edits, as Discord applies them:
    files without Attach Files are refused (403, 50013); embeds without Embed Links are
    dropped, so an embed-only message becomes empty (400, 50006). Interaction responses
    and followups are webhook messages and not subject to the bot's channel permissions.
    True when embeds were dropped."""
    if guild is None:
        return False
    perms = guild.channel_permissions(bot_id, channel)
    if files and not perms & ATTACH_FILES:
        raise ApiError(403, 50013, "Missing Permissions")
    if body.get("embeds") and not perms & EMBED_LINKS:
        body["embeds"] = []
        return True
    return False


def check_thread_member_change(
    guild: Guild, thread: Channel, bot_id: int, user_id: int, *, add: bool
) -> None:
    """Discord's documented rules for PUT/DELETE /channels/{thread}/thread-members/{user}:
    never on an archived thread; a private thread is out of sight unless the bot is in it or
    has Manage Threads; adding another member needs Send Messages in Threads; removing
    another member needs Manage Threads or being the thread's creator. (`invitable: false`
    is not enforced on adds: the docs define it for non-moderators but the Add Thread
    Member endpoint does not list it, and it is unverified whether the creator is exempt.)"""
    if thread.archived:
        raise ApiError(400, 50083, "Thread is archived")
    perms = guild.channel_permissions(bot_id, thread)
    moderator = bool(perms & MANAGE_THREADS)
    private = thread.type == PRIVATE_THREAD
    if private and not moderator and bot_id not in thread.thread_member_ids and user_id != bot_id:
        raise ApiError(403, 50001, "Missing Access")
    if user_id == bot_id:
        return
    if add:
        allowed = bool(perms & SEND_MESSAGES_IN_THREADS)
    else:
        allowed = moderator or thread.owner_id == bot_id
    if not allowed:
        raise ApiError(403, 50013, "Missing Permissions")


def raise_form(errors: FormErrors) -> None:
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors.body())


# -- login ---------------------------------------------------------------------------------
async def ok_no_content(request: web.Request) -> web.Response:
    return no_content()


async def get_me(request: web.Request) -> web.Response:
    data = srv(request).state.bot.payload()
    data.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
    return json_response(data)


async def get_user(request: web.Request) -> web.Response:
    raw = request.match_info["user_id"]
    user = srv(request).state.users.get(int(raw)) if raw.isdigit() else None
    if user is None:
        raise not_found("User", 10013)
    return json_response(user.payload())


async def get_application(request: web.Request) -> web.Response:
    server = srv(request)
    app = server.application
    return json_response(
        {
            "id": str(app.id),
            "name": app.name,
            "description": "",
            "icon": None,
            "cover_image": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": server.owner.payload(),
            "team": None,
            "verify_key": secrets.token_hex(32),
            "flags": 0,
            "summary": "",
            "bot": app.user.payload(),
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(server.state.guilds),
            "integration_types_config": {"0": {}, "1": {}},
        }
    )


async def get_gateway(request: web.Request) -> web.Response:
    server = srv(request)
    if request.path.endswith("/gateway"):  # GET /gateway: the URL alone, no token needed
        return json_response({"url": server.gateway_url})
    remaining = max(0, 1000 - server.gateway.identify_count)
    limit = {
        "total": 1000,
        "remaining": remaining,
        "reset_after": 86400000,
        "max_concurrency": server.max_concurrency,
    }
    return json_response(
        {"url": server.gateway_url, "shards": server.shards, "session_start_limit": limit}
    )


# -- application commands ----------------------------------------------------------------
def command_scope(request: web.Request) -> int | None:
    server = srv(request)
    if int(request.match_info["application_id"]) != server.application.id:
        raise ApiError(403, 50001, "Missing Access")
    if "guild_id" not in request.match_info:
        return None
    guild = server.state.guilds.get(int(request.match_info["guild_id"]))
    if guild is None or not guild.bot_present:
        raise ApiError(403, 50001, "Missing Access")
    return guild.id


def normalize_command(data: dict[str, Any], guild_id: int | None) -> dict[str, Any]:
    out = {
        "type": 1,
        "name_localizations": None,
        "description": "",
        "description_localizations": None,
        "options": [],
        "default_member_permissions": None,
        "nsfw": False,
        "integration_types": [0],
    }
    out.update(
        {k: v for k, v in data.items() if v is not None or k == "default_member_permissions"}
    )
    if guild_id is None:
        out.setdefault("dm_permission", True)
        out.setdefault("contexts", None)
    return out


async def get_commands(request: web.Request) -> web.Response:
    scope = command_scope(request)
    return json_response([c.payload() for c in srv(request).state.commands.get(scope, [])])


async def put_commands(request: web.Request) -> web.Response:
    server = srv(request)
    scope = command_scope(request)
    body, _ = await read_body(request, server.state)
    server.state.sync_counts[scope] = server.state.sync_counts.get(scope, 0) + 1
    raise_form(validate_commands(body))
    assert isinstance(body, list)
    state = server.state
    old = {(c.type, c.name): c for c in state.commands.get(scope, [])}
    commands = []
    for item in body:
        data = normalize_command(item, scope)
        key = (int(data["type"]), str(data["name"]))
        prev = old.get(key)
        version = prev.version if prev is not None and prev.data == data else state.next_version()
        commands.append(Command(state.command_id(scope, *key), state.app_id, scope, data, version))
    state.commands[scope] = commands
    where = "global" if scope is None else state.guilds[scope].name
    names = ", ".join(f"/{c.name}" for c in commands)
    server.record(Event("sync", "bot", where, content=f"{len(commands)} commands: {names}"))
    return json_response([c.payload() for c in commands])


# -- guilds --------------------------------------------------------------------------------
async def get_guild(request: web.Request) -> web.Response:
    server = srv(request)
    guild = guild_of(request)
    data = guild.payload(server.state.bot.id)
    for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
        data.pop(key, None)
    data["approximate_member_count"] = len(guild.members)
    return json_response(data)


async def get_member(request: web.Request) -> web.Response:
    guild = guild_of(request)
    raw = request.match_info["user_id"]
    member = guild.members.get(int(raw)) if raw.isdigit() else None
    if member is None:
        raise not_found("Member", 10007)
    return json_response(member.payload())


async def list_members(request: web.Request) -> web.Response:
    guild = guild_of(request)
    limit = int(request.query.get("limit", "1"))
    after = int(request.query.get("after", "0"))
    members = sorted(
        (m for m in guild.members.values() if m.user.id > after), key=lambda m: m.user.id
    )
    return json_response([m.payload() for m in members[:limit]])


async def get_roles(request: web.Request) -> web.Response:
    return json_response([r.payload() for r in guild_of(request).roles.values()])


async def get_guild_channels(request: web.Request) -> web.Response:
    server = srv(request)
    guild = guild_of(request)
    return json_response(
        [c.payload(server.state.bot.id) for c in guild.channels.values() if not c.is_thread]
    )


async def create_guild_channel(request: web.Request) -> web.Response:
    server = srv(request)
    guild = guild_of(request)
    if not guild.base_permissions(server.state.bot.id) & MANAGE_CHANNELS:
        raise ApiError(403, 50013, "Missing Permissions")
    body, _ = await read_body(request, server.state)
    parent = int(body["parent_id"]) if body.get("parent_id") else None
    channel = server.state.new_channel(
        guild, body.get("name", "channel"), int(body.get("type", GUILD_TEXT)), parent_id=parent
    )
    for ow in body.get("permission_overwrites") or []:
        if int(ow.get("deny", 0)):
            channel.denied[int(ow["id"])] = int(ow["deny"])
    await server.dispatch("CHANNEL_CREATE", channel.payload())
    server.record(Event("channel", "bot", f"#{channel.name}", content=f"created #{channel.name}"))
    return json_response(channel.payload(), 201)


async def leave_guild(request: web.Request) -> web.Response:
    server = srv(request)
    guild = guild_of(request)
    await server.remove_bot_from_guild(server.guild(guild.id))
    return no_content()


async def active_threads(request: web.Request) -> web.Response:
    server = srv(request)
    guild = guild_of(request)
    threads = [
        c.payload(server.state.bot.id)
        for c in guild.channels.values()
        if c.is_thread and not c.archived
    ]
    return json_response({"threads": threads, "members": []})


# -- channels and messages -------------------------------------------------------------------
async def get_channel(request: web.Request) -> web.Response:
    server = srv(request)
    return json_response(channel_of(request).payload(server.state.bot.id))


async def patch_channel(request: web.Request) -> web.Response:
    server = srv(request)
    channel = channel_of(request)
    body, _ = await read_body(request, server.state)
    guild = server.state.guild_of(channel)
    needed = (
        MANAGE_THREADS
        if channel.is_thread and channel.owner_id != server.state.bot.id
        else MANAGE_CHANNELS
    )
    if (
        channel.is_thread
        and set(body) <= {"archived", "auto_archive_duration"}
        and channel.owner_id == server.state.bot.id
    ):
        needed = 0
    require(guild, channel, needed, server.state.bot.id)
    for key in ("name", "archived", "locked", "auto_archive_duration", "invitable"):
        if key in body:
            setattr(channel, key, body[key])
    event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
    await server.dispatch(event, channel.payload(server.state.bot.id))
    changes = ", ".join(f"{k}={v}" for k, v in body.items())
    server.record(Event("channel_update", "bot", server.where(channel), content=changes))
    return json_response(channel.payload(server.state.bot.id))


async def delete_channel(request: web.Request) -> web.Response:
    server = srv(request)
    channel = channel_of(request)
    guild = server.state.guild_of(channel)
    require(
        guild,
        channel,
        MANAGE_THREADS if channel.is_thread else MANAGE_CHANNELS,
        server.state.bot.id,
    )
    if guild is not None:
        guild.channels.pop(channel.id, None)
    server.state.channels.pop(channel.id, None)
    payload = channel.payload(server.state.bot.id)
    await server.dispatch("THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE", payload)
    server.record(Event("channel_delete", "bot", server.where(channel)))
    return json_response(payload)


async def list_messages(request: web.Request) -> web.Response:
    channel = channel_of(request)
    limit = min(100, int(request.query.get("limit", "50")))
    before = int(request.query.get("before", "0")) or None
    after = int(request.query.get("after", "0")) or None
    messages = [
        m
        for m in channel.visible_messages()
        if (before is None or m.id < before) and (after is None or m.id > after)
    ]
    chosen = messages[:limit] if after is not None and before is None else messages[-limit:]
    return json_response([m.payload() for m in reversed(chosen)])


async def send_message(request: web.Request) -> web.Response:
    server = srv(request)
    channel = channel_of(request)
    state = server.state
    guild = state.guild_of(channel)
    require(
        guild,
        channel,
        SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES,
        state.bot.id,
    )
    body, files = await read_body(request, state)
    raise_form(validate_message(body))
    apply_content_permissions(guild, channel, body, files, state.bot.id)
    if not any(
        (
            body.get("content"),
            body.get("embeds"),
            body.get("components"),
            files,
            body.get("sticker_ids"),
        )
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if channel.type == DM and channel.recipient is not None and channel.recipient.dms_closed:
        server.record(
            Event(
                "dm_refused",
                "bot",
                server.where(channel),
                target=channel.recipient.username,
                content=str(body.get("content") or ""),
            )
        )
        raise ApiError(403, 50007, "Cannot send messages to this user")
    if channel.is_thread and channel.archived:
        if channel.locked:
            raise ApiError(400, 50083, "Thread is archived")
        channel.archived = False
    earlier = _enforced_nonce_match(server, body)
    if earlier is not None:
        return json_response(earlier.payload())
    message = new_message(
        state, body, files, channel_id=channel.id, guild_id=channel.guild_id, author=state.bot
    )
    if body.get("nonce") is not None:
        message.nonce = str(body["nonce"])
        server.state.nonces[(state.bot.id, message.nonce)] = (message, time.monotonic())
    await server.store_message(channel, message)
    return json_response(message.payload())


def _enforced_nonce_match(server: LocalDiscord, body: dict[str, Any]) -> Message | None:
    """With `enforce_nonce`, the same author's message with this nonce from the last few
    minutes is returned instead of creating another (Discord's documented behaviour)."""
    nonce = body.get("nonce")
    if nonce is None or not body.get("enforce_nonce"):
        return None
    found = server.state.nonces.get((server.state.bot.id, str(nonce)))
    if found is None or time.monotonic() - found[1] > server.nonce_window:
        return None
    return found[0]


async def get_message(request: web.Request) -> web.Response:
    channel = channel_of(request)
    return json_response(message_of(request, channel).payload())


async def edit_message(request: web.Request) -> web.Response:
    server = srv(request)
    channel = channel_of(request)
    message = message_of(request, channel)
    if message.author.id != server.state.bot.id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    body, files = await read_body(request, server.state)
    raise_form(validate_message(body))
    guild = server.state.guild_of(channel)
    if apply_content_permissions(guild, channel, body, files, server.state.bot.id) and not (
        body.get("content", message.content) or body.get("components", message.components)
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    apply_edit(server.state, message, body, files)
    server.record(message_event("edit", message, where=server.where(channel)))
    await server.dispatch("MESSAGE_UPDATE", message.payload())
    return json_response(message.payload())


async def delete_message(request: web.Request) -> web.Response:
    server = srv(request)
    channel = channel_of(request)
    message = message_of(request, channel)
    if message.author.id != server.state.bot.id:
        require(server.state.guild_of(channel), channel, 1 << 13, server.state.bot.id)
    message.deleted = True
    server.record(
        Event("deleted", "bot", server.where(channel), detail={"message_id": str(message.id)})
    )
    data = {"id": str(message.id), "channel_id": str(channel.id)}
    if channel.guild_id:
        data["guild_id"] = str(channel.guild_id)
    await server.dispatch("MESSAGE_DELETE", data)
    return no_content()


# -- DMs -----------------------------------------------------------------------------------
async def open_dm(request: web.Request) -> web.Response:
    server = srv(request)
    body, _ = await read_body(request, server.state)
    user = server.state.users.get(int(body.get("recipient_id") or 0))
    if user is None or user.bot:
        raise ApiError(400, 50033, "Invalid Recipient(s)")
    channel = server.state.dm_channel(user)
    return json_response(channel.payload())


# -- threads -------------------------------------------------------------------------------
async def create_thread(request: web.Request) -> web.Response:
    server = srv(request)
    state = server.state
    parent = channel_of(request)
    guild = state.guild_of(parent)
    if guild is None or parent.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body, _ = await read_body(request, state)
    name = body.get("name")
    errors = FormErrors()
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        errors.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    raise_form(errors)
    assert isinstance(name, str)
    source: Message | None = None
    if "message_id" in request.match_info:
        source = message_of(request, parent)
        if source.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        ttype = PUBLIC_THREAD
    else:
        ttype = int(body.get("type", PRIVATE_THREAD))
    require(
        guild,
        parent,
        CREATE_PRIVATE_THREADS if ttype == PRIVATE_THREAD else CREATE_PUBLIC_THREADS,
        state.bot.id,
    )
    active = sum(1 for c in guild.channels.values() if c.is_thread and not c.archived)
    if active >= server.max_active_threads:
        raise ApiError(400, 160006, "Maximum number of active threads reached")
    thread = Channel(
        source.id if source else state.ids.next(),
        ttype,
        name,
        guild.id,
        parent_id=parent.id,
        owner_id=state.bot.id,
        auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
        invitable=bool(body.get("invitable", True)),
        thread_member_ids={state.bot.id},
    )
    if source is not None:
        source.thread_id = thread.id
    guild.channels[thread.id] = thread
    state.channels[thread.id] = thread
    payload = thread.payload(state.bot.id)
    await server.dispatch("THREAD_CREATE", {**payload, "newly_created": True})
    kind = "private" if ttype == PRIVATE_THREAD else "public"
    server.record(
        Event(
            "thread",
            "bot",
            server.where(parent),
            content=name,
            detail={"type": kind, "thread_id": str(thread.id)},
        )
    )
    return json_response(payload, 201)


async def add_thread_member(request: web.Request) -> web.Response:
    return await _thread_member(request, add=True)


async def remove_thread_member(request: web.Request) -> web.Response:
    return await _thread_member(request, add=False)


async def _thread_member(request: web.Request, *, add: bool) -> web.Response:
    server = srv(request)
    state = server.state
    thread = channel_of(request)
    if not thread.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    raw = request.match_info["user_id"]
    user_id = state.bot.id if raw == "@me" else int(raw)
    guild = state.guild_of(thread)
    if guild is None or user_id not in guild.members:
        raise not_found("Member", 10007)
    check_thread_member_change(guild, thread, state.bot.id, user_id, add=add)
    if add:
        thread.thread_member_ids.add(user_id)
    else:
        thread.thread_member_ids.discard(user_id)
    member = {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": guild.members[user_id].joined_at,
        "flags": 0,
    }
    update: dict[str, Any] = {
        "id": str(thread.id),
        "guild_id": str(guild.id),
        "member_count": len(thread.thread_member_ids),
    }
    update["added_members" if add else "removed_member_ids"] = [member] if add else [str(user_id)]
    if user_id == state.bot.id or server.gateway.wants_members():
        await server.dispatch("THREAD_MEMBERS_UPDATE", update)
    if add and user_id != state.bot.id:
        # Everyone in the thread sees "<bot> added <member> to the thread." (type 1).
        notice = Message(
            state.ids.next(),
            thread.id,
            state.bot,
            guild_id=guild.id,
            type=RECIPIENT_ADD,
            mentions=[guild.members[user_id].user],
        )
        thread.messages.append(notice)  # the thread_member event below records it
        await server.dispatch("MESSAGE_CREATE", notice.payload(), intent=GUILD_MESSAGES_INTENT)
    verb = "added" if add else "removed"
    server.record(
        Event(
            "thread_member",
            "bot",
            server.where(thread),
            content=f"{verb} {server.user_name(user_id)}",
        )
    )
    return no_content()
