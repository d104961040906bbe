import io
import logging

import pytest

from bot.logging_setup import (
    OneLineFormatter,
    SecretFilter,
    configure_logging,
    redacted_traceback,
)

TOKEN = "MTIzNDU2Nzg5.secret-token-value_abcdefghij"


def _logger(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger("test.secret")
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter([TOKEN, None]))
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger


def test_the_token_is_redacted_from_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    logger.warning("connecting with %s", TOKEN)
    logger.warning(f"header Authorization: Bot {TOKEN}")
    try:
        raise RuntimeError(f"login failed for {TOKEN}")
    except RuntimeError:
        logger.exception("failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count("[redacted]") == 3


def test_redacted_traceback_keeps_the_stack_and_drops_the_member_text() -> None:
    member_text = "I have not told anyone about the appointment"
    try:
        try:
            raise KeyError(member_text)
        except KeyError as inner:
            raise ValueError(member_text) from inner
    except ValueError as error:
        text = redacted_traceback(error)
    assert member_text not in text
    assert "builtins.ValueError" in text and "builtins.KeyError" in text
    assert "test_redacted_traceback_keeps_the_stack" in text


def test_each_record_is_one_line_tracebacks_included() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    logger.handlers[0].setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logger.warning("two\nlines\r\nhere")
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        logger.error("failed\n%s", redacted_traceback(error))
        logger.exception("failed again")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0] == "WARNING test.secret: two\\nlines\\r\\nhere"
    assert "builtins.RuntimeError" in lines[1] and "Traceback" in lines[2]


def test_configured_logging_writes_one_line_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("discord").level
    try:
        configure_logging("INFO", [TOKEN])
        logging.getLogger("test.oneline").warning("first\nsecond %s", TOKEN)
    finally:
        root.handlers[:], level, discord_level = saved
        root.setLevel(level)
        logging.getLogger("discord").setLevel(discord_level)
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("test.oneline: first\\nsecond [redacted]")
