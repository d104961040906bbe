"""The bot keeps under Discord's global REST limit (50 requests/s per bot) on its own.

160 circles in eight servers open a round at once: their prompts go out eight at a time
(a server's deliveries run in order, servers side by side) as fast as the bot can post,
which through the local server is well over 50 a second. The local server enforces Discord's global limit; the bot must never be told 429.
"""

from __future__ import annotations

from bot.localdiscord import Channel
from tests.e2e.conftest import Stage

SERVERS, CIRCLES = 8, 20  # circles per server


def _prompts(channel: Channel) -> int:
    return sum(
        any(e.get("title", "").startswith("Check-in — ") for e in m.embeds)
        for m in channel.messages
    )


async def test_prompts_of_many_circles_at_once_meet_no_global_rate_limit(stage: Stage) -> None:
    server, bot = stage.server, stage.bot
    services = bot.resources.services
    made = []
    for s in range(SERVERS):
        guild = server.create_guild(f"Many circles {s}")
        ada = guild.add_member("Ada", manage_guild=True)
        made += [(guild, ada, guild.create_text_channel(f"circle-{n}")) for n in range(CIRCLES)]
    channels = [channel for _, _, channel in made]
    await server.wait_for(lambda: all(bot.get_channel(c.id) for c in channels))
    circles = [
        await services.circles.create(guild.id, f"Circle {c.id}", c.id, None, ada.id)
        for guild, ada, c in made
    ]
    limited_before = server.ratelimiter.limited_count
    seen_before = sum(bot.metrics.rate_limited.labels(s)._value.get() for s in ("global", "user"))

    for circle in circles:
        await services.checkins.open_now(circle)
    await services.outbox.drain()

    assert [_prompts(c) for c in channels] == [1] * (SERVERS * CIRCLES)
    assert server.ratelimiter.limited_count == limited_before
    seen = sum(bot.metrics.rate_limited.labels(s)._value.get() for s in ("global", "user"))
    assert seen == seen_before
