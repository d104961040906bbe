"""Logging that carries ids, never secrets.

A filter on the root handler replaces the bot token and the data key wherever they
appear (messages, arguments, formatted tracebacks). Member text never reaches logs by
design: log calls pass ids; tracebacks are redacted by :func:`redacted_traceback`. Each record
is one line (:class:`OneLineFormatter`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, "[redacted]")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        record.msg, record.args = message, None
        return True


class OneLineFormatter(logging.Formatter):
    """One record, one line: newlines in a message or a traceback are written as ``\\n``, so a
    log shipper never splits a record, and no text can forge a record of its own."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


def configure_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def redacted_traceback(error: BaseException) -> str:
    """The stack of an error with exception messages dropped: they may quote member input."""
    lines: list[str] = []
    current: BaseException | None = error
    while current is not None:
        frames = traceback.format_tb(current.__traceback__)
        lines.append("".join(frames) + f"{type(current).__module__}.{type(current).__qualname__}\n")
        current = current.__cause__ or current.__context__
    return "\n(caused by)\n".join(reversed(lines))
