"""Everything the bot needs, created in `main()` and handed in."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.scheduling import JobScheduler
from bot.services.privacy import PrivacyService
from bot.settings import Settings
from bot.storage.crypto import TextCipher
from bot.storage.database import Database


@dataclass(frozen=True)
class Services:
    privacy: PrivacyService


@dataclass(frozen=True)
class Resources:
    settings: Settings
    db: Database
    cipher: TextCipher
    clock: Clock
    jobs: JobScheduler
    services: Services
