"""`circlekeeper sandbox`: the real bot, a local Discord, simulated members, a live transcript.

One process, no network: LocalDiscord listens on 127.0.0.1, the bot runs against it with
a throwaway database and key in a temporary directory (removed at exit), and either the
scripted scenes play (the default) or a prompt lets a person act as a member.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import discord.gateway
import discord.http

from bot.localdiscord import Channel, DriverError, Event, Guild, LocalDiscord, Member
from bot.localdiscord.transcript import render_event
from bot.sandbox.harness import INVITE_PERMISSIONS, MovableClock, running_bot, time_mover
from bot.sandbox.scenes import (
    FACILITATOR,
    MEMBER_NAMES,
    SCENES,
    TIMEZONE,
    SceneFailed,
    Stage,
)

CHANNEL = "tuesday-circle"
RULE = "━" * 72
EXIT_FAILED = 1

InputFn = Callable[[str], str]

INTRO = f"""\
{RULE}
 Circlekeeper sandbox: a local simulation
{RULE}
 Nothing here touches the internet or real Discord. This process runs a small
 Discord-compatible server on 127.0.0.1 and the real, unmodified Circlekeeper bot
 against it, with a throwaway database that is deleted when it exits.

 Server “Sandbox”, channel #{CHANNEL}. Members: Ada (facilitator: Manage Server),
 Sam, Kai and Noor; they are simulated. Below is everything they do (“Sam ▸ …”) and
 everything the bot answers (“bot → …”). “only Sam sees this” marks a private
 (ephemeral) reply; DMs are marked as DMs.
{RULE}"""


# -- rendering ---------------------------------------------------------------------------------
@dataclass
class Names:
    """Turns Discord's markup into what a member's client would show."""

    server: LocalDiscord
    zone: ZoneInfo

    def _user(self, match: re.Match[str]) -> str:
        return "@" + self.server.user_name(int(match["id"]))

    def _channel(self, match: re.Match[str]) -> str:
        channel = self.server.state.channels.get(int(match["id"]))
        return f"#{channel.name}" if channel is not None else "#unknown-channel"

    def _time(self, match: re.Match[str]) -> str:
        when = datetime.fromtimestamp(int(match["ts"]), UTC).astimezone(self.zone)
        style = match["style"] or "f"
        if style == "R":
            return _relative(when)
        if style in ("t", "T"):
            return f"{when:%H:%M %Z}"
        if style in ("d", "D"):
            return f"{when:%a %d %b %Y}"
        return f"{when:%a %d %b %Y, %H:%M %Z}"

    def __call__(self, text: str) -> str:
        text = re.sub(r"<@!?(?P<id>\d+)>", self._user, text)
        text = re.sub(r"<#(?P<id>\d+)>", self._channel, text)
        text = re.sub(r"<t:(?P<ts>-?\d+)(?::(?P<style>[tTdDfFR]))?>", self._time, text)
        text = re.sub(r"\*\*(.+?)\*\*", r"\1", text, flags=re.S)
        return re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1 (\2)", text)


def _relative(when: datetime) -> str:
    seconds = (when - datetime.now(UTC)).total_seconds()
    span = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if span >= size:
            n = round(span / size)
            amount = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        return "just now"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


# Events the transcript records that a reader does not need.
class Printer:
    """Prints transcript events as they arrive, plus the sandbox's own narration."""

    def __init__(self, out: TextIO, names: Callable[[str], str] = str) -> None:
        self.out, self.names = out, names
        self.seen: set[str] = set()

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def event(self, event: Event) -> None:
        shown = render_event(event, self.names, self.seen)
        if shown is not None:
            self.line(shown)

    def narrate(self, text: str) -> None:
        self.line(f"\n  · {text}")


# -- the world ---------------------------------------------------------------------------------
@dataclass
class World:
    server: LocalDiscord
    guild: Guild
    channel: Channel
    members: dict[str, Member]


