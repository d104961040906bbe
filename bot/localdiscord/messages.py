"""Request bodies for messages: JSON or multipart (payload_json + files[n]) → `Message`.

Shared by channel sends, interaction callbacks and webhook followups so all three store
attachments, mentions and flags the same way.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.localdiscord.state import Attachment, Message, State, User

MENTION_RE = re.compile(r"<@!?(\d+)>")
# Set by the server when it validates bodies against Discord's OpenAPI spec: called with
# the request and its JSON body (or a multipart body's payload_json); raises ApiError.
BODY_CHECK: web.AppKey[Callable[[web.Request, Any], None]] = web.AppKey("body_check")


class ApiError(Exception):
    """Raised by handlers; rendered as Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.body = body or {"message": message, "code": code}


def not_found(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


async def read_body(request: web.Request, state: State) -> tuple[dict[str, Any], list[Attachment]]:
    """Parse JSON or multipart (checked against the spec when the server does that);
    file parts become attachments in `files[n]` order."""
    has_body = request.can_read_body
    body, files = await _parse_body(request, state)
    check = request.app.get(BODY_CHECK)
    if check is not None and has_body:
        check(request, body)
    return body, files


async def _parse_body(
    request: web.Request, state: State
) -> tuple[dict[str, Any], list[Attachment]]:
    if not request.can_read_body:
        return {}, []
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        payload = json.loads(str(form.get("payload_json") or "{}"))
        meta = {str(a.get("id")): a for a in payload.get("attachments") or []}
        files: list[Attachment] = []
        for key, value in form.items():
            if not isinstance(value, web.FileField):
                continue
            index = key.removeprefix("files[").removesuffix("]")
            content = value.file.read()
            desc = meta.get(index, {}).get("description")
            files.append(
                Attachment(state.ids.next(), value.filename, content, value.content_type, desc)
            )
        return payload, files
    text = await request.text()
    return (json.loads(text) if text else {}), []


def mentioned_users(state: State, payload: dict[str, Any]) -> list[User]:
    """Users a message would actually ping, after `allowed_mentions`."""
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    ids = [int(i) for i in MENTION_RE.findall(content)]
    if allowed is not None:
        parse = allowed.get("parse") or []
        listed = {int(u) for u in allowed.get("users") or []}
        ids = [i for i in ids if "users" in parse or i in listed]
    return [state.users[i] for i in dict.fromkeys(ids) if i in state.users]


def new_message(
    state: State,
    payload: dict[str, Any],
    files: list[Attachment],
    *,
    channel_id: int,
    guild_id: int | None,
    author: User,
    **extra: Any,
) -> Message:
    return Message(
        id=state.ids.next(),
        channel_id=channel_id,
        guild_id=guild_id,
        author=author,
        content=payload.get("content") or "",
        embeds=list(payload.get("embeds") or []),
        components=list(payload.get("components") or []),
        attachments=files,
        flags=int(payload.get("flags") or 0),
        allowed_mentions=payload.get("allowed_mentions"),
        mentions=mentioned_users(state, payload),
        **extra,
    )


def apply_edit(
    state: State, message: Message, payload: dict[str, Any], files: list[Attachment]
) -> None:
    """PATCH semantics: only keys present change; `attachments` lists the ones to keep."""
    if "content" in payload:
        message.content = payload["content"] or ""
        message.mentions = mentioned_users(state, payload)
    if "embeds" in payload:
        message.embeds = list(payload["embeds"] or [])
    if "components" in payload:
        message.components = list(payload["components"] or [])
    if "allowed_mentions" in payload:
        message.allowed_mentions = payload["allowed_mentions"]
    if "attachments" in payload:
        keep = {str(a.get("id")) for a in payload["attachments"] or []}
        message.attachments = [a for a in message.attachments if str(a.id) in keep]
    message.attachments += files
    if "flags" in payload and payload["flags"] is not None:
        message.flags = (message.flags & (1 << 6)) | int(payload["flags"])
    message.edited_at = time.time()
