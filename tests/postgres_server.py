"""A throwaway PostgreSQL server for the test suite (the Debian `postgresql` package).

`initdb` in a fresh temporary directory, `pg_ctl start` listening only on a Unix socket in
that directory (no TCP port, nothing global touched), one fresh database per request, and
`pg_ctl stop` + removal at the end. `initdb` refuses to run as root, so under root (as in
CI) the server runs as the `postgres` system user the package creates.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    return Path(found).parent if found else None


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    user: str | None  # run the server as this system user (when we are root)
    _names: Any = None

    @property
    def socket_dir(self) -> Path:
        return self.root

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        options: dict[str, Any] = {}
        if self.user is not None:
            options["user"] = self.user
            options["group"] = pwd.getpwnam(self.user).pw_gid
            options["extra_groups"] = []
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
            **options,
        )

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL is not installed: `apt-get install postgresql` (CI: `bash .ci/run`)"
            )
        user = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="circlekeeper-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server = cls(bindir, root, user, itertools.count(1))
        try:
            server._run("initdb", "-D", "data", "-U", "postgres", "-A", "trust", "-E", "UTF8")
            options = (
                f"-c listen_addresses='' -c unix_socket_directories='{root}' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            server._run("pg_ctl", "-D", "data", "-l", "server.log", "-w", "-o", options, "start")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "test") -> str:
        """A fresh, empty database; its URL."""
        name = f"{prefix}_{next(self._names)}"
        self._run("createdb", "-h", str(self.socket_dir), "-U", "postgres", name)
        return self.url(name)
