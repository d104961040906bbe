"""The real bot as a separate OS process, so a test can kill it for real and start it again.

`BotProcess` runs `python -m bot run` (the same path as `circlekeeper run`) with its
environment pointing at an in-test `LocalDiscord` on loopback, a database file and a
fixed data key. `start()` waits for the bot's "Ready" log line (its outbox worker runs
by then); `kill()` sends SIGKILL: no shutdown code runs, as in a power cut or an OOM kill.
The child also dies with the test process (PR_SET_PDEATHSIG), so a failing or
interrupted test leaves no orphan behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cryptography.fernet import Fernet

from bot.localdiscord import LocalDiscord

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Ready: "
PR_SET_PDEATHSIG = 1
START_TIMEOUT = 60.0  # a cold interpreter on a loaded 2-core machine
_OWN_VARIABLES = ("DISCORD_", "CIRCLEKEEPER_", "LOG_LEVEL")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class BotProcess:
    """One bot installation (database + key) that can be started, killed and started again."""

    def __init__(
        self,
        server: LocalDiscord,
        db_path: Path,
        data_key: str | None = None,
        *,
        database_url: str | None = None,
        shards: str | None = None,
        shard_count: int | None = None,
    ) -> None:
        """`database_url` (PostgreSQL) replaces the SQLite file (`db_path`'s folder stays the
        working directory); `shards`/`shard_count` become `run --shards … --shard-count …`."""
        self.server = server
        self.db_path = db_path
        self.database_url = database_url
        self.run_args = ["run"]
        if shards is not None:
            self.run_args += ["--shards", shards]
        if shard_count is not None:
            self.run_args += ["--shard-count", str(shard_count)]
        self.data_key = data_key or Fernet.generate_key().decode()
        self.lines: list[str] = []  # everything the bot logged, across starts
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARIABLES)}
        env.update(
            DISCORD_TOKEN=self.server.token,
            DISCORD_API_BASE=self.server.api_base,
            DISCORD_GATEWAY_URL=self.server.gateway_url,
            CIRCLEKEEPER_DB=self.database_url or str(self.db_path),
            CIRCLEKEEPER_DATA_KEY=self.data_key,
            LOG_LEVEL="INFO",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        return env

    async def start(self, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
        """Launch `python -m bot run` and wait until it logs that it is ready."""
        if self.running:
            raise RuntimeError("the bot process is already running")
        readies = self._ready_count()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.run_args,
            cwd=self.db_path.parent,  # no stray .env of the developer's is read
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.starts += 1
        self._reader = asyncio.create_task(self._read(self._proc))
        try:
            await self.wait_for_log(lambda: self._ready_count() > readies, timeout, "ready")
        except BaseException:
            await self.kill()
            raise

    async def kill(self) -> None:
        """SIGKILL the bot and wait until it is gone (a no-op when it is not running)."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
        await proc.wait()
        if self._reader is not None:
            await self._reader  # the pipe closes with the process
        self._proc, self._reader = None, None

    async def restart(self, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
        await self.kill()
        await self.start(timeout)

    async def wait_for_log(
        self,
        condition: str | Callable[[], bool],
        timeout: float = START_TIMEOUT,  # noqa: ASYNC109
        what: str = "",
    ) -> None:
        """Until `condition` (a substring of a logged line, or a callable) holds."""
        if isinstance(condition, str):
            text = condition
            check: Callable[[], bool] = lambda: any(text in line for line in self.lines)  # noqa: E731
        else:
            check = condition
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            if self._reader is None or self._reader.done():
                code = None if self._proc is None else self._proc.returncode
                raise RuntimeError(
                    f"the bot is not running (exit {code}) while waiting for "
                    f"{what or condition}\n{self.tail()}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"the bot did not log {what or condition} in time\n{self.tail()}"
                )
            self._new_line.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_line.wait(), min(remaining, 0.5))

    def tail(self, count: int = 30) -> str:
        return "\n".join(f"  | {line}" for line in self.lines[-count:])

    def _ready_count(self) -> int:
        return sum(READY_LINE in line for line in self.lines)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._new_line.set()
        self._new_line.set()

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()