def build_world(server: LocalDiscord) -> World:
    guild = server.create_guild("Sandbox", owner="Sandbox owner")
    members = {
        name: guild.add_member(name, manage_guild=name == FACILITATOR) for name in MEMBER_NAMES
    }
    channel = guild.create_text_channel(CHANNEL)
    for member in members.values():
        member.default_channel = channel
    return World(server, guild, channel, members)


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Startup chatter (migrations applied, a new key generated for the throwaway database,
    no voice support) is noise next to the transcript; real warnings still show."""
    levels = {
        "discord": logging.WARNING,
        "discord.client": logging.ERROR,
        "bot": logging.WARNING,
        "bot.storage.crypto": logging.ERROR,
    }
    loggers = {logging.getLogger(name): level for name, level in levels.items()}
    saved = {lg: lg.level for lg in loggers}
    for lg, level in loggers.items():
        lg.setLevel(max(level, lg.getEffectiveLevel()))
    try:
        yield
    finally:
        for lg, level in saved.items():
            lg.setLevel(level)


@contextlib.contextmanager
def _restored_endpoints() -> Iterator[None]:
    """The harness points discord.py at the local server; put the real endpoints back after."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def play_scenes(stage: Stage, printer: Printer) -> None:
    for number, scene in enumerate(SCENES, 1):
        printer.line(f"\n\n── {number}. {scene.title} " + "─" * max(4, 64 - len(scene.title)))
        printer.narrate(scene.intro)
        try:
            await scene.play(stage)
        except (SceneFailed, DriverError, TimeoutError) as error:
            raise SceneFailed(f"scene {number} ({scene.title}) failed: {error}") from error


async def run_sandbox(
    interactive: bool = False,
    record: Path | None = None,
    *,
    out: TextIO | None = None,
    input_fn: InputFn | None = None,
    scenes: bool | None = None,
) -> int:
    """Play the sandbox; 0 when every scene went as scripted (or the prompt was left).

    `scenes` defaults to "not interactive"; `input_fn` replaces `input` (see
    `interactive.read_line`) for the prompt.
    """
    out = out or sys.stdout
    play = (not interactive) if scenes is None else scenes
    started = time.monotonic()
    printer = Printer(out)
    status = 0
    server: LocalDiscord | None = None
    printer.line(INTRO)
    try:
        with (
            _quiet_logs(),
            _restored_endpoints(),
            tempfile.TemporaryDirectory(prefix="circlekeeper-sandbox-") as tmp,
        ):
            async with LocalDiscord(bot_permissions=INVITE_PERMISSIONS) as server:
                world = build_world(server)
                printer.names = Names(server, ZoneInfo(TIMEZONE))
                clock = MovableClock()  # scenes may move time ("two minutes later")
                async with running_bot(server, Path(tmp) / "circlekeeper.db", clock=clock) as bot:
                    await server.wait_until_connected()
                    commands = sorted(c.name for c in server.commands())
                    printer.line(
                        f" Bot “{bot.user}” is online ({server.api_base}); "
                        f"{len(commands)} commands: /{', /'.join(commands)}"
                    )
                    printer.line(
                        f" Times are shown in the circle's zone, {TIMEZONE}."
                        if play
                        else " Type `help` for what you can do."
                    )
                    unsubscribe = server.transcript.subscribe(printer.event)
                    stage = Stage(
                        server, world.guild, world.channel, world.members, printer.narrate
                    )
                    stage.notes["advance"] = time_mover(bot, clock)
                    try:
                        if play:
                            await play_scenes(stage, printer)
                        if interactive:
                            from bot.sandbox.interactive import Prompt, read_line

                            await Prompt(stage, printer, input_fn or read_line).loop()
                    finally:
                        unsubscribe()
    except SceneFailed as error:
        status = EXIT_FAILED
        _fail(printer, str(error))
    except TimeoutError as error:
        status = EXIT_FAILED
        _fail(printer, f"the bot did not start against the local server: {error}")
    except Exception as error:  # a bug: say so plainly, with the traceback on stderr
        status = EXIT_FAILED
        traceback.print_exc(file=sys.stderr)
        _fail(printer, f"unexpected {type(error).__name__}: {error}")
    finally:
        if record is not None and server is not None:
            with record.open("w", encoding="utf-8") as stream:
                server.transcript.write_jsonl(stream)
    elapsed = time.monotonic() - started
    if status == 0:
        printer.line(f"\n{RULE}")
        if play:
            printer.line(
                f" Done in {elapsed:.1f} s: every scene went as scripted. Try it yourself with "
                "`circlekeeper sandbox --interactive`;\n invite the bot for real with "
                "`circlekeeper run` (see the README)."
            )
        else:
            printer.line(f" Sandbox closed after {elapsed:.1f} s; its database was deleted.")
        if record is not None:
            printer.line(f" Transcript written to {record} (JSON lines).")
        printer.line(RULE)
    return status


def _fail(printer: Printer, message: str) -> None:
    printer.line(f"\n{RULE}\n ✗ Sandbox stopped: {message}\n{RULE}")
    if printer.out is not sys.stderr:
        print(f"circlekeeper sandbox: {message}", file=sys.stderr)
