"""Discord's answers, read as an outbox delivery's outcome: worth retrying, or not."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.services.outbox import DeliveryFailed


def delivery_failure(error: BaseException) -> DeliveryFailed:
    """403/404 and other refusals are permanent; 429, 5xx and broken connections are not."""
    if isinstance(error, discord.HTTPException):
        reason = f"HTTP {error.status} code {error.code}"
        transient = error.status == 429 or error.status >= 500
        return DeliveryFailed(reason, permanent=not transient)
    return DeliveryFailed(type(error).__name__, permanent=False)


TRANSIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
