"""`circlekeeper sandbox --interactive`: type slash commands as one of the simulated members.

    Ada> /facilitate circle create name:"Tuesday Evenings" timezone:America/New_York
    Ada> as Sam: /circle join circle:"Tuesday Evenings"
    Sam> click I agree

Input is read in a daemon worker thread, so the bot and the local server
keep running while the prompt waits; replies print as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.localdiscord import CommandHidden, ComponentNotFound, DriverError, Member, Modal, Reply
from bot.sandbox.scenes import FACILITATOR, Stage

if TYPE_CHECKING:
    from bot.sandbox.runner import Printer

SUBCOMMAND_TYPES = (1, 2)
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}
AS_PREFIX = re.compile(r"^as\s+(?P<name>[^:\s]+)\s*(?::\s*(?P<rest>.*))?$", re.IGNORECASE)

HELP = """\
  What you can type (you act as the member named in the prompt):
    /crisis region:UK                  run a slash command; options as name:value,
    /circle join circle:"Tuesday Evenings"   values with spaces in "quotes"
    dm /crisis                         run a command in your DM with the bot
    as Sam: /checkin history           act as Sam (and stay Sam); `as Ada` switches only
    click I agree                      press a button on your last reply, or the latest
                                       message in the channel that has it
    members                            who is here (Ada is the facilitator)
    scenes                             play the scripted walk-through
    help                               this text
    quit                               leave (Ctrl-D works too)
  When the bot opens a form, you fill it field by field; for a menu, type a number.

  A first walk-through:
    /facilitate circle create name:"Tuesday Evenings" timezone:America/New_York
    as Sam: /circle join circle:"Tuesday Evenings"
    click I agree
    as Ada: /facilitate checkin now circle:"Tuesday Evenings"
    as Sam: click Check in
    as Ada: /facilitate checkin close circle:"Tuesday Evenings\""""


def read_line(prompt: str) -> str:
    """`input`, except on a pipe: there it reads fd 0 unbuffered, so a reader thread never
    holds `sys.stdin`'s lock when Ctrl-C ends the process (a fatal error at shutdown)."""
    if sys.stdin is None:
        raise EOFError
    if sys.stdin.isatty():
        return input(prompt)
    sys.stdout.write(prompt)
    sys.stdout.flush()
    data = bytearray()
    while (byte := os.read(sys.stdin.fileno(), 1)) not in (b"", b"\n"):
        data += byte
    if not byte and not data:
        raise EOFError
    return data.decode("utf-8", errors="replace").rstrip("\r")


class InputError(ValueError):
    """What the person typed could not be understood."""


def parse_command(text: str) -> tuple[str, dict[str, str]]:
    """`/facilitate checkin now circle:"Tuesday Evenings"` →
    ("/facilitate checkin now", {"circle": "Tuesday Evenings"})."""
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise InputError(f"could not read that: {error}") from error
    if not tokens or not tokens[0].startswith("/"):
        raise InputError("commands start with /, e.g. /crisis region:UK")
    path: list[str] = []
    options: dict[str, str] = {}
    for token in tokens:
        name, colon, value = token.partition(":")
        if not colon:
            if options:
                raise InputError(f"expected name:value after the options, got {token!r}")
            path.append(token)
            continue
        if not name:
            raise InputError(f"option {token!r} has no name before the colon")
        options[name] = value
    return " ".join(path), options


