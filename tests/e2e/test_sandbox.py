"""`circlekeeper sandbox`: the scripted walk-through, --record, --interactive, and the CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox import runner
from bot.sandbox.runner import run_sandbox
from bot.sandbox.scenes import KAI_NOTE, NOOR_NOTE, SAM_NOTE, Scene, Stage

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    text: str
    record: Path


def blocks(text: str) -> Iterator[tuple[str, str]]:
    """(heading line, its body) for every bot answer in a printed transcript."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  bot "):
            body = []
            for following in lines[i + 1 :]:
                if not following.startswith("    "):
                    break
                body.append(following)
            yield line, "\n".join(body)


@pytest.fixture(scope="module")
async def scripted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    record = tmp_path_factory.mktemp("sandbox") / "transcript.jsonl"
    out = io.StringIO()
    code = await run_sandbox(interactive=False, record=record, out=out)
    return Run(code, out.getvalue(), record)


async def test_the_scripted_sandbox_plays_every_scene_and_exits_0(scripted: Run) -> None:
    assert scripted.code == 0, scripted.text[-2000:]
    text = scripted.text
    assert "local simulation" in text and "127.0.0.1" in text
    for heading in ("1. Crisis lines", "2. What is stored", "3. A circle", "4. A member's own"):
        assert heading in text
    assert "every scene went as scripted" in text
    assert "Kai ▸ /crisis region:UK" in text
    assert "988" in text and "Samaritans" in text
    assert "bot → Sam (only Sam sees this):" in text
    assert "bot → DM to Sam:" in text  # /crisis in a DM
    assert "mood.png" in text and "record(s)" in text
    assert "25:00" in text and "not a time on a clock" in text


async def test_only_what_each_member_shared_is_shown(scripted: Run) -> None:
    answers = list(blocks(scripted.text))
    summary = [body for head, body in answers if "CHECK-IN CLOSED" in body]
    assert len(summary) == 2  # the circle's first round, and the round everyone answered at once
    assert SAM_NOTE in summary[0] and "@Sam — 4 good" in summary[0]
    kai = [head for head, body in answers if KAI_NOTE in body]
    assert kai == ["  bot → DM to Ada:"]
    assert NOOR_NOTE not in "\n".join(body for _, body in answers)
    # Markup is rendered for people: no raw mentions or timestamps.
    assert "<@" not in scripted.text and "<t:" not in scripted.text


async def test_record_writes_the_transcript_as_json_lines(scripted: Run) -> None:
    events = [json.loads(line) for line in scripted.record.read_text("utf-8").splitlines()]
    kinds = {e["kind"] for e in events}
    expected = {"sync", "command", "click", "submit", "reply", "followup", "message"}
    assert expected | {"dm", "modal"} <= kinds, kinds
    assert {"Ada", "Sam", "Kai", "Noor", "bot"} <= {e["actor"] for e in events}
    dms = [e for e in events if e["kind"] == "dm" and e["target"] == "Ada"]
    assert any(KAI_NOTE in json.dumps(e["embeds"], ensure_ascii=False) for e in dms)


def scripted_input(lines: list[str]) -> tuple[list[str], Callable[[str], str]]:
    asked: list[str] = []
    pending = list(lines)

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        if not pending:
            raise EOFError
        return pending.pop(0)

    return asked, fake_input


async def test_interactive_runs_a_command_then_quits() -> None:
    asked, fake_input = scripted_input(["help", "/crisis region:UK", "quit", "never read"])
    out = io.StringIO()
    code = await run_sandbox(interactive=True, out=out, input_fn=fake_input)
    text = out.getvalue()
    assert code == 0, text
    assert "Ada ▸ /crisis region:UK" in text
    assert "bot → Ada (only Ada sees this):" in text and "Samaritans" in text
    assert asked == ["\nAda> "] * 3
    assert "Sandbox closed" in text


async def test_interactive_fills_a_form_field_by_field_and_ends_on_eof() -> None:
    circle = 'circle:"Tuesday Evenings"'
    _, fake_input = scripted_input(
        [
            '/facilitate circle create name:"Tuesday Evenings" timezone:America/New_York',
            f"as Sam: /circle join {circle}",
            "click I agree",
            f"/facilitate checkin now {circle}",  # Sam is no facilitator: Discord hides it
            f"as Ada: /facilitate checkin now {circle}",
            "as Sam: click Check in",
            "4",  # Mood: a number picks from the list
            "A good week.",  # Note
            "the circle",  # Who sees this: a label works too
            "/crisis share:maybe",  # refused by the prompt, not the bot
            "as Nobody",
        ]
    )
    out = io.StringIO()
    code = await run_sandbox(interactive=True, out=out, input_fn=fake_input)
    text = out.getvalue()
    assert code == 0, text
    assert "Welcome to Tuesday Evenings" in text
    assert "1) 1 struggling" in text and "3) just me" in text
    assert "Sam ▸ submits 'Check in — Tuesday Evenings': mood=4 good" in text
    assert "seen by the circle" in text
    assert "✗ share is true or false" in text
    assert "✗ Discord does not show /facilitate to Sam here (it needs Manage Server)." in text
    assert "✗ no member named 'Nobody'" in text


def test_the_cli_sandbox_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEKEEPER_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "every scene went as scripted" in done.stdout
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr, done.stderr


async def test_a_scene_that_fails_stops_the_sandbox_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def broken(stage: Stage) -> None:
        await stage.member("Sam").run("/ping", channel=stage.channel)
        await stage.member("Sam").click("No such button", channel=stage.channel)

    monkeypatch.setattr(runner, "SCENES", (Scene("A broken scene", "It will fail.", broken),))
    out = io.StringIO()
    code = await run_sandbox(out=out, record=tmp_path / "t.jsonl")
    text = out.getvalue()
    assert code == 1
    assert "✗ Sandbox stopped: scene 1 (A broken scene) failed: button 'No such button'" in text
    assert "every scene went as scripted" not in text
    assert (tmp_path / "t.jsonl").read_text("utf-8").count('"kind": "command"') == 1
