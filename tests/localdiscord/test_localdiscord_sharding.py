"""Sharding and the global REST limit: GET /gateway/bot, IDENTIFY's `shard`, guilds routed
to their shard, close codes 4010/4011/4014, 50 requests/s per token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest

from bot.endpoints import apply_endpoints
from bot.localdiscord import Guild, LocalDiscord


def _shard_of(guild_id: int, count: int) -> int:
    return (guild_id >> 22) % count


def _guilds_on_both_shards(server: LocalDiscord) -> list[Guild]:
    """Guilds until both of two shards hold at least one (ids follow the clock)."""
    guilds = [server.create_guild("First")]
    while len({_shard_of(g.id, 2) for g in guilds}) < 2:
        guilds.append(server.create_guild(f"Guild {len(guilds) + 1}"))
    return guilds


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def _identify(
    server: LocalDiscord, session: aiohttp.ClientSession, **extra: Any
) -> tuple[aiohttp.ClientWebSocketResponse, list[dict[str, Any]]]:
    """IDENTIFY on a plain-text connection; returns the socket and READY + GUILD_CREATEs,
    or the socket and [] when the server closed it."""
    ws = await session.ws_connect(server.gateway_url + "?v=10&encoding=json")
    assert (await ws.receive_json())["op"] == 10
    identify = {"token": server.token, "intents": 1, "properties": {}, **extra}
    await ws.send_json({"op": 2, "d": identify})
    first = await ws.receive()
    if first.type != aiohttp.WSMsgType.TEXT:
        return ws, []
    ready = first.json()
    events = [ready] + [await ws.receive_json() for _ in ready["d"]["guilds"]]
    return ws, events


async def test_gateway_bot_recommends_the_shard_count_and_concurrency(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalDiscord(shards=3, max_concurrency=2) as server:
        headers = {"Authorization": f"Bot {server.token}"}
        async with session.get(server.api_base + "/gateway/bot", headers=headers) as resp:
            data = await resp.json(content_type=None)
    assert data["url"] == server.gateway_url and data["shards"] == 3
    assert data["session_start_limit"]["max_concurrency"] == 2


async def test_each_shard_gets_only_its_guilds_and_their_events(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalDiscord(shards=2) as server:
        guilds = _guilds_on_both_shards(server)
        sockets = {}
        for shard_id in (0, 1):
            ws, (ready, *created) = await _identify(server, session, shard=[shard_id, 2])
            sockets[shard_id] = ws
            expected = {str(g.id) for g in guilds if _shard_of(g.id, 2) == shard_id}
            assert {g["id"] for g in ready["d"]["guilds"]} == expected
            assert {c["d"]["id"] for c in created} == expected
            assert ready["d"]["shard"] == [shard_id, 2]
        late = server.create_guild("Late")
        owner = _shard_of(late.id, 2)
        created = await sockets[owner].receive_json()
        assert created["t"] == "GUILD_CREATE" and created["d"]["id"] == str(late.id)
        by_shard = {s.shard[0]: s for s in server.gateway.sessions.values() if s.shard}
        other = by_shard[1 - owner]
        assert all(p["d"].get("id") != str(late.id) for p in other.backlog)
        for ws in sockets.values():
            await ws.close()


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], "0,1"])
async def test_an_invalid_shard_is_closed_with_4010(
    session: aiohttp.ClientSession, shard: Any
) -> None:
    async with LocalDiscord(shards=2) as server:
        ws, events = await _identify(server, session, shard=shard)
        assert events == [] and ws.close_code == 4010
        assert server.gateway.sessions == {}


async def test_too_many_guilds_for_one_session_is_closed_with_4011(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalDiscord(shards=2) as server:
        guilds = _guilds_on_both_shards(server)
        per_shard = [sum(_shard_of(g.id, 2) == s for g in guilds) for s in (0, 1)]
        server.gateway.max_guilds_per_shard = max(per_shard)  # all of them: one too many
        ws, events = await _identify(server, session)
        assert events == [] and ws.close_code == 4011
        for shard_id in (0, 1):  # sharded, each session holds few enough
            ws, (ready, *_) = await _identify(server, session, shard=[shard_id, 2])
            assert len(ready["d"]["guilds"]) == per_shard[shard_id]
            await ws.close()


async def test_a_privileged_intent_not_enabled_is_4014_for_discord_py() -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with LocalDiscord(privileged_intents=0) as server:
        apply_endpoints(server.api_base, server.gateway_url)
        intents = discord.Intents.default()
        intents.members = True
        client = discord.Client(intents=intents)
        try:
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await asyncio.wait_for(client.start(server.token), 10)
        finally:
            await client.close()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        assert server.gateway.sessions == {}


class QuickShards(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # Discord's max_concurrency wait is not what this test is about


async def test_discord_py_autosharded_client_gets_every_guild_on_its_shard() -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with LocalDiscord(shards=2) as server:
        guilds = _guilds_on_both_shards(server)
        apply_endpoints(server.api_base, server.gateway_url)
        client = QuickShards(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        task = asyncio.create_task(client.start(server.token))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert client.shard_count == 2  # from GET /gateway/bot
            for guild in guilds:
                seen = client.get_guild(guild.id)
                assert seen is not None and seen.shard_id == _shard_of(guild.id, 2)
            shards = sorted(s.shard for s in server.gateway.sessions.values() if s.shard)
            assert shards == [(0, 2), (1, 2)]
        finally:
            await client.close()
            await asyncio.gather(task, return_exceptions=True)
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_the_global_limit_spans_routes_and_spares_interaction_callbacks(
    session: aiohttp.ClientSession,
) -> None:
    # A long window keeps the test about counting, not about the clock.
    async with LocalDiscord(global_rate=(5, 60.0)) as server:
        headers = {"Authorization": f"Bot {server.token}"}
        statuses = []
        for path in ["/users/@me", "/gateway/bot"] * 3:
            async with session.get(server.api_base + path, headers=headers) as resp:
                statuses.append(resp.status)
                limited = resp.headers, await resp.json(content_type=None)
        assert statuses == [200] * 5 + [429]
        assert limited[0]["X-RateLimit-Global"] == "true" and limited[1]["global"] is True
        url = server.api_base + "/interactions/1/not-a-token/callback"
        async with session.post(url, json={"type": 1}) as resp:
            assert resp.status == 404  # judged on its merits, not globally limited
            assert (await resp.json(content_type=None))["code"] == 10062
        # The webhook routes of an interaction token (followups, the original response) too.
        hook = f"{server.api_base}/webhooks/{server.state.bot.id}/not-a-token"
        async with session.post(hook, json={"content": "x"}) as resp:
            assert resp.status != 429, await resp.text()
        async with session.patch(hook + "/messages/@original", json={"content": "x"}) as resp:
            assert resp.status != 429, await resp.text()
