"""The operations endpoint: ``/metrics`` (Prometheus text) and ``/healthz`` (a small JSON).

Off unless ``CIRCLEKEEPER_METRICS_PORT`` is set, and bound to loopback unless
``CIRCLEKEEPER_METRICS_HOST`` says otherwise. It starts with the bot and stops with it, in the
bot's own event loop. Neither page carries a member's text, a name or an id beyond shard numbers.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import discord
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import Metrics, shard_latencies
from bot.resources import Resources

log = logging.getLogger(__name__)

DB_CHECK_SECONDS = 2.0  # a database that does not answer a small read within this is down


class OpsServer:
    def __init__(self, client: discord.Client, resources: Resources, metrics: Metrics) -> None:
        self._client = client
        self._resources = resources
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.addresses: list[tuple[str, int]] = []  # where it listens, once started

    async def start(self) -> None:
        settings = self._resources.settings
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.metrics_host, settings.metrics_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.addresses = [(str(a[0]), int(a[1])) for a in runner.addresses]
        log.info("Metrics and health endpoint listening on %s", self.addresses)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, report); refreshes the scrape-time gauges on the way."""
        latencies = shard_latencies(self._client)
        self._metrics.set_gateway_latencies(latencies)
        connected = self._gateway_connected()
        pending = await self._outbox_pending()
        if pending is not None:
            self._metrics.outbox_pending.set(pending)
        scheduler = self._resources.jobs.started
        report = {
            "gateway": {
                "connected": connected,
                "shards": {
                    str(shard): None if not math.isfinite(lat) else round(lat * 1000, 1)
                    for shard, lat in latencies
                },  # heartbeat round trip in ms; null until the first acknowledgement
            },
            "database": pending is not None,
            "scheduler": scheduler,
            "outbox_pending": pending,
        }
        healthy = connected and pending is not None and scheduler
        return healthy, {"healthy": healthy, **report}

    def _gateway_connected(self) -> bool:
        client = self._client
        if client.is_closed() or not client.is_ready():
            return False
        if isinstance(client, discord.AutoShardedClient):
            return all(not shard.is_closed() for shard in client.shards.values())
        ws = client.ws
        return ws is not None and ws.open

    async def _outbox_pending(self) -> int | None:
        """The outbox's pending count, which also proves the database answers; None if not."""
        try:
            async with asyncio.timeout(DB_CHECK_SECONDS):
                return await self._resources.services.outbox.pending()
        except Exception as error:  # any failure means "not reachable"; its text may hold data
            log.warning("Health check: the database did not answer (%s)", type(error).__name__)
            return None

    async def _serve_health(self, request: web.Request) -> web.Response:
        healthy, report = await self.health()
        return web.json_response(report, status=200 if healthy else 503)

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        await self.health()  # the gateway and outbox gauges are read now
        body = generate_latest(self._metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
