"""Which process owns what: Discord's shard rule, the shard options, and SQLite's refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings
from bot.sharding import Ownership, format_shards, parse_shards, shard_of
from tests.unit.test_cli import cli

PG = "postgresql://ck:secret@127.0.0.1:5432/ck"


def test_discords_rule_routes_a_server_by_its_creation_time_bits() -> None:
    # Discord's documented example: shard_id = (guild_id >> 22) % num_shards
    assert shard_of(197038439483310086, 2) == (197038439483310086 >> 22) % 2
    assert shard_of((5 << 22) | 0x3FFFFF, 4) == 1  # the low 22 bits do not matter
    assert shard_of(5 << 22, 1) == 0


def test_ownership_of_servers_and_dms() -> None:
    g0, g1 = 8 << 22, 9 << 22  # shards 0 and 1 of 8
    first, second = Ownership((0, 2, 3), 8), Ownership((1,), 8)
    assert first.owns(g0) and not first.owns(g1) and first.owns(None)  # DM-only: shard 0
    assert second.owns(g1) and not second.owns(g0) and not second.owns(None)
    assert Ownership().owns(g0) and Ownership().owns(g1) and Ownership().owns(None)
    assert Ownership((0, 1), 2).everything and not first.everything
    assert first.label == "shards 0,2-3/8"


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0-3", (0, 1, 2, 3)), ("5", (5,)), ("0,2,5-6", (0, 2, 5, 6)), (" 1 - 2 ", (1, 2))],
)
def test_shard_ranges_parse_and_fold_back(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shards(text) == ids
    assert parse_shards(format_shards(ids)) == ids


@pytest.mark.parametrize("text", ["", "a", "3-1", "0-", "1;2"])
def test_malformed_shard_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shards(text)


def test_shard_settings_from_the_environment() -> None:
    settings = load_settings(
        {"CIRCLEKEEPER_SHARDS": "4-7", "CIRCLEKEEPER_SHARD_COUNT": "8", "CIRCLEKEEPER_DB": PG},
        env_file=None,
    )
    assert settings.ownership == Ownership((4, 5, 6, 7), 8)
    everything = load_settings({"CIRCLEKEEPER_SHARD_COUNT": "4"}, env_file=None)
    assert everything.ownership == Ownership((0, 1, 2, 3), 4)  # one process, on SQLite too
    assert load_settings({}, env_file=None).ownership == Ownership()


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"CIRCLEKEEPER_SHARDS": "0-3", "CIRCLEKEEPER_DB": PG}, "total number of shards"),
        ({"CIRCLEKEEPER_SHARDS": "0-3", "CIRCLEKEEPER_SHARD_COUNT": "0"}, "total number"),
        ({"CIRCLEKEEPER_SHARDS": "2-9", "CIRCLEKEEPER_SHARD_COUNT": "8"}, "outside 0-7"),
        ({"CIRCLEKEEPER_SHARDS": "x", "CIRCLEKEEPER_SHARD_COUNT": "8"}, "not a shard number"),
        ({"CIRCLEKEEPER_SHARDS": "0-3", "CIRCLEKEEPER_SHARD_COUNT": "8"}, "PostgreSQL"),
    ],
)
def test_bad_or_unsafe_shard_settings_are_refused(env: dict[str, str], phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        load_settings(env, env_file=None)


def test_run_refuses_part_of_the_shards_on_sqlite_in_one_line(tmp_path: Path) -> None:
    result = cli(
        "run", "--shards", "0-1", "--shard-count", "4", cwd=tmp_path, DISCORD_TOKEN="x" * 30
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PostgreSQL" in lines[0] and "--shard-count 4" in lines[0]
