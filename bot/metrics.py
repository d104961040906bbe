"""Prometheus metrics: one registry per bot, never the process-wide default.

Labels are few and fixed: a command's name, an interaction kind, an error kind, an outcome, a
shard number. Never a user, a server, a channel or anything a member wrote.

Two hooks sit at the edge of discord.py rather than inside the bot:

* HTTP answers are seen through an ``aiohttp.TraceConfig`` handed to the client as
  ``http_trace`` (a documented discord.py option). Every REST call and every interaction
  response (those go through discord.py's webhook adapter, on the same session) ends in
  ``on_request_end``, so a 429 is counted whichever path met it and whether discord.py
  retried it or raised, and the first 2xx answer to ``/interactions/{id}/{token}/callback``
  stops that interaction's latency clock. Nothing from the URL is kept but the id.
* Interactions are noted when the bot receives them (:meth:`Metrics.received`), with the
  command name (top-level, plus subcommand names) for application commands.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from typing import Any

import aiohttp
import discord
from discord import app_commands
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# From Discord's creation of an interaction to the bot's first answer; 3 s is the deadline.
RESPONSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
# A stored job's due time to when it ran: seconds when awake, hours after downtime.
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0)
ERROR_KINDS = ("refusal", "unhandled", "late", "job", "delivery")
DM_OUTCOMES = ("sent", "refused")
OUTBOX_OUTCOMES = ("delivered", "failed")
RATE_LIMIT_SCOPES = ("user", "global", "shared", "unknown")
AWAITING_MAX = 2000  # interactions remembered until their first answer (the rest are late)

_CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback$")
_SUBCOMMAND_TYPES = (1, 2)  # SUB_COMMAND, SUB_COMMAND_GROUP


class Metrics:
    """The bot's instruments, registered in their own :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.interactions = Counter(
            "circlekeeper_interactions",
            "Interactions received, by type (command name, component, modal, autocomplete)",
            ["type"],
            registry=r,
        )
        self.response_seconds = Histogram(
            "circlekeeper_interaction_response_seconds",
            "From an interaction's creation (its id's time) to the bot's first answer",
            ["type"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "circlekeeper_errors",
            "Errors by kind: refusal (an expected no), unhandled (a bug), late (Discord refused "
            "an answer as too late or repeated), job (a stored job failed), delivery (an outbox "
            "handler raised)",
            ["kind"],
            registry=r,
        )
        self.scheduler_lag = Histogram(
            "circlekeeper_scheduler_lag_seconds",
            "How long after its due time a stored job ran",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.dms = Counter(
            "circlekeeper_dms",
            "Direct messages by outcome (sent, refused)",
            ["outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "circlekeeper_http_429",
            "HTTP 429 answers seen from Discord, by X-RateLimit-Scope",
            ["scope"],
            registry=r,
        )
        self.gateway_latency = Gauge(
            "circlekeeper_gateway_latency_seconds",
            "Heartbeat round trip per shard (+Inf before the first acknowledgement)",
            ["shard"],
            registry=r,
        )
        self.outbox = Counter(
            "circlekeeper_outbox_deliveries",
            "Outbox deliveries finished, by outcome (delivered, failed: given up)",
            ["outcome"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "circlekeeper_outbox_pending",
            "Deliveries not yet delivered nor given up (read at scrape time)",
            registry=r,
        )
        for kind in ERROR_KINDS:
            self.errors.labels(kind)
        for outcome in DM_OUTCOMES:
            self.dms.labels(outcome)
        for outcome in OUTBOX_OUTCOMES:
            self.outbox.labels(outcome)
        for scope in RATE_LIMIT_SCOPES:
            self.rate_limited.labels(scope)
        self._awaiting: OrderedDict[int, str] = OrderedDict()

    # -- interactions

    def received(
        self, interaction: discord.Interaction, tree: app_commands.CommandTree[Any]
    ) -> None:
        """Count an interaction and start its clock until the first answer."""
        label = interaction_label(interaction, tree)
        if label is None:
            return
        self.interactions.labels(label).inc()
        self._awaiting[interaction.id] = label
        while len(self._awaiting) > AWAITING_MAX:
            self._awaiting.popitem(last=False)

    def answered(self, interaction_id: int) -> None:
        """The first answer went out: observe its latency (later answers are not first)."""
        label = self._awaiting.pop(interaction_id, None)
        if label is None:
            return
        created = discord.utils.snowflake_time(interaction_id).timestamp()
        self.response_seconds.labels(label).observe(max(time.time() - created, 0.0))

    # -- the rest

    def error(self, kind: str) -> None:
        self.errors.labels(kind if kind in ERROR_KINDS else "unhandled").inc()

    def trace_config(self) -> aiohttp.TraceConfig:
        """For the client's ``http_trace`` option: sees every REST and interaction answer."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_request_end)
        return trace

    async def _on_request_end(
        self, session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestEndParams
    ) -> None:
        status = params.response.status
        if status == 429:
            scope = params.response.headers.get("X-RateLimit-Scope", "unknown")
            self.rate_limited.labels(scope if scope in RATE_LIMIT_SCOPES else "unknown").inc()
            return
        if 200 <= status < 300:
            match = _CALLBACK.search(params.url.path)
            if match is not None:
                self.answered(int(match[1]))

    def set_gateway_latencies(self, latencies: list[tuple[int, float]]) -> None:
        self.gateway_latency.clear()
        for shard, latency in latencies:
            self.gateway_latency.labels(str(shard)).set(
                latency if not math.isnan(latency) else math.inf
            )


def interaction_label(
    interaction: discord.Interaction, tree: app_commands.CommandTree[Any]
) -> str | None:
    """A low-cardinality name for what the interaction is; None for a ping.

    Application commands are named by the bot's own command tree (``circle join``), so only
    names the bot registered ever become labels.
    """
    kind = interaction.type
    if kind is discord.InteractionType.component:
        return "component"
    if kind is discord.InteractionType.modal_submit:
        return "modal"
    if kind is discord.InteractionType.autocomplete:
        return "autocomplete"
    if kind is not discord.InteractionType.application_command:
        return None
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    try:
        command_type = discord.AppCommandType(int(data.get("type", 1)))
    except ValueError:
        return "unknown"
    command = tree.get_command(str(data.get("name", "")), type=command_type)
    if command is None:
        return "unknown"
    parts = [command.name]
    options = data.get("options") or []
    while options and options[0].get("type") in _SUBCOMMAND_TYPES:
        if not isinstance(command, app_commands.Group):
            break
        command = command.get_command(str(options[0].get("name", "")))
        if command is None:
            break
        parts.append(command.name)
        options = options[0].get("options") or []
    return " ".join(parts)


def count_error(client: object, kind: str) -> None:
    """Count an error on the client's metrics, when it has any (test doubles may not)."""
    metrics = getattr(client, "metrics", None)
    if isinstance(metrics, Metrics):
        metrics.error(kind)


def shard_latencies(client: discord.Client) -> list[tuple[int, float]]:
    """(shard id, heartbeat latency) for every shard this process runs."""
    if isinstance(client, discord.AutoShardedClient):
        return list(client.latencies)
    return [(client.shard_id or 0, client.latency)]
