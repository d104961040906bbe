"""Typed settings, read once from the environment and `.env`, validated at startup.

A bad value raises :class:`ConfigError` naming the variable and what a good value looks
like; the CLI prints that one line and exits with status 2.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.endpoints import DISCORD_API_BASE, DISCORD_GATEWAY_URL
from bot.errors import ConfigError
from bot.sharding import Ownership, format_shards, parse_shards

DEFAULT_DB_PATH = Path("data/circlekeeper.db")
DEFAULT_METRICS_HOST = "127.0.0.1"  # loopback: the endpoint is not on the network unless asked
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SNOWFLAKE = re.compile(r"^\d{15,21}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.\-]{20,200}$")


# Discord rate-limits or quarantines bots that open many DMs quickly: one feature's DMs go
# out one at a time, this many seconds apart (CIRCLEKEEPER_DM_GAP).
DEFAULT_DM_GAP = 1.0


@dataclass(frozen=True)
class Settings:
    token: str | None
    api_base: str
    gateway_url: str
    dev_guild_id: int | None
    db_path: Path
    data_key: str | None
    log_level: str
    db_url: str | None = None  # a postgresql:// URL; None = the SQLite file at db_path
    metrics_port: int | None = None  # /metrics and /healthz; None = off (tests pass 0: any free)
    metrics_host: str = DEFAULT_METRICS_HOST
    # the shards this process runs; default: unsharded
    ownership: Ownership = field(default_factory=Ownership)
    # the soak runner's clock (bot.clock.SharedClock); None = the system's time
    clock_file: Path | None = None
    dm_min_gap: float = DEFAULT_DM_GAP  # seconds between two DMs of one feature

    @property
    def shard_label(self) -> str:
        return "unsharded" if not self.ownership.sharded else self.ownership.label

    @property
    def database(self) -> str | Path:
        """What `Database.open` takes: the PostgreSQL URL, or the SQLite path."""
        return self.db_url or self.db_path

    @property
    def database_label(self) -> str:
        """The database for messages: never a password."""
        from bot.storage.database import redact_url

        return redact_url(self.db_url) if self.db_url else str(self.db_path)

    def require_token(self) -> str:
        if self.token is None:
            raise ConfigError(
                "DISCORD_TOKEN",
                "is not set; `run` needs the bot token from the Discord developer portal",
                "DISCORD_TOKEN=MTIz...your-bot-token (in .env or the environment)",
            )
        return self.token

    @property
    def key_path(self) -> Path:
        """Where a generated data key lives: beside the SQLite file (with PostgreSQL, beside
        where that file would be: data/circlekeeper.key unless CIRCLEKEEPER_DATA_KEY is set)."""
        return self.db_path.with_suffix(".key")

    def __repr__(self) -> str:  # never show the token or key, even in a debugger
        return (
            f"Settings(api_base={self.api_base!r}, gateway_url={self.gateway_url!r}, "
            f"dev_guild_id={self.dev_guild_id!r}, database={self.database_label!r}, "
            f"log_level={self.log_level!r}, metrics_port={self.metrics_port!r}, "
            f"metrics_host={self.metrics_host!r}, shards={self.shard_label!r}, "
            f"token={'set' if self.token else 'unset'}, "
            f"data_key={'set' if self.data_key else 'unset'})"
        )


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Merge `.env` under the process environment (the environment wins) and validate."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        if raw is None or raw.strip() == "":
            return None
        return raw.strip()

    db_raw = get("CIRCLEKEEPER_DB")
    return Settings(
        token=_token(get("DISCORD_TOKEN")),
        api_base=_url(
            get("DISCORD_API_BASE"), "DISCORD_API_BASE", ("http", "https"), DISCORD_API_BASE
        ),
        gateway_url=_url(
            get("DISCORD_GATEWAY_URL"), "DISCORD_GATEWAY_URL", ("ws", "wss"), DISCORD_GATEWAY_URL
        ),
        dev_guild_id=_snowflake(get("DISCORD_DEV_GUILD_ID")),
        db_path=_db_path(get("CIRCLEKEEPER_DB")),
        db_url=_db_url(get("CIRCLEKEEPER_DB")),
        data_key=_data_key(get("CIRCLEKEEPER_DATA_KEY")),
        log_level=_log_level(get("LOG_LEVEL")),
        metrics_port=_metrics_port(get("CIRCLEKEEPER_METRICS_PORT")),
        metrics_host=_metrics_host(get("CIRCLEKEEPER_METRICS_HOST")),
        ownership=sharding(
            get("CIRCLEKEEPER_SHARDS"), get("CIRCLEKEEPER_SHARD_COUNT"), _db_url(db_raw)
        ),
        clock_file=_clock_file(get("CIRCLEKEEPER_CLOCK_FILE")),
        dm_min_gap=_dm_gap(get("CIRCLEKEEPER_DM_GAP")),
    )


def _dm_gap(raw: str | None) -> float:
    if raw is None:
        return DEFAULT_DM_GAP
    try:
        gap = float(raw)
    except ValueError:
        gap = -1.0
    if not 0.05 <= gap <= 60:
        raise ConfigError(
            "CIRCLEKEEPER_DM_GAP",
            f"{raw!r} is not a number of seconds from 0.05 to 60",
            "CIRCLEKEEPER_DM_GAP=1.0 (the default)",
        )
    return gap


def _clock_file(raw: str | None) -> Path | None:
    """Only the soak runner sets it: the file its moved clock lives in."""
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(
            "CIRCLEKEEPER_CLOCK_FILE",
            "no such file",
            "leave it unset (the system's time); the soak runner sets it for its own runs",
        )
    return path


def sharding(shards: str | None, shard_count: str | None, db_url: str | None) -> Ownership:
    """The shards this process runs (`--shards 0-3 --shard-count 8`, or
    CIRCLEKEEPER_SHARDS / CIRCLEKEEPER_SHARD_COUNT). A count alone runs every shard here.

    Several shard processes share one database, so a partial shard set needs PostgreSQL:
    SQLite is one process's embedded store (its write lock is per process), so it is refused
    there rather than left to corrupt timing between processes."""
    if shards is None and shard_count is None:
        return Ownership()
    example = "--shards 0-3 --shard-count 8 (CIRCLEKEEPER_SHARDS=0-3, CIRCLEKEEPER_SHARD_COUNT=8)"
    if shard_count is None or not shard_count.isdigit() or int(shard_count) < 1:
        raise ConfigError(
            "CIRCLEKEEPER_SHARD_COUNT",
            "must be the total number of shards (a whole number ≥ 1) whenever shards are set",
            example,
        )
    count = int(shard_count)
    try:
        ids = parse_shards(shards) if shards is not None else tuple(range(count))
        ownership = Ownership(ids, count)
    except ValueError as error:
        raise ConfigError("CIRCLEKEEPER_SHARDS", str(error), example) from None
    if db_url is None and not ownership.everything:
        raise ConfigError(
            "CIRCLEKEEPER_SHARDS",
            f"runs {format_shards(ids)} of {count} shards, so other processes run the rest; "
            "shard processes share a PostgreSQL database, SQLite serves one process",
            "CIRCLEKEEPER_DB=postgresql://circlekeeper:secret@localhost:5432/circlekeeper, "
            f"or run every shard in one process: --shard-count {count}",
        )
    return ownership


def _token(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _TOKEN.match(raw):
        raise ConfigError(
            "DISCORD_TOKEN",
            "does not look like a bot token (letters, digits, dots, dashes; no spaces or quotes)",
            "DISCORD_TOKEN=MTIz...your-bot-token",
        )
    return raw


def _url(raw: str | None, name: str, schemes: tuple[str, ...], default: str) -> str:
    if raw is None:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(name, f"{raw!r} is not a {'/'.join(schemes)} URL", f"{name}={default}")
    return raw.rstrip("/") if name == "DISCORD_API_BASE" else raw


def _snowflake(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not _SNOWFLAKE.match(raw):
        raise ConfigError(
            "DISCORD_DEV_GUILD_ID",
            f"{raw!r} is not a server id (a number of 15 to 21 digits)",
            "DISCORD_DEV_GUILD_ID=123456789012345678",
        )
    return int(raw)


def _db_url(raw: str | None) -> str | None:
    if raw is None or urlsplit(raw).scheme not in ("postgresql", "postgres"):
        return None
    parts = urlsplit(raw)
    if not parts.path.strip("/"):
        raise ConfigError(
            "CIRCLEKEEPER_DB",
            "is a PostgreSQL URL without a database name",
            "CIRCLEKEEPER_DB=postgresql://circlekeeper:secret@localhost:5432/circlekeeper",
        )
    return raw


def _db_path(raw: str | None) -> Path:
    if raw is None or _db_url(raw) is not None:
        return DEFAULT_DB_PATH
    path = Path(raw).expanduser()
    if path.is_dir():
        raise ConfigError(
            "CIRCLEKEEPER_DB",
            f"{raw!r} is a folder, not a file",
            "CIRCLEKEEPER_DB=data/circlekeeper.db",
        )
    return path


def _data_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ConfigError(
            "CIRCLEKEEPER_DATA_KEY",
            "is not a 32-byte url-safe base64 key",
            'the output of `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`',
        )
    return raw


def _log_level(raw: str | None) -> str:
    if raw is None:
        return "INFO"
    level = raw.upper()
    if level not in LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(
            "LOG_LEVEL",
            f"{raw!r} is not a log level",
            "LOG_LEVEL=INFO (one of " + ", ".join(LOG_LEVELS) + ")",
        )
    return level


def _metrics_port(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(
            "CIRCLEKEEPER_METRICS_PORT",
            f"{raw!r} is not a port (a number from 1 to 65535); leave it unset to turn metrics off",
            "CIRCLEKEEPER_METRICS_PORT=9464",
        )
    return int(raw)


def _metrics_host(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_METRICS_HOST
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise ConfigError(
            "CIRCLEKEEPER_METRICS_HOST",
            f"{raw!r} is not an IP address to listen on",
            f"CIRCLEKEEPER_METRICS_HOST={DEFAULT_METRICS_HOST} (or 0.0.0.0 for every interface)",
        ) from None
    return raw
