"""Shipped static data (crisis lines, screening phrases, prompts), read once at startup.

`/crisis` answers from this alone: no database, no network on its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.domain.crisis import CrisisDirectory, parse_directory
from bot.domain.prompts import parse_prompt_bank
from bot.domain.resources import Resource, parse_starter
from bot.domain.screening import Screener

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class StaticData:
    crisis: CrisisDirectory
    screener: Screener
    prompts: tuple[str, ...]
    # circle care (issue 13): the starter set /resources shows with a server's own entries
    resources_starter: tuple[Resource, ...] = ()


def load_static_data(data_dir: Path = DATA_DIR) -> StaticData:
    def read(name: str) -> str:
        return (data_dir / name).read_text(encoding="utf-8")

    return StaticData(
        crisis=parse_directory(read("crisis_resources.toml")),
        screener=Screener.from_text(read("screening_phrases.txt")),
        prompts=parse_prompt_bank(read("prompts.txt")),
        resources_starter=parse_starter(read("resources_starter.toml")),
    )
