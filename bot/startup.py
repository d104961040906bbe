"""Startup: settings → database (migrated, key checked) → services → bot. Same path everywhere.

`run`, the sandbox and the end-to-end tests all go through :func:`open_resources` and
:func:`create_bot`, so what the tests drive is what production runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import CircleBot, ShardedCircleBot
from bot.clock import Clock, SharedClock, SystemClock
from bot.endpoints import apply_endpoints
from bot.metrics import Metrics
from bot.pacing import GlobalPacer
from bot.resources import Resources, Services
from bot.scheduling import JobScheduler
from bot.services.buddies import BuddyService, BuddySnooze
from bot.services.checkins import CheckinService
from bot.services.circles import CircleService
from bot.services.crisis import CrisisService
from bot.services.crisisplan import CrisisPlanService
from bot.services.help_requests import HelpResting, HelpService
from bot.services.outbox import Outbox
from bot.services.privacy import PrivacyService
from bot.services.resources import ResourcesService
from bot.services.roles import RolesService
from bot.services.safety import SafetyNet
from bot.services.talking_piece import TalkService
from bot.settings import Settings
from bot.static_data import StaticData, load_static_data
from bot.storage.crypto import TextCipher, load_or_create_key
from bot.storage.database import Database
from bot.storage.keys import verify_key

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> tuple[Database, TextCipher]:
    """Open, migrate and check the key; the connection is closed again on any failure."""
    db = await Database.open(settings.database)
    try:
        await db.migrate()
        cipher = TextCipher(load_or_create_key(settings.data_key, settings.key_path))
        await verify_key(db, cipher)
    except BaseException:
        await db.close()
        raise
    return db, cipher


def build_services(
    db: Database,
    cipher: TextCipher,
    clock: Clock,
    jobs: JobScheduler,
    static: StaticData,
    metrics: Metrics | None = None,
) -> Services:
    safety = SafetyNet(db, static.screener)
    outbox = Outbox(db, clock, metrics, jobs.ownership)  # the same servers as the timers
    # Who can't be given a rotating role: paused from check-ins (built in), snoozed from
    # buddy pairing, or resting by /capacity.
    roles = RolesService(db, cipher, clock, jobs, outbox, static.screener, static.prompts)
    roles.unavailability += [BuddySnooze(db), HelpResting(db)]
    return Services(
        outbox=outbox,
        privacy=PrivacyService(db, cipher, clock, jobs),
        crisis=CrisisService(db, static.crisis),
        safety=safety,
        circles=CircleService(db, clock),
        checkins=CheckinService(db, cipher, clock, jobs, outbox, safety, static.prompts),
        talk=TalkService(db, clock, jobs, outbox),
        # circle care (issue 13)
        crisisplan=CrisisPlanService(db, cipher, clock, outbox),
        roles=roles,
        resources=ResourcesService(db, cipher, clock, static.crisis, static.resources_starter),
        help=HelpService(db, cipher, clock, jobs, outbox, safety),
        buddies=BuddyService(db, clock, jobs, outbox),
    )


@asynccontextmanager
async def open_resources(
    settings: Settings, clock: Clock | None = None, static: StaticData | None = None
) -> AsyncIterator[Resources]:
    if clock is None:
        clock = SharedClock(settings.clock_file) if settings.clock_file else SystemClock()
    static = static or load_static_data()  # before the database: /crisis never depends on it
    db, cipher = await open_database(settings)
    try:
        metrics = Metrics()
        jobs = JobScheduler(db, clock, metrics, settings.ownership)
        services = build_services(db, cipher, clock, jobs, static, metrics)
        yield Resources(settings, db, cipher, clock, jobs, static, services, metrics)
    finally:
        await db.close()


def create_bot(resources: Resources, **options: Any) -> CircleBot:
    """The bot; with shards set, discord.py's sharded client running exactly those shards."""
    apply_endpoints(resources.settings.api_base, resources.settings.gateway_url)
    ownership = resources.settings.ownership
    trace = resources.metrics.trace_config()  # 429s, answer latency
    options.setdefault("http_trace", GlobalPacer.for_share(ownership).attach(trace))
    options.setdefault("dm_min_gap", resources.settings.dm_min_gap)
    if ownership.shard_ids is not None:
        return ShardedCircleBot(
            resources,
            shard_ids=list(ownership.shard_ids),
            shard_count=ownership.shard_count,
            **options,
        )
    return CircleBot(resources, **options)


async def run(settings: Settings) -> None:
    token = settings.require_token()
    async with open_resources(settings) as resources:
        bot = create_bot(resources)
        async with bot:
            await bot.start(token)
