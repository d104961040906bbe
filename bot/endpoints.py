"""Point discord.py at another Discord-compatible endpoint (a REST proxy or the local server).

discord.py reads ``Route.BASE`` each time it builds a route (interaction callbacks and
webhook followups included) and dials ``DiscordWebSocket.DEFAULT_GATEWAY`` for a
non-sharded client, so setting both before login redirects every call.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def apply_endpoints(api_base: str, gateway_url: str) -> None:
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
