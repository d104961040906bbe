"""Interaction callbacks and webhook followups, with Discord's timing rules.

The first callback must arrive within the deadline (3 s; shorter in tests) or the token
is dead (404, 10062); a second callback is 400, 40060; followups and edits of
`@original` work for 15 minutes. A followup to a deferred ("thinking") response replaces
the loading message, as in Discord.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.localdiscord.messages import ApiError, apply_edit, new_message, read_body
from bot.localdiscord.state import EPHEMERAL, LOADING, Interaction, Message
from bot.localdiscord.transcript import Event, message_event
from bot.localdiscord.validation import FormErrors, validate_message

if TYPE_CHECKING:
    from bot.localdiscord.server import LocalDiscord

PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, AUTOCOMPLETE, MODAL = 1, 4, 5, 6, 7, 8, 9


def _server(request: web.Request) -> LocalDiscord:
    from bot.localdiscord.rest import srv

    return srv(request)


def _json(data: Any, status: int = 200) -> web.Response:
    from bot.localdiscord.rest import json_response

    return json_response(data, status)


def _form(errors: FormErrors) -> None:
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors.body())


def _modal_labels(data: dict[str, Any]) -> list[str]:
    labels = []
    for top in data.get("components") or []:
        if top.get("type") == 18:
            labels.append(str(top.get("label", "")))
        for comp in top.get("components") or []:
            labels.append(str(comp.get("label", "")))
    return labels


def interaction_metadata(inter: Interaction) -> dict[str, Any]:
    owners = {"0": str(inter.guild_id)} if inter.guild_id else {"1": str(inter.user.id)}
    return {
        "id": str(inter.id),
        "type": inter.type,
        "user": inter.user.payload(),
        "authorizing_integration_owners": owners,
    }


def _respond_message(
    server: LocalDiscord,
    inter: Interaction,
    body: dict[str, Any],
    files: list[Any],
    *,
    loading: bool,
) -> Message:
    data = dict(body)
    flags = int(data.get("flags") or 0) & EPHEMERAL
    if loading:
        data = {"flags": flags | LOADING}
    _form(validate_message(data))
    message = new_message(
        server.state,
        data,
        files,
        channel_id=inter.channel_id,
        guild_id=inter.guild_id,
        author=server.state.bot,
        webhook_id=server.application.id,
        interaction_id=inter.id,
        type=20 if inter.type == 2 else 19 if inter.type == 3 else 0,
        visible_to=inter.user.id if flags & EPHEMERAL else None,
    )
    return message


def _payload(message: Message, inter: Interaction) -> dict[str, Any]:
    data = message.payload()
    data["interaction_metadata"] = interaction_metadata(inter)
    return data


async def callback(request: web.Request) -> web.Response:
    server = _server(request)
    inter = server.state.interactions.get(request.match_info["token"])
    if inter is None or str(inter.id) != request.match_info["interaction_id"]:
        raise ApiError(404, 10062, "Unknown interaction")
    if inter.callback_type is not None:
        inter.notes.append("second callback refused: 400 already acknowledged (40060)")
        inter.touch()
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    late = time.monotonic() - inter.created
    if late > server.interaction_deadline:
        channel = server.state.channels[inter.channel_id]
        server.record(
            Event(
                "error",
                "bot",
                server.where(channel),
                target=inter.user.username,
                content=f"late acknowledgement after {late:.2f}s: Unknown interaction (10062)",
            )
        )
        inter.notes.append(f"callback after {late:.2f}s refused: 404 Unknown interaction (10062)")
        inter.touch()
        raise ApiError(404, 10062, "Unknown interaction")
    body, files = await read_body(request, server.state)
    ctype, data = int(body.get("type", 0)), body.get("data") or {}
    channel = server.state.channels[inter.channel_id]
    where, who = server.where(channel), inter.user.username
    resource: dict[str, Any] = {"type": ctype}
    if ctype in (MESSAGE, DEFERRED_MESSAGE):
        message = _respond_message(server, inter, data, files, loading=ctype == DEFERRED_MESSAGE)
        inter.original = message
        inter.callback_type = ctype
        deferred = {"deferred": True} if ctype == DEFERRED_MESSAGE else {}
        await server.store_message(channel, message, kind="reply", target=who, detail=deferred)
        resource["message"] = _payload(message, inter)
    elif ctype == UPDATE:
        source = inter.source_message
        if source is None:
            raise ApiError(400, 40043, "This interaction type does not support this callback")
        _form(validate_message(data))
        apply_edit(server.state, source, data, files)
        inter.callback_type, inter.original = ctype, source
        server.record(message_event("update", source, where=where, target=who))
        if source.visible_to is None:
            await server.dispatch("MESSAGE_UPDATE", source.payload())
        resource["message"] = _payload(source, inter)
    elif ctype == DEFERRED_UPDATE:
        if inter.source_message is None:
            raise ApiError(400, 40043, "This interaction type does not support this callback")
        # As in Discord, @original is then the message whose component was used.
        inter.callback_type, inter.original = ctype, inter.source_message
        server.record(Event("ack", "bot", where, target=who, content="(acknowledged)"))
    elif ctype == AUTOCOMPLETE:
        choices = data.get("choices") or []
        errors = FormErrors()
        if len(choices) > 25:
            errors.add(
                ("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        _form(errors)
        inter.callback_type, inter.choices = ctype, choices
        summary = ", ".join(str(c.get("name")) for c in choices)
        server.record(
            Event("choices", "bot", where, target=who, detail={"summary": summary or "(none)"})
        )
    elif ctype == MODAL:
        errors = FormErrors()
        if not 1 <= len(data.get("title") or "") <= 45:
            errors.add(
                ("data", "title"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."
            )
        if not 1 <= len(data.get("components") or []) <= 5:
            errors.add(
                ("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
            )
        _form(errors)
        inter.callback_type, inter.modal = ctype, data
        server.record(
            Event(
                "modal",
                "bot",
                where,
                target=who,
                content=data.get("title", ""),
                detail={"summary": "fields: " + ", ".join(_modal_labels(data))},
            )
        )
    else:
        raise ApiError(400, 50035, "Invalid Form Body", FormErrors().body())
    inter.callback_at = time.monotonic()
    inter.touch()
    if "with_response" not in request.query:
        return web.Response(status=204)
    original = inter.original if ctype in (MESSAGE, DEFERRED_MESSAGE, UPDATE) else None
    info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
    if original is not None:
        info.update(
            response_message_id=str(original.id),
            response_message_loading=ctype == DEFERRED_MESSAGE,
            response_message_ephemeral=original.ephemeral,
        )
    result: dict[str, Any] = {"interaction": info, "resource": resource}
    return _json(result)


def _followup_interaction(request: web.Request) -> Interaction:
    server = _server(request)
    inter = server.state.interactions.get(request.match_info["token"])
    if inter is None or request.match_info["application_id"] != str(server.application.id):
        raise ApiError(404, 10015, "Unknown Webhook")
    if time.monotonic() - inter.created > server.followup_window:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    if inter.callback_type is None:
        raise ApiError(404, 10015, "Unknown Webhook")
    return inter


def _find(inter: Interaction, message_id: str) -> Message:
    if message_id == "@original":
        if inter.original is None or inter.original.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return inter.original
    for message in inter.followups:
        if str(message.id) == message_id and not message.deleted:
            return message
    raise ApiError(404, 10008, "Unknown Message")


async def followup(request: web.Request) -> web.Response:
    server = _server(request)
    inter = _followup_interaction(request)
    body, files = await read_body(request, server.state)
    _form(validate_message(body))
    channel = server.state.channels[inter.channel_id]
    original = inter.original
    if original is not None and original.flags & LOADING:
        # The first followup after a deferral fills in the "thinking" message.
        apply_edit(server.state, original, body, files)
        original.flags &= ~LOADING
        message = original
        server.record(
            message_event(
                "followup", message, where=server.where(channel), target=inter.user.username
            )
        )
        if message.visible_to is None:
            await server.dispatch("MESSAGE_UPDATE", message.payload())
    else:
        message = _respond_message(server, inter, body, files, loading=False)
        inter.followups.append(message)
        await server.store_message(channel, message, kind="followup", target=inter.user.username)
    inter.touch()
    if request.query.get("wait") in ("true", "1", "True"):
        return _json(_payload(message, inter))
    return web.Response(status=204)


async def get_webhook_message(request: web.Request) -> web.Response:
    inter = _followup_interaction(request)
    return _json(_payload(_find(inter, request.match_info["message_id"]), inter))


async def edit_webhook_message(request: web.Request) -> web.Response:
    server = _server(request)
    inter = _followup_interaction(request)
    message = _find(inter, request.match_info["message_id"])
    body, files = await read_body(request, server.state)
    _form(validate_message(body))
    body.pop("flags", None)
    apply_edit(server.state, message, body, files)
    message.flags &= ~LOADING
    channel = server.state.channels[message.channel_id]
    server.record(
        message_event("edit", message, where=server.where(channel), target=inter.user.username)
    )
    if message.visible_to is None:
        await server.dispatch("MESSAGE_UPDATE", message.payload())
    inter.touch()
    return _json(_payload(message, inter))


async def delete_webhook_message(request: web.Request) -> web.Response:
    server = _server(request)
    inter = _followup_interaction(request)
    message = _find(inter, request.match_info["message_id"])
    message.deleted = True
    channel = server.state.channels[message.channel_id]
    server.record(
        Event(
            "deleted",
            "bot",
            server.where(channel),
            target=inter.user.username,
            detail={"message_id": str(message.id)},
        )
    )
    if message.visible_to is None:
        data = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id:
            data["guild_id"] = str(channel.guild_id)
        await server.dispatch("MESSAGE_DELETE", data)
    inter.touch()
    return web.Response(status=204)


_HOOK = "/webhooks/{application_id}/{token}"
ROUTES = [
    ("POST", "/interactions/{interaction_id}/{token}/callback", callback),
    ("POST", _HOOK, followup),
    ("GET", _HOOK + "/messages/{message_id}", get_webhook_message),
    ("PATCH", _HOOK + "/messages/{message_id}", edit_webhook_message),
    ("DELETE", _HOOK + "/messages/{message_id}", delete_webhook_message),
]
