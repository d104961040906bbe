"""Voice, as far as a bot that server-mutes needs it: voice states and the member edit.

Members connect to voice channels (type 2) through the driver; the bot hears of it through
VOICE_STATE_UPDATE with the (non-privileged) voice-states intent, and finds current voice
states in GUILD_CREATE. `PATCH /guilds/{guild}/members/{user}` with `mute` needs Mute
Members (403, 50013) and a member connected to voice (400, 40032); a server mute stays
with the member after they leave voice, as in Discord.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.localdiscord.messages import ApiError, not_found, read_body
from bot.localdiscord.state import ADMINISTRATOR, MUTE_MEMBERS, MemberRecord, voice_state_payload
from bot.localdiscord.transcript import Event

if TYPE_CHECKING:
    from bot.localdiscord.server import LocalDiscord

VOICE_STATES_INTENT = 1 << 7
MEMBERS_INTENT = 1 << 1


async def announce_voice_state(server: LocalDiscord, member: MemberRecord) -> None:
    await server.dispatch(
        "VOICE_STATE_UPDATE", voice_state_payload(member), intent=VOICE_STATES_INTENT
    )


async def edit_member(request: web.Request) -> web.Response:
    from bot.localdiscord.rest import guild_of, json_response, srv

    server = srv(request)
    guild = guild_of(request)
    raw = request.match_info["user_id"]
    member = guild.members.get(int(raw)) if raw.isdigit() else None
    if member is None:
        raise not_found("Member", 10007)
    body, _ = await read_body(request, server.state)
    if "mute" in body and body["mute"] is not None:
        bot_perms = guild.base_permissions(server.state.bot.id)
        if not bot_perms & (MUTE_MEMBERS | ADMINISTRATOR):
            raise ApiError(403, 50013, "Missing Permissions")
        if member.voice_channel_id is None:
            raise ApiError(400, 40032, "Target user is not connected to voice.")
        member.mute = bool(body["mute"])
        server.record(
            Event(
                "mute" if member.mute else "unmute",
                "bot",
                f"voice of {guild.name}",
                target=member.user.username,
            )
        )
        await announce_voice_state(server, member)
    if "nick" in body:
        member.nick = body["nick"]
    data: dict[str, Any] = {**member.payload(), "guild_id": str(guild.id)}
    server.spawn(server.dispatch("GUILD_MEMBER_UPDATE", data, intent=MEMBERS_INTENT))
    return json_response(member.payload())


ROUTES = [("PATCH", "/guilds/{guild_id}/members/{user_id}", edit_member)]
