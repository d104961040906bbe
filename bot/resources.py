"""Everything the bot needs, created in `main()` and handed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock
from bot.metrics import Metrics
from bot.scheduling import JobScheduler
from bot.services.buddies import BuddyService
from bot.services.checkins import CheckinService
from bot.services.circles import CircleService
from bot.services.crisis import CrisisService
from bot.services.crisisplan import CrisisPlanService
from bot.services.help_requests import HelpService
from bot.services.outbox import Outbox
from bot.services.privacy import PrivacyService
from bot.services.resources import ResourcesService
from bot.services.roles import RolesService
from bot.services.safety import SafetyNet
from bot.services.talking_piece import TalkService
from bot.settings import Settings
from bot.static_data import StaticData
from bot.storage.crypto import TextCipher
from bot.storage.database import Database


@dataclass(frozen=True)
class Services:
    outbox: Outbox
    privacy: PrivacyService
    crisis: CrisisService
    safety: SafetyNet
    circles: CircleService
    checkins: CheckinService
    talk: TalkService
    # circle care (issue 13)
    crisisplan: CrisisPlanService
    roles: RolesService
    resources: ResourcesService
    help: HelpService
    buddies: BuddyService


@dataclass(frozen=True)
class Resources:
    settings: Settings
    db: Database
    cipher: TextCipher
    clock: Clock
    jobs: JobScheduler
    static: StaticData
    services: Services
    metrics: Metrics = field(default_factory=Metrics)  # this bot's own Prometheus registry
