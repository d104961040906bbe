"""A local Discord-compatible server (REST + Gateway) and a driver of simulated members.

Used by end-to-end tests (real discord.py client, real bot) and by `circlekeeper sandbox`.
"""

from bot.localdiscord.driver import (
    Channel,
    CommandHidden,
    CommandNotFound,
    ComponentNotFound,
    DriverError,
    Guild,
    Member,
    Modal,
    Reply,
    ReplyTimeout,
    together,
)
from bot.localdiscord.server import LocalDiscord
from bot.localdiscord.transcript import Event, Transcript, format_event

__all__ = [
    "Channel",
    "CommandHidden",
    "CommandNotFound",
    "ComponentNotFound",
    "DriverError",
    "Event",
    "Guild",
    "LocalDiscord",
    "Member",
    "Modal",
    "Reply",
    "ReplyTimeout",
    "Transcript",
    "format_event",
    "together",
]
