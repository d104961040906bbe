from pathlib import Path

import pytest

from bot.endpoints import DISCORD_API_BASE
from bot.errors import ConfigError
from bot.settings import load_settings

GOOD_KEY = "q1Xx7hUeU9qA7jPZ7hV0YV3lK0F3xP1bXb6xYQ2pJZk="
FIXTURE_ENV = Path(__file__).parent / "fixtures" / "good.env"


def test_defaults_without_any_variable() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.token is None
    assert settings.api_base == DISCORD_API_BASE
    assert settings.db_path == Path("data/circlekeeper.db")
    assert settings.log_level == "INFO"
    assert settings.dev_guild_id is None
    assert settings.metrics_port is None  # metrics off: nothing listens
    assert settings.metrics_host == "127.0.0.1"
    assert settings.dm_min_gap == 1.0
    assert settings.clock_file is None  # the system's time


def test_metrics_port_and_host_are_read() -> None:
    settings = load_settings(
        {"CIRCLEKEEPER_METRICS_PORT": "9464", "CIRCLEKEEPER_METRICS_HOST": "::1"}, env_file=None
    )
    assert (settings.metrics_port, settings.metrics_host) == (9464, "::1")


def test_dm_gap_and_clock_file_are_read(tmp_path: Path) -> None:
    (tmp_path / "clock").write_bytes(bytes(16))
    settings = load_settings(
        {"CIRCLEKEEPER_DM_GAP": "0.1", "CIRCLEKEEPER_CLOCK_FILE": str(tmp_path / "clock")},
        env_file=None,
    )
    assert (settings.dm_min_gap, settings.clock_file) == (0.1, tmp_path / "clock")


def test_fixture_env_file_is_read_and_environment_wins() -> None:
    settings = load_settings({"LOG_LEVEL": "warning"}, env_file=FIXTURE_ENV)
    assert settings.token == "fixture.token-abcdefghijklmnopqrstuvwxyz"
    assert settings.api_base == "http://127.0.0.1:8089/api/v10"
    assert settings.gateway_url == "ws://127.0.0.1:8089/gateway"
    assert settings.dev_guild_id == 123456789012345678
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISCORD_API_BASE", "not-a-url"),
        ("DISCORD_API_BASE", "ftp://example.org"),
        ("DISCORD_GATEWAY_URL", "http://127.0.0.1/gateway"),
        ("DISCORD_DEV_GUILD_ID", "my-server"),
        ("DISCORD_DEV_GUILD_ID", "123"),
        ("LOG_LEVEL", "loud"),
        ("CIRCLEKEEPER_DATA_KEY", "too-short"),
        ("DISCORD_TOKEN", "has spaces in it which tokens never do"),
        ("CIRCLEKEEPER_METRICS_PORT", "0"),
        ("CIRCLEKEEPER_METRICS_PORT", "65536"),
        ("CIRCLEKEEPER_METRICS_PORT", "nine"),
        ("CIRCLEKEEPER_METRICS_HOST", "metrics.example.org"),
        ("CIRCLEKEEPER_DM_GAP", "0"),
        ("CIRCLEKEEPER_DM_GAP", "fast"),
        ("CIRCLEKEEPER_DM_GAP", "120"),
        ("CIRCLEKEEPER_CLOCK_FILE", "/nonexistent/clock"),
    ],
)
def test_malformed_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, env_file=None)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}:")
    assert "a good value looks like" in str(caught.value)


def test_missing_token_is_refused_only_when_needed() -> None:
    settings = load_settings({}, env_file=None)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        settings.require_token()


def test_repr_never_shows_secrets() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": "secret.token-abcdefghijklmnopqrstuvwxyz",
            "CIRCLEKEEPER_DATA_KEY": GOOD_KEY,
        },
        env_file=None,
    )
    assert "secret.token" not in repr(settings)
    assert GOOD_KEY not in repr(settings)


def test_a_postgresql_url_selects_postgresql_and_its_password_never_shows() -> None:
    url = "postgresql://ck:s3cret-pw@127.0.0.1:5432/circlekeeper"
    settings = load_settings({"CIRCLEKEEPER_DB": url}, env_file=None)
    assert settings.database == url
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in settings.database_label
    assert load_settings({}, env_file=None).database == Path("data/circlekeeper.db")


def test_a_postgresql_url_without_a_database_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="without a database name"):
        load_settings({"CIRCLEKEEPER_DB": "postgresql://ck@localhost:5432/"}, env_file=None)