class Prompt:
    def __init__(self, stage: Stage, printer: Printer, input_fn: Callable[[str], str]) -> None:
        self.stage, self.printer, self.input_fn = stage, printer, input_fn
        self.current: Member = stage.members[FACILITATOR]
        self.last: dict[int, Reply] = {}
        self.played = False

    async def ask(self, prompt: str) -> str:
        """`input` off the event loop, so the bot keeps running while the prompt waits.

        Like `asyncio.to_thread`, but in a daemon thread: on Ctrl-C the process exits at
        once instead of waiting (in the executor's shutdown) for a line that never comes."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def deliver(result: str | None, error: BaseException | None) -> None:
            if answer.done():
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(result or "")

        def read() -> None:
            try:
                line, error = self.input_fn(prompt), None
            except BaseException as exc:  # EOFError, KeyboardInterrupt: the loop decides
                line, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(deliver, line, error)

        threading.Thread(target=read, name="sandbox-prompt", daemon=True).start()
        return await answer

    def say(self, text: str) -> None:
        self.printer.line(text)

    async def loop(self) -> None:
        self.say(
            f"\n  You are {self.current.name} in #{self.stage.channel.name}. Type `help` for "
            "examples, `quit` to leave."
        )
        while True:
            try:
                line = (await self.ask(f"\n{self.current.name}> ")).strip()
            except EOFError:
                self.say("")
                return
            if line.lower() in {"quit", "exit", "q"}:
                return
            try:
                await self.handle(line)
            except EOFError:
                self.say("")
                return
            except (InputError, DriverError) as error:
                self.say(f"  ✗ {error}")
            except TimeoutError as error:
                self.say(f"  ✗ no answer in time: {error}")

    async def handle(self, line: str) -> None:
        if not line:
            return
        match = AS_PREFIX.match(line)
        if match:
            self.current = self.member(match["name"])
            line = (match["rest"] or "").strip()
            if not line:
                self.say(f"  You are now {self.current.name}.")
                return
        word = line.split(maxsplit=1)[0].lower()
        if word in {"help", "?"}:
            self.say(HELP)
        elif word == "members":
            self.members()
        elif word == "scenes":
            await self.scenes()
        elif word == "click":
            await self.click(line.split(maxsplit=1)[1] if " " in line else "")
        elif word == "dm":
            await self.command(line.split(maxsplit=1)[1] if " " in line else "", dm=True)
        elif line.startswith("/"):
            await self.command(line, dm=False)
        else:
            raise InputError(f"I don't know {word!r}. Type `help` for what you can do.")

    def member(self, name: str) -> Member:
        for member in self.stage.members.values():
            if member.name.casefold() == name.strip().lstrip("@").casefold():
                return member
        known = ", ".join(self.stage.members)
        raise InputError(f"no member named {name!r}; members: {known}")

    def members(self) -> None:
        for member in self.stage.members.values():
            role = " (facilitator: Manage Server)" if member.name == FACILITATOR else ""
            you = "   ← you" if member is self.current else ""
            self.say(f"  {member.name}{role}{you}")

    async def scenes(self) -> None:
        from bot.sandbox.runner import play_scenes

        if self.played:
            raise InputError("the scenes already played in this sandbox")
        self.played = True
        await play_scenes(self.stage, self.printer)

    # -- commands ---------------------------------------------------------------------------
    def _schema(self, path: str, dm: bool) -> list[dict[str, Any]]:
        parts = path.lstrip("/").split()
        scopes = [None] if dm else [self.stage.guild.id, None]
        for scope in scopes:
            for cmd in self.stage.server.commands(scope):
                if cmd.type != 1 or not parts or cmd.name != parts[0]:
                    continue
                options: list[dict[str, Any]] = cmd.data.get("options") or []
                for sub in parts[1:]:
                    node = next(
                        (o for o in options if o["name"] == sub and o["type"] in SUBCOMMAND_TYPES),
                        None,
                    )
                    if node is None:
                        return []  # the driver names what is wrong
                    options = node.get("options") or []
                return options
        return []

    def _value(self, option: dict[str, Any] | None, raw: str) -> Any:
        if option is None:
            return raw
        otype, name = option.get("type"), option.get("name")
        if otype == 5:
            word = raw.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise InputError(f"{name} is true or false, not {raw!r}")
            return word in TRUE_WORDS
        if otype in (4, 10):
            try:
                return int(raw) if otype == 4 else float(raw)
            except ValueError:
                raise InputError(f"{name} takes a number, not {raw!r}") from None
        if otype == 6:
            return self.member(raw)
        if otype == 7:
            try:
                return self.stage.guild.channel(raw.strip().lstrip("#"))
            except LookupError as error:
                raise InputError(str(error)) from None
        if otype in (8, 9):
            wanted = raw.strip().lstrip("@").casefold()
            for role in self.stage.guild.record.roles.values():
                if role.name.casefold().lstrip("@") == wanted:
                    return role
            if otype == 9:
                return self.member(raw)
            raise InputError(f"no role named {raw!r}")
        return raw

    async def command(self, text: str, *, dm: bool) -> None:
        path, given = parse_command(text)
        schema = {o["name"].replace("-", "_"): o for o in self._schema(path, dm)}
        options = {k: self._value(schema.get(k.replace("-", "_")), v) for k, v in given.items()}
        member = self.current
        channel = None if dm else self.stage.channel
        try:
            reply = await member.run(path, channel=channel, dm=dm, options=options)
        except CommandHidden:
            top = path.split()[0]
            raise InputError(
                f"Discord does not show {top} to {member.name} here"
                + (" (it is for servers)." if dm else " (it needs Manage Server).")
            ) from None
        await self.after(member, reply)

    async def click(self, label: str) -> None:
        label = label.strip().strip("[]").strip().strip("\"'")
        if not label:
            raise InputError("click what? e.g. click I agree")
        member = self.current
        reply: Reply | None = None
        last = self.last.get(member.id)
        if last is not None:
            try:
                reply = await member.click(label, message=last)
            except ComponentNotFound:
                reply = None
        if reply is None:
            channel = (
                self.stage.server.channel(last.interaction.channel_id)
                if last is not None
                else self.stage.channel
            )
            try:
                reply = await member.click(label, channel=channel)
            except ComponentNotFound:
                if channel is self.stage.channel:
                    raise
                reply = await member.click(label, channel=self.stage.channel)
        await self.after(member, reply)

    async def after(self, member: Member, reply: Reply) -> None:
        self.last[member.id] = reply
        modal = reply.modal
        if modal is not None:
            filled = await self.fill(modal)
            self.last[member.id] = await member.submit(modal, filled)

    # -- modals --------------------------------------------------------------------------
    async def fill(self, modal: Modal) -> dict[str, Any]:
        self.say(f"  Fill in “{modal.title}” (Enter skips an optional field):")
        values: dict[str, Any] = {}
        labels = [label for label, _ in modal.fields]
        for label, comp in modal.fields:
            # by label, as the transcript shows it; custom_id only when labels repeat
            key = label if label and labels.count(label) == 1 else str(comp.get("custom_id"))
            required = bool(comp.get("required", True))
            hint = "" if required else " (optional)"
            if comp.get("type") == 4:
                while True:
                    text = await self.ask(f"    {label}{hint}: ")
                    if text or not required:
                        break
                    self.say("    (this field is required)")
                values[key] = text
                continue
            options = comp.get("options") or []
            if not options:  # user/role/channel menus: names, comma-separated
                text = await self.ask(f"    {label}{hint} (names, comma-separated): ")
                values[key] = [self._value({"type": 9}, t) for t in text.split(",") if t.strip()]
                continue
            self.say(f"    {label}{hint}:")
            for number, option in enumerate(options, 1):
                self.say(f"      {number}) {option.get('label')}")
            values[key] = await self.choose(label, options, required)
        return values

    async def choose(
        self, label: str, options: list[dict[str, Any]], required: bool
    ) -> str | list[str]:
        """One option's label (a number picks by position); [] skips an optional menu."""
        while True:
            text = (await self.ask(f"    {label} [1-{len(options)}]: ")).strip()
            if not text and not required:
                return []
            if text.isdigit() and 1 <= int(text) <= len(options):
                return str(options[int(text) - 1]["label"])
            for option in options:
                if text.casefold() in (
                    str(option.get("label")).casefold(),
                    str(option.get("value")).casefold(),
                ):
                    return str(option["label"])
            self.say(f"    (type a number from 1 to {len(options)})")
