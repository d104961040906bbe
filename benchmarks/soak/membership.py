"""Members and servers coming and going in the soak: `/privacy export` and `/privacy delete`
(then joining again later), members leaving their server, facilitators losing the role (and
getting it back), the bot removed from a server and invited back, once within the grace
period and once after it.

Invariants:
- an export holds only its member's own rows;
- right after an acknowledged erase, nothing stored names the member (an owed unmute, kept by
  design as server and id only, excepted);
- a removed server's rows stay for the grace period and are gone after it (data purged);
- a member without Manage Server whose facilitator role was taken away is refused
  facilitator commands, and served again once the role is back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import World
from bot.storage import member_data
from bot.storage.database import Database

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak

REFUSED = "Only facilitators can do that"
# What the README promises (not the bot's constant: a check must not move with the code it checks).
GUILD_DATA_GRACE = timedelta(days=14)
ERASED, NOT_ERASED = "Done. Erased", "Nothing was erased"
NOTICE_PATIENCE_S = 15.0  # wall seconds for the bot to hear of a removal or a re-invite
SLACK = timedelta(hours=1)  # the purge timer runs at its time; allow for a restart around it


class Membership:
    name = "membership"

    def __init__(self, per_year: dict[str, int] | None = None) -> None:
        self.per_year = per_year or {"export": 120, "delete": 40, "leave": 40, "demote": 12}
        self.counts: dict[str, int] = {}
        self.found: list[tuple[str, str, tuple[str, ...]]] = []  # broken while performing
        self.removed: dict[int, tuple[datetime, int]] = {}  # server -> removed at, rows then
        self.back: dict[int, datetime] = {}

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # -- the history ----------------------------------------------------------------------
    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        span = end - start
        share = span / timedelta(days=365)
        members = sorted(world.members)
        # Facilitators of the servers that keep the bot all year (the last two remove it).
        keeping = range(world.spec.servers - 2 if world.spec.servers >= 3 else world.spec.servers)
        facilitators = sorted(
            {c.facilitator for c in world.circles.values() if c.server in keeping}
        )

        def when() -> datetime:
            return start + timedelta(seconds=rng.uniform(0, span.total_seconds()))

        for _ in range(max(1, round(self.per_year["export"] * share))):
            yield Draft(when(), "export", (rng.choice(members),))
        for _ in range(max(1, round(self.per_year["delete"] * share))):
            at, who = when(), rng.choice(members)
            yield Draft(at, "delete", (who,))
            yield Draft(
                at + timedelta(days=rng.uniform(2, 7)), "rejoin", (who, world.members[who].circle)
            )
        for _ in range(max(1, round(self.per_year["leave"] * share))):
            yield Draft(when(), "leave", (rng.choice(members),))
        for _ in range(max(1, round(self.per_year["demote"] * share))):
            at, who = when(), rng.choice(facilitators)
            server = world.members[who].server
            yield Draft(at, "demote", (who, f"s{server}"))
            yield Draft(
                at + timedelta(hours=rng.uniform(1, 48)),
                "facilitate",
                (who, f"s{server}"),
                {"expect": "refused"},
            )
            back = at + timedelta(days=rng.uniform(2, 6))
            yield Draft(back, "promote", (who, f"s{server}"))
            yield Draft(
                back + timedelta(hours=1), "facilitate", (who, f"s{server}"), {"expect": "served"}
            )
        if world.spec.servers >= 2:
            # One server takes the bot back within the grace period, one after it.
            last, other = world.spec.servers - 1, world.spec.servers - 2
            early = start + span * 0.25
            yield Draft(early, "remove-bot", (f"s{last}",))
            yield Draft(early + GRACE_BACK_SOON, "invite-bot", (f"s{last}",))
            later = start + span * 0.3
            if later + GUILD_DATA_GRACE + 2 * SLACK < end:
                yield Draft(later, "remove-bot", (f"s{other}",))
                yield Draft(later + GUILD_DATA_GRACE + 2 * SLACK, "invite-bot", (f"s{other}",))

    async def seed(self, soak: Soak, db: Database) -> None:
        return None

    async def prepare(self, soak: Soak) -> None:
        return None  # the runner names each server's facilitators' role

    # -- members and servers acting -------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        action = event.action
        if action in ("remove-bot", "invite-bot"):
            await self._server(soak, event)
            return
        key = event.subjects[0]
        if not soak.present(key):
            return
        member = soak.member(key)
        channel = soak.channels[soak.world.members[key].circle]
        if action == "export":
            reply = await soak.interact(member.run("/privacy export", channel=channel))
            if reply is not None:
                followup = reply.followups[0] if reply.followups else reply.message
                files = followup.attachments if followup is not None else []
                if files:
                    self._count("exports")
                    document = json.loads(files[0].content)
                    soak.exports.append((key, document))
                    if str(document.get("user_id")) != str(member.id):
                        self._broken(
                            "export holds only its member", "export of another member", key
                        )
        elif action == "delete":
            asked = await soak.interact(member.run("/privacy delete", channel=channel))
            if asked is None:
                return
            done = await soak.interact(member.click("Erase everything", message=asked))
            if done is None:
                return

            # The buttons go at once ("Erasing…"); the outcome is edited in when it is done.
            def outcome() -> str:
                return f"{asked.text} {done.text}"

            if not await soak.until(lambda: ERASED in outcome() or NOT_ERASED in outcome()):
                self._broken("acknowledged", "an erase never said how it ended", key)
                return
            if ERASED not in outcome():
                return
            self._count("erasures")
            soak.erased.add(key)
            await self._nothing_left(soak, key)
        elif action == "rejoin":
            circle = soak.world.circles[event.subjects[1]]
            agreement = await soak.interact(
                member.run("/circle join", channel=channel, circle=circle.name)
            )
            if agreement is None or "I agree" not in agreement.buttons:
                return
            if await soak.interact(member.click("I agree", message=agreement)) is not None:
                self._count("rejoined")
        elif action == "leave":
            soak.guilds[soak.world.members[key].server].remove_member(member)
            soak.left.add(key)
            self._count("left")
        elif action == "demote":
            member.remove_role(soak.facilitator_roles[soak.world.members[key].server])
            self._count("facilitators demoted")
        elif action == "promote":
            member.add_role(soak.facilitator_roles[soak.world.members[key].server])
        elif action == "facilitate":
            circle = soak.world.circles[soak.world.members[key].circle]
            reply = await soak.interact(
                member.run(
                    "/facilitate buddies stats", channel=channel, circle=circle.name, force=True
                )
            )
            if reply is None:
                return
            refused = REFUSED in reply.text
            if refused != (event.params["expect"] == "refused"):
                self._broken(
                    "facilitator rights follow the role",
                    f"expected {event.params['expect']}, got {'refused' if refused else 'served'}",
                    key,
                )

    async def _server(self, soak: Soak, event: Event) -> None:
        server = int(event.subjects[0][1:])
        guild = soak.guilds[server]
        if event.action == "remove-bot":
            rows = await self._guild_rows(soak, guild.id)
            await soak.server.remove_bot_from_guild(guild)
            # Discord tells the bot through the gateway: the clock must not run on (and start
            # the grace period late) before the bot has heard it.
            if not await self._departure_noted(soak, guild.id, True):
                self._broken(
                    "removal noticed", f"server {server}: no departure recorded", event.subjects[0]
                )
            soak.absent_servers.add(server)
            soak.absences.setdefault(server, []).append([soak.now(), None])
            soak.purged[server] = soak.now() + GUILD_DATA_GRACE
            self.removed[server] = (soak.now(), rows)
            self._count("servers that removed the bot")
        else:
            left_at, rows_then = self.removed[server]
            rows = await self._guild_rows(soak, guild.id)
            if soak.now() < left_at + GUILD_DATA_GRACE:
                if rows_then and rows == 0:
                    self._broken(_PURGE, f"server {server} purged early", event.subjects[0])
            elif rows:
                self._broken(
                    _PURGE,
                    f"server {server}: {rows} row(s) kept past the grace period",
                    event.subjects[0],
                )
            await soak.server.invite_bot_to_guild(guild)
            await self._departure_noted(soak, guild.id, False)  # cleared (or purged already)
            soak.absent_servers.discard(server)
            soak.absences[server][-1][1] = soak.now()
            if soak.now() < left_at + GUILD_DATA_GRACE:
                del soak.purged[server]  # back in time: the data stays
            self.back[server] = soak.now()
            self._count("servers that invited it back")

    async def _departure_noted(self, soak: Soak, guild_id: int, left: bool) -> bool:
        """Until the bot's record of the server's departure is there (`left`) or gone."""
        deadline = time.monotonic() + NOTICE_PATIENCE_S
        while time.monotonic() < deadline:
            rows = await soak.read("SELECT 1 FROM guild_departures WHERE guild_id = ?", (guild_id,))
            if bool(rows) == left:
                return True
            await asyncio.sleep(0.02)
        return False

    async def _guild_rows(self, soak: Soak, guild_id: int) -> int:
        total = 0
        for entry in member_data.GUILD_TABLES:
            rows = await soak.read(
                f"SELECT COUNT(*) AS n FROM {entry.table} WHERE {entry.guild_column} = ?",
                (guild_id,),
            )
            total += int(rows[0]["n"])
        return total

    async def _nothing_left(self, soak: Soak, key: str) -> None:
        assert soak.db is not None
        async with soak.db.read() as tx:
            left = await member_data.export_member(tx, soak.cipher, soak.member(key).id)
        kept = {e.table for e in member_data.MEMBER_TABLES if e.erase_keeps}
        remaining = sorted(t for t in left if t not in kept)
        if remaining:
            self._broken(
                "a deleted member leaves no row", f"rows left in {', '.join(remaining)}", key
            )

    def _broken(self, invariant: str, detail: str, *subjects: str) -> None:
        self.found.append((invariant, detail, subjects))

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        now = soak.now()
        found = [Violation(i, d, s, now) for i, d, s in self.found]
        self.found.clear()
        for server, (left_at, rows_then) in self.removed.items():
            guild_id = soak.guilds[server].id
            back = self.back.get(server)
            returned_in_time = back is not None and back < left_at + GUILD_DATA_GRACE
            rows = await self._guild_rows(soak, guild_id)
            if now < left_at + GUILD_DATA_GRACE - SLACK and rows_then and rows == 0:
                found.append(
                    Violation(_PURGE, f"server {server} purged early", (f"s{server}",), now)
                )
            if (
                not returned_in_time
                and left_at + GUILD_DATA_GRACE + SLACK < now
                and (back is None or now < back)
            ) and rows:
                found.append(
                    Violation(
                        _PURGE,
                        f"server {server}: {rows} row(s) left after the grace period",
                        (f"s{server}",),
                        now,
                    )
                )
        return found

    def figures(self) -> dict[str, float]:
        return dict(sorted(self.counts.items()))


GRACE_BACK_SOON = timedelta(days=3)
_PURGE = "purged after the grace period, not before"
