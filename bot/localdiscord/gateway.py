"""The Gateway over WebSocket: HELLO, IDENTIFY → READY + GUILD_CREATEs, heartbeats, RESUME.

Each connection gets its own zlib compressor with a sync flush after every payload
(what discord.py's `zlib-stream` decoder expects); a plain-text connection is served
when the client does not ask for compression. Sessions outlive their sockets so a
dropped client can RESUME and receive the events it missed, in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.localdiscord.state import State

log = logging.getLogger(__name__)

HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, RESUME, RECONNECT = 10, 2, 1, 11, 6, 7
INVALID_SESSION, REQUEST_MEMBERS, DISPATCH = 9, 8, 0
MEMBERS_INTENT = 1 << 1
PRESENCES_INTENT = 1 << 8
MESSAGE_CONTENT_INTENT = 1 << 15
PRIVILEGED_INTENTS = MEMBERS_INTENT | PRESENCES_INTENT | MESSAGE_CONTENT_INTENT
# Close codes (Discord's gateway docs).
INVALID_SHARD, SHARDING_REQUIRED, DISALLOWED_INTENTS = 4010, 4011, 4014
# Discord makes sharding mandatory at 2,500 guilds per session.
MAX_GUILDS_PER_SHARD = 2500
GUILD_MESSAGES_INTENT = 1 << 9
DM_MESSAGES_INTENT = 1 << 12


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    compressor: Any = None  # zlib compress object, or None for plain text
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass
class Session:
    id: str
    intents: int
    seq: int = 0
    conn: Connection | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    shard: tuple[int, int] | None = None  # (shard id, shard count) from IDENTIFY

    def wants(self, intent: int | None) -> bool:
        return intent is None or bool(self.intents & intent)

    def owns(self, guild_id: int | None) -> bool:
        """A guild's events go to shard (guild_id >> 22) % count; DMs go to shard 0."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == 0 if guild_id is None else (guild_id >> 22) % count == shard_id


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (GUILD_CREATE/UPDATE/DELETE carry it as `id`)."""
    if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        return int(data["id"])
    raw = data.get("guild_id")
    return int(raw) if raw else None


def parse_shard(raw: Any) -> tuple[int, int] | None:
    """IDENTIFY's `shard: [id, count]`, or None when it is not a valid pair."""
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        return None
    shard_id, count = raw
    return (shard_id, count) if count >= 1 and 0 <= shard_id < count else None


class Gateway:
    def __init__(
        self,
        state: State,
        url: Callable[[], str],
        *,
        privileged_intents: int = PRIVILEGED_INTENTS,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
    ) -> None:
        self.state = state
        self._url = url
        self.privileged_intents = privileged_intents  # those enabled for the application
        self.max_guilds_per_shard = max_guilds_per_shard
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.connected = asyncio.Event()
        self.identify_count = 0
        self.resume_count = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        zlib_stream = request.query.get("compress") == "zlib-stream"
        conn = Connection(ws, zlib.compressobj() if zlib_stream else None)
        self.connections.add(conn)
        try:
            await conn.send({"op": HELLO, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_message(conn, json.loads(msg.data))
        finally:
            self.connections.discard(conn)
            for session in self.sessions.values():
                if session.conn is conn:
                    session.conn = None
        return ws

    async def _on_message(self, conn: Connection, msg: dict[str, Any]) -> None:
        op, data = msg.get("op"), msg.get("d") or {}
        if op == HEARTBEAT:
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            await self._resume(conn, data)
        elif op == REQUEST_MEMBERS:
            await self._chunk(conn, data)

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token", "").removeprefix("Bot ") != self.state.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await conn.ws.close(code=DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        shard = parse_shard(data["shard"]) if "shard" in data else None
        if "shard" in data and shard is None:
            await conn.ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        session = Session(secrets.token_hex(16), intents, conn=conn, shard=shard)
        guilds = [g for g in self.state.guilds.values() if g.bot_present and session.owns(g.id)]
        if len(guilds) > self.max_guilds_per_shard:
            await conn.ws.close(code=SHARDING_REQUIRED, message=b"Sharding required.")
            return
        self.identify_count += 1
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": self.state.bot.payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "application": {"id": str(self.state.app_id), "flags": 0},
            "_trace": ["localdiscord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_event(session, "READY", ready)
        for guild in guilds:
            payload = guild.payload(self.state.bot.id, all_members=False)
            await self._send_event(session, "GUILD_CREATE", payload)
        self.connected.set()

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token", "").removeprefix("Bot ") != self.state.token:
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resume_count += 1
        session.conn = conn
        since = int(data.get("seq") or 0)
        for payload in [p for p in session.backlog if p["s"] > since]:
            await conn.send(payload)
        await self._send_event(session, "RESUMED", {"_trace": ["localdiscord"]})

    async def _chunk(self, conn: Connection, data: dict[str, Any]) -> None:
        guild = self.state.guilds.get(int(data.get("guild_id", 0)))
        session = next((s for s in self.sessions.values() if s.conn is conn), None)
        if guild is None or session is None:
            return
        members = [m.payload() for m in guild.members.values()]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_event(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.backlog.append(payload)
        del session.backlog[:-1000]
        if session.conn is not None:
            await session.conn.send(payload)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None = None
    ) -> None:
        """Send an event to every identified session that asked for its intent and whose
        shard holds the event's guild."""
        guild_id = event_guild(event, data)
        for session in list(self.sessions.values()):
            if session.wants(intent) and session.owns(guild_id):
                await self._send_event(session, event, data)

    def wants_members(self) -> bool:
        return any(s.intents & MEMBERS_INTENT for s in self.sessions.values())

    async def drop(self, code: int = 4000) -> None:
        """Close every socket without ending sessions: the client should RESUME."""
        for conn in list(self.connections):
            await conn.ws.close(code=code, message=b"dropped by test")

    async def close(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"server shutdown")
