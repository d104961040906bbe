"""The operations endpoint, end to end: the real bot, the local server, a real HTTP scrape.

`/metrics` counts what the bot did (commands, buttons, forms, jobs, DMs, 429s, deliveries);
`/healthz` says whether the gateway, database and scheduler are up. Neither carries what a
member wrote, and nothing listens unless a port is configured.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import CircleBot
from bot.sandbox.harness import running_bot
from tests.conftest import BACKENDS, fresh_database
from tests.e2e.checkin_helpers import check_in, circle_named, create_circle, join, open_round
from tests.e2e.checkin_helpers import round_message as prompt_of
from tests.e2e.conftest import Stage, World, new_world, open_stage
from tests.e2e.strict import strict_server

MARKER = "Zebra-quokka-7731"  # in a circle name and a note: must never reach the endpoint

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module", params=BACKENDS)
async def ops_stage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stage]:
    directory = tmp_path_factory.mktemp("e2e-metrics")
    target = fresh_database(request, request.param, directory / "circlekeeper.db")
    db_url = target if isinstance(target, str) else None
    async with open_stage(directory, db_url=db_url, metrics_port=0) as shared:
        yield shared


@pytest.fixture
async def ops_world(ops_stage: Stage) -> World:
    return await new_world(ops_stage)


async def fetch(bot: CircleBot, path: str) -> tuple[int, str]:
    assert bot.ops is not None, "the endpoint is not running"
    host, port = bot.ops.addresses[0]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{host}:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def scrape(bot: CircleBot) -> tuple[str, Samples]:
    status, text = await fetch(bot, "/metrics")
    assert status == 200, text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} is not exposed"
    return samples[key]


async def test_nothing_listens_by_default(world: World) -> None:
    assert world.bot.resources.settings.metrics_port is None
    assert world.bot.ops is None


async def test_metrics_count_what_the_bot_did_and_carry_no_member_text(ops_world: World) -> None:
    world, bot = ops_world, ops_world.bot
    _, before = await scrape(bot)
    circle_name = f"Circle {MARKER}"
    eager, closed, kai = (world.guild.add_member(n) for n in ("Eager", "Closed", "Kai3"))
    for member in (eager, closed):
        on = await member.run("/checkin reminders", setting="on")
        assert on.ephemeral and on.content.startswith("Reminders on"), on.describe()
    closed.dms_closed = True

    ping = await world.sam.run("/ping", channel=world.channel)
    assert "Circlekeeper is here" in ping.content
    refused = await world.sam.run("/circle join", circle="No such circle", channel=world.channel)
    assert refused.ephemeral, refused.describe()

    await create_circle(world.facilitator, circle_name, world.channel)
    for member in (eager, closed, kai):
        await join(member, circle_name, world.channel)
    opened = await world.facilitator.run(
        "/facilitate checkin now", circle=circle_name, channel=world.channel
    )
    assert opened.ephemeral, opened.describe()
    circle = await circle_named(bot, world.guild.id, circle_name)
    round_ = await open_round(bot, circle)
    assert round_ is not None
    answer = await check_in(
        kai,
        prompt_of(world.channel, round_),
        mood="2",
        note=f"My note {MARKER}",
        who_sees_this="facilitators only",
    )
    assert answer.startswith("Thank you."), answer
    # The reminder job (3 h before the close) DMs Eager; Closed's DMs are refused.
    await world.advance(timedelta(hours=21, minutes=1))
    assert len(eager.dms) == 1
    # Discord answers the summary's first post with a 429; discord.py waits and retries.
    world.server.force_rate_limit("POST /channels/{channel_id}/messages", count=1)
    closing = await world.facilitator.run(
        "/facilitate checkin close", circle=circle_name, channel=world.channel
    )
    assert closing.ephemeral, closing.describe()
    await bot.resources.services.outbox.drain()

    text, after = await scrape(bot)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - before.get((name, tuple(sorted(labels.items()))), 0.0)

    interactions = "circlekeeper_interactions_total"
    answered = "circlekeeper_interaction_response_seconds_count"
    for kind in ("ping", "circle join", "facilitate checkin now", "component", "modal"):
        assert grew(interactions, type=kind) >= 1, kind
        assert grew(answered, type=kind) >= 1, kind
    assert grew(interactions, type="ping") == grew(answered, type="ping") == 1
    assert value(after, "circlekeeper_interaction_response_seconds_sum", type="ping") > 0
    assert grew("circlekeeper_errors_total", kind="refusal") >= 1
    for kind in ("unhandled", "late", "job", "delivery"):
        value(after, "circlekeeper_errors_total", kind=kind)  # exposed, even at zero
    assert grew("circlekeeper_scheduler_lag_seconds_count") >= 1
    assert grew("circlekeeper_dms_total", outcome="sent") >= 1
    assert grew("circlekeeper_dms_total", outcome="refused") == 1
    assert grew("circlekeeper_http_429_total", scope="user") == 1
    assert grew("circlekeeper_outbox_deliveries_total", outcome="delivered") >= 1
    value(after, "circlekeeper_outbox_deliveries_total", outcome="failed")
    assert value(after, "circlekeeper_outbox_pending") == 0
    assert value(after, "circlekeeper_gateway_latency_seconds", shard="0") > 0

    # Labels name commands and kinds, never a member, a server or what anyone wrote.
    _, health = await fetch(bot, "/healthz")
    for exposed in (text, health):
        assert MARKER not in exposed
        for member_id in (world.guild.id, kai.id, eager.id, closed.id, world.channel.id):
            assert str(member_id) not in exposed


async def test_healthz_says_healthy_and_the_endpoint_is_on_loopback(ops_world: World) -> None:
    bot = ops_world.bot
    assert bot.ops is not None
    assert bot.ops.addresses
    assert all(ipaddress.ip_address(host).is_loopback for host, _ in bot.ops.addresses)
    status, body = await fetch(bot, "/healthz")
    assert status == 200, body
    report: dict[str, Any] = json.loads(body)
    assert report["healthy"] is True
    assert report["gateway"]["connected"] is True
    assert set(report["gateway"]["shards"]) == {"0"}
    assert report["database"] is True and report["scheduler"] is True
    assert isinstance(report["outbox_pending"], int)
    missing, _ = await fetch(bot, "/nothing-here")
    assert missing == 404


@pytest.mark.parametrize("backend", BACKENDS)
async def test_healthz_is_503_once_the_database_is_gone(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    target = fresh_database(request, backend, tmp_path / "circlekeeper.db")
    db_url = target if isinstance(target, str) else None
    async with (
        strict_server() as server,
        running_bot(server, tmp_path / "circlekeeper.db", db_url=db_url, metrics_port=0) as bot,
    ):
        await server.wait_until_connected()
        status, _ = await fetch(bot, "/healthz")
        assert status == 200
        await bot.resources.db.close()
        bot.resources.services.outbox.kick()  # its worker meets the closed database too
        status, body = await fetch(bot, "/healthz")
        assert status == 503, body
        report = json.loads(body)
        assert report["healthy"] is False and report["database"] is False
        assert report["outbox_pending"] is None
        assert report["gateway"]["connected"] is True
    assert bot.ops is None  # stopped with the bot
