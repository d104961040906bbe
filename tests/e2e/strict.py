"""The local server as the end-to-end tests use it: as strict as Discord.

Every request body is validated against Discord's OpenAPI spec (a copy lives in
tests/data/discord_api_spec), the bot's role holds exactly the README's invite
permissions, and Discord's default message rate limits apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.localdiscord import LocalDiscord
from bot.sandbox.harness import INVITE_PERMISSIONS

DISCORD_API_SPEC = Path(__file__).parents[1] / "data" / "discord_api_spec" / "openapi.json"


def strict_server(**options: Any) -> LocalDiscord:
    options.setdefault("openapi_spec", DISCORD_API_SPEC)
    options.setdefault("bot_permissions", INVITE_PERMISSIONS)
    return LocalDiscord(**options)


def assert_spec_clean(server: LocalDiscord) -> None:
    """Fail loudly if any body the bot sent did not conform to Discord's spec."""
    violations = server.spec_violations
    assert not violations, "request bodies Discord's OpenAPI spec refuses:\n" + "\n".join(
        f"  {v.route}: {v.errors}" for v in violations
    )
