"""Circle care in the soak: members write and rewrite their crisis plans (two forms, the
second often straight after the first, sometimes a part saved twice in quick succession),
look at them with `/crisisplan view`, now and then share one with another member, and open
the `/crisis` card.

Invariants:
- every acknowledged save is what is stored afterwards: each part holds the last
  acknowledged text of each of its sections (read decrypted from the database), and what
  `/crisisplan view` shows is that plan;
- a plan is shown to no one but its author (in their own ephemeral replies and DMs), except
  in the DMs of the one member they shared it with;
- `/crisis` is always answered with the card.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from benchmarks.soak.help_requests import Scanner, message_text
from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import World
from bot.domain.crisisplan import PARTS, section
from bot.storage.database import Database
from bot.storage.repositories import crisisplan as plans_repo

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak
    from bot.localdiscord import Reply

TOKEN = re.compile(r"plan-[0-9a-f]{10}")
SAVED = "Saved part "


class Care:
    name = "care"

    def __init__(self, edits_per_member_year: float = 1.0, minimum: int = 8) -> None:
        self.rate = edits_per_member_year
        self.minimum = minimum
        # member -> section -> what may be stored: the last acknowledged text (and any sent
        # since without an answer, as a SIGKILL may have come after the write)
        self.possible: dict[str, dict[str, set[str]]] = {}
        self.authors: dict[str, str] = {}  # token -> its author
        self.shared: dict[str, set[str]] = {}  # author -> members they sent a copy to
        self.found: list[tuple[str, str, tuple[str, ...]]] = []
        self.tally: Counter[str] = Counter()
        self.scanner = Scanner()

    # -- the history ----------------------------------------------------------------------
    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        span = end - start
        members = sorted(world.members)
        sessions = max(self.minimum, round(len(members) * self.rate * span / timedelta(days=365)))
        drafts = self._sessions(world, rng, start, span, members, sessions)
        yield from (d for d in drafts if d.at < end)  # the rest falls after the run

    def _sessions(
        self,
        world: World,
        rng: Any,
        start: datetime,
        span: timedelta,
        members: list[str],
        sessions: int,
    ) -> Iterable[Draft]:
        for _ in range(sessions):
            at = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
            who = rng.choice(members)
            part = rng.choice((1, 1, 2))
            params = self._texts(rng, part)
            if part == 1 and rng.random() < 0.6:  # straight on with part 2
                params["then"] = self._texts(rng, 2)["texts"]
            if rng.random() < 0.25:  # the same part saved again at once: a second thought
                params["again"] = self._texts(rng, part)["texts"]
            yield Draft(at, "edit", (who,), params)
            if rng.random() < 0.5:
                yield Draft(at + timedelta(hours=rng.uniform(1, 48)), "view", (who,))
            if rng.random() < 0.1:
                circle = world.circles[world.members[who].circle]
                other = rng.choice([m for m in circle.members if m != who])
                yield Draft(at + timedelta(hours=rng.uniform(1, 24)), "share", (who, other))
            if rng.random() < 0.3:
                yield Draft(at + timedelta(hours=rng.uniform(0, 72)), "crisis", (who,))

    @staticmethod
    def _texts(rng: Any, part: int) -> dict[str, Any]:
        """A token in most sections of the part; some left empty (a cleared section)."""
        texts = {
            key: f"plan-{rng.getrandbits(40):010x} {section(key).label.lower()}"
            if rng.random() < 0.8
            else ""
            for key in PARTS[part]
        }
        return {"part": part, "texts": texts}

    async def seed(self, soak: Soak, db: Database) -> None:
        return None

    async def prepare(self, soak: Soak) -> None:
        return None

    # -- members acting -------------------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        who = event.subjects[0]
        if not soak.present(who):
            return
        if who in soak.erased:
            self.possible.pop(who, None)  # their plan went with /privacy delete
        member = soak.member(who)
        channel = soak.channels[soak.world.members[who].circle]
        if event.action == "edit":
            part = int(event.params["part"])
            form = await soak.interact(member.run("/crisisplan edit", channel=channel, part=part))
            saved = await self._save(soak, who, form, part, event.params["texts"])
            if saved is not None and "then" in event.params:
                form = await soak.interact(member.click("Continue with part 2", message=saved))
                await self._save(soak, who, form, 2, event.params["then"])
            if saved is not None and "again" in event.params:
                form = await soak.interact(
                    member.run("/crisisplan edit", channel=channel, part=part)
                )
                await self._save(soak, who, form, part, event.params["again"])
        elif event.action == "view":
            reply = await soak.interact(member.run("/crisisplan view", channel=channel))
            if reply is None:
                return
            self.tally["plans viewed"] += 1
            shown = {
                str(f.get("name")): str(f.get("value"))
                for m in reply.messages
                for e in m.embeds
                for f in e.get("fields", [])
            }
            if who in soak.erased or who not in self.possible:
                return
            differ = [
                k
                for k, texts in self.possible[who].items()
                if shown.get(section(k).title, "—").replace("—", "") not in texts
            ]
            if differ:
                self._broken(
                    "acknowledged plan kept",
                    f"/crisisplan view: {len(differ)} section(s) differ from the last save",
                    who,
                )
        elif event.action == "share":
            other = event.subjects[1]
            if not soak.present(other) or who not in self.possible:
                return
            self.shared.setdefault(who, set()).add(other)  # asked for: a copy may go
            reply = await soak.interact(
                member.run("/crisisplan share", channel=channel, member=soak.member(other))
            )
            if reply is not None and ("Sent." in reply.text or "Not sent yet" in reply.text):
                self.tally["plans shared"] += 1
        elif event.action == "crisis":
            reply = await soak.interact(member.run("/crisis", channel=channel))
            if reply is not None:
                self.tally["crisis cards"] += 1
                if not reply.text.strip():
                    self._broken("crisis card always answered", "an empty answer", who)

    async def _save(
        self, soak: Soak, who: str, form: Reply | None, part: int, texts: dict[str, str]
    ) -> Reply | None:
        """Submit one part; what may be stored afterwards: the acknowledged texts, or (no
        answer) either the previous ones or these."""
        if form is None or form.modal is None:
            return None
        for text in texts.values():
            if text:
                self.authors[TOKEN.findall(soak.wrote(text))[0]] = who
        self.tally["plan parts sent"] += 1
        done = await soak.interact(
            soak.member(who).submit(form, {section(k).label: t for k, t in texts.items()})
        )
        possible = self.possible.setdefault(who, {})
        acked = done is not None and f"{SAVED}{part} of 2" in done.text
        for key, text in texts.items():
            before = possible.get(key, {""})
            possible[key] = {text} if acked else before | {text}
        if not acked:
            return None
        self.tally["plan parts saved"] += 1
        return done

    def _broken(self, invariant: str, detail: str, *subjects: str) -> None:
        self.found.append((invariant, detail, subjects))

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        now = soak.now()
        assert soak.db is not None
        async with soak.db.read() as tx:
            for who, possible in self.possible.items():
                if who in soak.erased:
                    continue
                plan = await plans_repo.get(tx, soak.cipher, soak.member(who).id)
                stored = dict(plan.sections) if plan is not None else {}
                differ = [k for k, texts in possible.items() if stored.get(k, "") not in texts]
                if differ:
                    self._broken(
                        "acknowledged plan kept",
                        f"{len(differ)} section(s) differ from the last acknowledged save",
                        who,
                    )
        self._check_shown(soak)
        found = [Violation(i, d, s, now) for i, d, s in self.found]
        self.found.clear()
        return found

    def _check_shown(self, soak: Soak) -> None:
        for record, message in self.scanner.new(soak):
            for token in set(TOKEN.findall(message_text(message))):
                author = self.authors.get(token)
                if author is None:
                    continue
                me = soak.member(author).id
                to = record.recipient.id if record.recipient is not None else None
                if message.visible_to == me or to == me:
                    continue
                if to is not None and any(
                    soak.member(k).id == to for k in self.shared.get(author, ())
                ):
                    continue  # the copy they chose to send
                self._broken(
                    "plan shown only to its author",
                    f"a plan section appeared in channel {record.id}",
                    author,
                )

    def figures(self) -> dict[str, float]:
        return {f"care: {k}": float(v) for k, v in sorted(self.tally.items())}
