"""Help requests in the soak: asks (some anonymous), offers, acceptances, resolutions with
time logged and thanks, withdrawals, asks left to idle care, capacity changes, facilitators'
rare reveals, and `/privacy export` read by members who helped.

Each ask is a chain of events sharing its token (`ask-<hex>`, the first word of what the
member needs, hence also in its thread's name and every DM about it), so a broken ask's
shortest history is that chain and the faults around it.

Invariants:
- no anonymous asker revealed: the asker's id, mention or name appears in no message,
  embed, file or thread name about their anonymous ask (its thread, DMs naming it) that
  anyone but the asker sees, nor in another member's export, except the reply to a
  facilitator whose reveal was recorded;
- anonymity as chosen: each ask is stored anonymous exactly when its asker chose so;
- every reveal recorded: each acknowledged reveal names the real asker and has its row
  (by that facilitator); no row without a reveal; the asker is told once by DM;
- each acknowledged ask is stored, and posted exactly once (one thread, one post in it);
- no ask stuck open: every open ask's next idle-care step is not overdue; an ask is closed
  as "the person who asked is no longer in the server" only if they left;
- each acknowledged public thank-you is posted once.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import World
from bot.domain.help_requests import Capacity, CapacityState, CareState, Kind, next_care_at
from bot.localdiscord.state import Channel as ChannelRecord
from bot.localdiscord.state import Message
from bot.storage.database import Database
from bot.storage.repositories import help_requests as help_repo
from bot.timeutil import from_db

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak

TOKEN = re.compile(r"ask-[0-9a-f]{10}")
FOOTER = re.compile(r"^Ask #(\d+) ·")
ASK_NUMBER = re.compile(r"\bAsk #(\d+)\b")
ASKED = "Your ask is"
REVEALED_TO_ME = "revealed to facilitators"
NEEDS = (
    "a ride to my appointment on Tuesday",
    "someone to water the plants this weekend",
    "a call tonight to talk things through",
    "tips on finding a cheaper dentist",
    "company for a walk on Sunday",
    "help carrying boxes up two floors",
)
LATE = timedelta(hours=6)  # a delivery owed by then (restarts and retries included)
STUCK = timedelta(days=1)  # idle care may run this late before an ask counts as stuck


@dataclass
class AskModel:
    token: str
    circle: str
    asker: str
    anonymous: bool
    acked_at: datetime | None = None  # the asker saw "Your ask is posted"
    ask_id: int | None = None
    helpers_accepted: set[str] = field(default_factory=set)


@dataclass
class Reveal:
    token: str
    facilitator: str
    ask_id: int
    at: datetime
    dms_closed: bool  # the asker's DMs at the time: the DM telling them may fail


def _hex(rng: Any) -> str:
    return f"{rng.getrandbits(40):010x}"


def _at(start: datetime, end: datetime, rng: Any) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def message_text(message: Message) -> str:
    """Everything a message shows: content, embeds, and its files' text."""
    parts = [message.text]
    parts += [a.content.decode("utf-8", "replace") for a in message.attachments]
    return "\n".join(parts)


class Scanner:
    """New (and newly edited) messages of every channel since the last scan."""

    def __init__(self) -> None:
        self._scanned: dict[int, int] = {}
        self._since = 0.0

    def new(self, soak: Soak) -> Iterable[tuple[ChannelRecord, Message]]:
        since, self._since = self._since, time.time()
        for channel_id, record in list(soak.server.state.channels.items()):
            start = self._scanned.get(channel_id, 0)
            messages = list(record.messages)
            for index, message in enumerate(messages):
                edited = message.edited_at is not None and message.edited_at >= since
                if (index >= start or edited) and not message.deleted:
                    yield record, message
            self._scanned[channel_id] = len(messages)


class HelpRequests:
    name = "help"

    def __init__(
        self,
        asks_per_circle_month: float = 2.0,
        anonymous: float = 0.4,
        capacity_changes_per_circle_month: float = 1.0,
        seeded_capacity: float = 0.3,
    ) -> None:
        self.asks_per_month = asks_per_circle_month
        self.anonymous = anonymous
        self.capacity_per_month = capacity_changes_per_circle_month
        self.seeded_capacity = seeded_capacity
        self.asks: dict[str, AskModel] = {}  # token -> the ask
        self.reveals: list[Reveal] = []  # acknowledged
        self.reveal_tries: Counter[tuple[int, str]] = Counter()  # ask id, facilitator: sent
        self.thanks: dict[str, tuple[AskModel, str, datetime]] = {}  # note -> ask, helper, acked
        self.help_channels: dict[str, int] = {}  # circle -> the channel its asks open in
        self.found: list[tuple[str, str, tuple[str, ...]]] = []  # broken while performing
        self.tally: Counter[str] = Counter()
        self.scanner = Scanner()

    # -- the history ----------------------------------------------------------------------
    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        months = (end - start) / timedelta(days=30)
        for circle in world.circles.values():
            if len(circle.members) < 3:
                continue
            count = self.asks_per_month * months
            asks = int(count) + (1 if rng.random() < count - int(count) else 0)
            for _ in range(asks):
                chain = self._ask_chain(rng, circle, _at(start, end, rng))
                yield from (d for d in chain if d.at < end)  # the rest falls after the run
            changes = self.capacity_per_month * months
            for _ in range(int(changes) + (1 if rng.random() < changes - int(changes) else 0)):
                who = rng.choice(circle.members)
                state = rng.choice(("available", "available", "limited", "resting"))
                params: dict[str, Any] = {"state": state}
                if rng.random() < 0.3:
                    params["kinds"] = ",".join(sorted(rng.sample([k.value for k in Kind], 2)))
                if rng.random() < 0.3:
                    params["until"] = f"{rng.randint(1, 3)}w"
                yield Draft(_at(start, end, rng), "capacity", (circle.key, who), params)

    def _ask_chain(self, rng: Any, circle: Any, at: datetime) -> Iterable[Draft]:
        asker = rng.choice(circle.members)
        helper = rng.choice([m for m in circle.members if m != asker])
        token = f"ask-{_hex(rng)}"
        anonymous = rng.random() < self.anonymous
        hours = lambda low, high: timedelta(hours=rng.uniform(low, high))  # noqa: E731
        yield Draft(
            at,
            "ask",
            (circle.key, asker, token),
            {
                "token": token,
                "kind": rng.choice([k.value for k in Kind]),
                "what": f"{token} {rng.choice(NEEDS)}",
                "anonymous": anonymous,
            },
        )
        offered = at + hours(1, 8)
        yield Draft(offered, "offer", (circle.key, helper, token), {"token": token})
        fate = rng.choices(("resolve", "withdraw", "idle"), (0.6, 0.15, 0.25))[0]
        if fate != "idle" or rng.random() < 0.5:
            accept = offered + hours(1, 20)
            yield Draft(
                accept, "accept", (circle.key, asker, token), {"token": token, "helper": helper}
            )
        if fate == "resolve":
            done = at + hours(30, 60)
            thank = not anonymous and rng.random() < 0.7
            params: dict[str, Any] = {"token": token, "minutes": rng.choice(("30m", "45m", "1h"))}
            if thank:
                params["thanks"] = f"thanks-{_hex(rng)}"
                params["helper"] = helper
            yield Draft(done, "resolve", (circle.key, asker, token), params)
            yield Draft(
                done + hours(1, 10), "helper-time", (circle.key, helper, token), {"token": token}
            )
        elif fate == "withdraw":
            yield Draft(
                at + hours(24, 48), "withdraw", (circle.key, asker, token), {"token": token}
            )
        else:  # left quiet: idle care asks "still need this?" after 3 days
            keep = rng.random() < 0.5
            yield Draft(
                at + hours(80, 90),
                "still",
                (circle.key, asker, token),
                {"token": token, "keep": keep},
            )
        if anonymous and rng.random() < 0.15:
            reason = f"reason-{_hex(rng)} a member raised a safety concern"
            facilitator = circle.facilitator
            yield Draft(
                at + hours(2, 20),
                "reveal",
                (circle.key, facilitator, token),
                {"token": token, "reason": reason},
            )
        if rng.random() < 0.2:
            yield Draft(at + hours(20, 70), "export", (circle.key, helper, token), {"token": token})

    # -- the world's first rows -----------------------------------------------------------
    async def seed(self, soak: Soak, db: Database) -> None:
        """Some members said they have room before the year starts (as /capacity does)."""
        rng = stream(soak.world.spec.seed, f"{self.name}:seed")
        async with db.transaction() as tx:
            for key in sorted(soak.world.members):
                if rng.random() >= self.seeded_capacity:
                    continue
                state = CapacityState.LIMITED if rng.random() < 0.25 else CapacityState.AVAILABLE
                capacity = Capacity(soak.member(key).id, state)
                guild = soak.guilds[soak.world.members[key].server]
                await help_repo.set_capacity(tx, guild.id, capacity, soak.now())

    async def prepare(self, soak: Soak) -> None:
        """Each server gets a #help channel; its facilitators send half their circles' asks
        there (the rest open in the circle's own channel, the default)."""
        # The channels first: the bot learns of a channel a moment after it is made, and a
        # channel it has not seen yet is answered "something went wrong".
        created = {s: guild.create_text_channel(f"help-{s}") for s, guild in soak.guilds.items()}
        for s in soak.guilds:
            for n, model in enumerate(soak.world.server_circles(s)):
                self.help_channels[model.key] = soak.channels[model.key].id
                if n % 2:
                    continue
                for attempt in range(3):
                    reply = await soak.interact(
                        soak.member(model.facilitator).run(
                            "/facilitate circle help-channel",
                            channel=soak.channels[model.key],
                            force=True,  # the server lets its facilitators' role use /facilitate
                            circle=model.name,
                            options={"channel": created[s]},
                        )
                    )
                    if reply is not None and "Asks open their threads" in reply.text:
                        break
                    await asyncio.sleep(0.5 * (attempt + 1))
                else:
                    raise RuntimeError(f"circle {model.key}: the help channel was not set")
                self.help_channels[model.key] = created[s].id

    # -- members acting -------------------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        circle_key, who = event.subjects[0], event.subjects[1]
        if not soak.present(who):
            return
        handler = getattr(self, "_" + event.action.replace("-", "_"))
        await handler(soak, event, circle_key, who)

    async def _capacity(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        reply = await soak.interact(
            soak.member(who).run("/capacity", channel=soak.channels[circle_key], **event.params)
        )
        if reply is not None and str(event.params["state"]).capitalize() in reply.text:
            self.tally["capacity changes"] += 1

    async def _ask(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token = str(event.params["token"])
        anonymous = bool(event.params["anonymous"])
        model = AskModel(token, circle_key, who, anonymous)
        self.asks[token] = model  # its token is watched even if the answer is lost
        member = soak.member(who)
        circle = soak.world.circles[circle_key]
        form = await soak.interact(
            member.run(
                "/ask",
                channel=soak.channels[circle_key],
                kind=event.params["kind"],
                circle=circle.name,
            )
        )
        if form is None or form.modal is None:
            return
        self.tally["asks sent"] += 1
        done = await soak.interact(
            member.submit(
                form,
                {
                    "What you need": soak.wrote(str(event.params["what"])),
                    "Ask anonymously": "yes" if anonymous else "no",
                },
            )
        )
        if done is not None and ASKED in done.text:
            model.acked_at = soak.now()
            self.tally["asks acknowledged"] += 1
            self.tally["anonymous asks acknowledged"] += int(anonymous)

    def _opening(self, soak: Soak, token: str) -> Message | None:
        model = self.asks.get(token)
        if model is None or model.acked_at is None:
            return None
        parent = self.help_channels[model.circle]
        for record in list(soak.server.state.channels.values()):
            if record.parent_id == parent and token in record.name:
                for message in record.messages:
                    if not message.deleted and "I can help" in message.buttons:
                        return message
        return None

    async def _offer(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        opening = self._opening(soak, str(event.params["token"]))
        if opening is None:
            return
        reply = await soak.interact(soak.member(who).click("I can help", message=opening))
        if reply is not None and "asker" in reply.text:
            self.tally["offers"] += 1

    async def _accept(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token, helper = str(event.params["token"]), str(event.params["helper"])
        asker = soak.member(who)
        mention = f"<@{soak.member(helper).id}>"
        offer = next(
            (
                m
                for m in reversed(asker.dms)
                if token in m.text and mention in m.text and "Accept" in m.buttons
            ),
            None,
        )
        if offer is None:  # DMs closed, or not delivered yet: the thread's See offers
            opening = self._opening(soak, token)
            if opening is None:
                return
            listed = await soak.interact(asker.click("See offers", message=opening))
            if listed is None or "Accept offer 1" not in listed.buttons:
                return
            reply = await soak.interact(asker.click("Accept offer 1", message=listed))
        else:
            reply = await soak.interact(asker.click("Accept", message=offer))
        if reply is not None and "Accepted" in reply.text:
            self.tally["acceptances"] += 1
            self.asks[token].helpers_accepted.add(helper)

    async def _resolve(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token = str(event.params["token"])
        opening = self._opening(soak, token)
        if opening is None:
            return
        asker = soak.member(who)
        reply = await soak.interact(asker.click("Resolved", message=opening))
        if reply is None or "Resolved" not in reply.text:
            return
        self.tally["asks resolved"] += 1
        if "Log time with helper 1" in reply.buttons:
            form = await soak.interact(asker.click("Log time with helper 1", message=reply))
            if form is not None and form.modal is not None:
                logged = await soak.interact(
                    asker.submit(form, {"How much time": event.params["minutes"]})
                )
                self.tally["time logged"] += int(logged is not None and "Logged" in logged.text)
        helper = event.params.get("helper")
        if helper is None or not soak.present(str(helper)):
            return
        note = soak.wrote(str(event.params["thanks"]))
        circle = soak.world.circles[circle_key]
        thanked = await soak.interact(
            asker.run(
                "/thanks",
                channel=soak.channels[circle_key],
                member=soak.member(str(helper)),
                note=note,
                circle=circle.name,
            )
        )
        if thanked is not None and "Thanks posted" in thanked.text:
            self.thanks[note] = (self.asks[token], str(helper), soak.now())
            self.tally["thanks posted"] += 1

    async def _helper_time(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token = str(event.params["token"])
        helper = soak.member(who)
        told = next(
            (m for m in reversed(helper.dms) if token in m.text and "Log time" in m.buttons), None
        )
        if told is None:
            return
        form = await soak.interact(helper.click("Log time", message=told))
        if form is not None and form.modal is not None:
            logged = await soak.interact(helper.submit(form, {"How much time": "45m"}))
            self.tally["time logged"] += int(logged is not None and "Logged" in logged.text)

    async def _withdraw(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        opening = self._opening(soak, str(event.params["token"]))
        if opening is None:
            return
        reply = await soak.interact(soak.member(who).click("Withdraw", message=opening))
        if reply is not None and "Withdrawn" in reply.text:
            self.tally["asks withdrawn"] += 1

    async def _still(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token = str(event.params["token"])
        asker = soak.member(who)
        care = next(
            (
                m
                for m in reversed(asker.dms)
                if token in m.text and "Yes, keep it open" in m.buttons
            ),
            None,
        )
        if care is None:
            return
        self.tally["still-need-this DMs seen"] += 1
        if event.params["keep"]:
            reply = await soak.interact(asker.click("Yes, keep it open", message=care))
            self.tally["kept open"] += int(reply is not None and "Kept open" in reply.text)

    async def _reveal(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        token = str(event.params["token"])
        model = self.asks.get(token)
        if model is None or model.acked_at is None:
            return
        ask_id = await self._ask_id(soak, model)
        if ask_id is None:
            return
        reason = soak.wrote(str(event.params["reason"]))
        asker = soak.member(model.asker)
        dms_closed = asker.dms_closed
        self.reveal_tries[(ask_id, who)] += 1  # unanswered, it may still have happened
        reply = await soak.interact(
            soak.member(who).run(
                "/facilitate help reveal",
                channel=soak.channels[circle_key],
                force=True,
                ask=ask_id,
                reason=reason,
            )
        )
        if reply is None or "was made by" not in reply.text:
            return
        self.tally["reveals"] += 1
        self.reveals.append(Reveal(token, who, ask_id, soak.now(), dms_closed))
        if f"<@{asker.id}>" not in reply.text:
            self._broken(
                "every reveal recorded", f"ask {ask_id}: the reveal named someone else", token
            )

    async def _export(self, soak: Soak, event: Event, circle_key: str, who: str) -> None:
        member = soak.member(who)
        reply = await soak.interact(
            member.run("/privacy export", channel=soak.channels[circle_key])
        )
        files = [a for m in (reply.messages if reply else []) for a in m.attachments]
        if not files:
            return
        self.tally["exports read"] += 1
        tables = json.loads(files[0].content).get("tables", {})
        # Reveals they made (an unanswered try may have happened too): the row names the asker.
        mine = {ask for (ask, by) in self.reveal_tries if by == who}
        askers = {
            m.token: soak.member(m.asker).id
            for m in list(self.asks.values())
            if m.anonymous and m.asker != who
        }
        for table, token in export_leaks(tables, member.id, askers, mine):
            self._broken(
                "no anonymous asker revealed",
                f"another member's export ({table}) holds an anonymous asker's id",
                token,
                who,
            )

    async def _ask_id(self, soak: Soak, model: AskModel) -> int | None:
        if model.ask_id is None:
            await self._load_asks(soak)
        return model.ask_id

    async def _load_asks(self, soak: Soak) -> dict[str, dict[str, Any]]:
        """The stored asks by token (text decrypted), each model given its id."""
        rows = await soak.read(
            "SELECT a.*, s.idle_days FROM help_asks a "
            "LEFT JOIN help_circle_settings s ON s.circle_id = a.circle_id"
        )
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            match = TOKEN.search(soak.cipher.decrypt_optional(row["what"]) or "")
            if match is None:
                continue
            found[match.group()] = dict(row)
            model = self.asks.get(match.group())
            if model is not None:
                model.ask_id = int(row["id"])
        return found

    def _broken(self, invariant: str, detail: str, *subjects: str) -> None:
        self.found.append((invariant, detail, subjects))

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        now = soak.now()
        stored = await self._load_asks(soak)
        if final:
            outcomes = Counter(str(r["outcome"] or "open") for r in stored.values())
            for outcome, n in outcomes.items():
                self.tally[f"asks ending {outcome}"] = n
        self._check_stored(soak, stored, now)
        self._check_posted(soak, stored, now)
        rows = await soak.read("SELECT ask_id, requester_id, revealed_by_user_id FROM help_reveals")
        recorded = Counter(
            (int(r["ask_id"]), int(r["revealed_by_user_id"]), int(r["requester_id"])) for r in rows
        )
        self._check_messages(soak, {(ask, by) for ask, by, _ in recorded})
        self._check_reveals(soak, recorded, now)
        self._check_thanks(soak, now)
        await self._check_open(soak, stored, now)
        found = [Violation(i, d, s, now) for i, d, s in self.found]
        self.found.clear()
        return found

    def _settled(self, soak: Soak, model: AskModel, since: datetime, now: datetime) -> bool:
        """Old enough to owe everything, its people still here, its server there throughout."""
        server = soak.world.members[model.asker].server
        spans = soak.absences.get(server, [])
        return (
            since + LATE < now
            and model.asker not in soak.erased
            and soak.present(model.asker)
            and not any(back is None or back > since for _, back in spans)
        )

    def _check_stored(self, soak: Soak, stored: dict[str, dict[str, Any]], now: datetime) -> None:
        for model in self.asks.values():
            if model.acked_at is None or model.asker in soak.erased:
                continue
            row = stored.get(model.token)
            server = soak.world.members[model.asker].server
            if row is None:
                if soak.server_presence(server)(now):
                    self._broken(
                        "acknowledged ask kept",
                        "an acknowledged ask is not stored",
                        model.token,
                        model.asker,
                    )
            elif bool(row["anonymous"]) != model.anonymous:
                self._broken(
                    "anonymity as chosen",
                    f"ask {row['id']}: stored anonymous={bool(row['anonymous'])}, chosen {model.anonymous}",
                    model.token,
                )

    def _check_posted(self, soak: Soak, stored: dict[str, dict[str, Any]], now: datetime) -> None:
        threads: Counter[int] = Counter()
        posts: Counter[int] = Counter()
        for record in list(soak.server.state.channels.values()):
            if not record.is_thread:
                continue
            counted = False
            for message in record.messages:
                footer = (
                    str((message.embeds[0].get("footer") or {}).get("text", ""))
                    if message.embeds
                    else ""
                )
                match = FOOTER.match(footer)
                if match is None or message.deleted:
                    continue
                posts[int(match.group(1))] += 1
                if not counted:
                    threads[int(match.group(1))] += 1
                    counted = True
        for token, row in stored.items():
            model = self.asks.get(token)
            if model is None:
                continue
            ask_id = int(row["id"])
            if threads[ask_id] > 1 or posts[ask_id] > 1:
                self._broken(
                    "each ask posted once",
                    f"ask {ask_id}: {threads[ask_id]} thread(s), {posts[ask_id]} post(s)",
                    token,
                )
            elif posts[ask_id] == 0 and self._settled(soak, model, from_db(row["created_at"]), now):
                self._broken("each ask posted once", f"ask {ask_id}: never posted", token)

    def _check_messages(self, soak: Soak, revealed: set[tuple[int, int]]) -> None:
        """Every new message about an anonymous ask: its asker only where allowed."""
        anonymous = {t: m for t, m in self.asks.items() if m.anonymous}
        if not anonymous:
            return
        by_id = {m.ask_id: m for m in anonymous.values() if m.ask_id is not None}
        for record, message in self.scanner.new(soak):
            self.tally["messages scanned"] += 1
            text = message_text(message)
            tokens = set(TOKEN.findall(text)) | (
                set(TOKEN.findall(record.name)) if record.is_thread else set()
            )
            about = [anonymous[t] for t in tokens if t in anonymous]
            about += [by_id[int(i)] for i in ASK_NUMBER.findall(text) if int(i) in by_id]
            for model in about:
                asker = soak.member(model.asker)
                if not _names(text, asker.id, asker.name):
                    continue
                if message.visible_to == asker.id or (
                    record.recipient is not None and record.recipient.id == asker.id
                ):
                    continue  # shown to the asker alone
                if (model.ask_id, message.visible_to) in revealed:
                    continue  # the facilitator who revealed it, recorded
                self._broken(
                    "no anonymous asker revealed",
                    f"channel {record.id}: a message about an anonymous ask names its asker",
                    model.token,
                )
        for record in list(soak.server.state.channels.values()):
            if not record.is_thread:
                continue
            for model in anonymous.values():
                asker = soak.member(model.asker)
                if model.token in record.name and _names(record.name, asker.id, asker.name):
                    self._broken(
                        "no anonymous asker revealed",
                        f"thread {record.id}: its name names the anonymous asker",
                        model.token,
                    )

    def _check_reveals(
        self, soak: Soak, stored: Counter[tuple[int, int, int]], now: datetime
    ) -> None:
        """Acknowledged reveals have their rows; rows come only from reveals tried; the asker
        is told once per reveal (DMs open)."""
        tried = Counter(
            {(ask, soak.member(by).id): n for (ask, by), n in self.reveal_tries.items()}
        )
        for (ask_id, by, _), count in stored.items():
            if count > tried[(ask_id, by)]:
                self._broken(
                    "every reveal recorded",
                    f"ask {ask_id}: a reveal row no facilitator made",
                    *self._tokens(ask_id),
                )
        for token in {r.token for r in self.reveals}:
            model = self.asks[token]
            if model.asker in soak.erased:
                continue  # the reveals went with the asker's data
            asker = soak.member(model.asker)
            reveals = [r for r in self.reveals if r.token == token]
            purged = soak.purged.get(soak.world.members[model.asker].server)
            if purged is not None and reveals[0].at < purged <= now:
                continue  # the server removed the bot: its data, reveals too, went after the grace
            ask_id = reveals[0].ask_id
            for reveal in reveals:
                key = (ask_id, soak.member(reveal.facilitator).id, asker.id)
                made = sum(1 for r in reveals if r.facilitator == reveal.facilitator)
                if stored[key] < made:
                    self._broken(
                        "every reveal recorded",
                        f"ask {ask_id}: an acknowledged reveal has no row",
                        token,
                    )
            told = len([m for m in asker.dms if REVEALED_TO_ME in m.text and token in m.text])
            owed = len([r for r in reveals if r.at + LATE < now])
            reachable = not any(r.dms_closed for r in reveals) and not asker.dms_closed
            ceiling = sum(n for (ask, _), n in self.reveal_tries.items() if ask == ask_id)
            if told > ceiling:
                self._broken(
                    "every reveal recorded", f"ask {ask_id}: the asker was told {told} times", token
                )
            elif told < owed and reachable and soak.present(model.asker):
                self._broken(
                    "every reveal recorded", f"ask {ask_id}: the asker was not told", token
                )

    def _tokens(self, ask_id: int) -> tuple[str, ...]:
        return tuple(m.token for m in self.asks.values() if m.ask_id == ask_id)

    def _check_thanks(self, soak: Soak, now: datetime) -> None:
        if not self.thanks:
            return
        seen: Counter[str] = Counter()
        for record in list(soak.server.state.channels.values()):
            if record.recipient is not None:
                continue
            for message in record.visible_messages():
                for note in re.findall(r"thanks-[0-9a-f]{10}", message.content):
                    seen[note] += 1
        for note, (model, helper, at) in self.thanks.items():
            owed = self._settled(soak, model, at, now) and helper not in soak.erased
            if seen[note] > 1 or (seen[note] == 0 and owed):
                self._broken(
                    "each thank-you posted once", f"posted {seen[note]} times", model.token
                )

    async def _check_open(
        self, soak: Soak, stored: dict[str, dict[str, Any]], now: datetime
    ) -> None:
        for token, row in stored.items():
            model = self.asks.get(token)
            if model is None:
                continue
            if row["outcome"] == "left" and model.asker not in soak.left:
                self._broken(
                    "closed as left only when the asker left",
                    f"ask {row['id']} closed as left while its asker is in the server",
                    token,
                )
            if row["closed_at"] is not None:
                continue
            server = soak.world.members[model.asker].server
            if server in soak.absent_servers or not soak.server_presence(server)(now):
                continue
            state = CareState(
                from_db(row["last_activity_at"]),
                from_db(row["care_asked_at"]) if row["care_asked_at"] else None,
                bool(row["flagged"]),
            )
            due = next_care_at(state, int(row["idle_days"] or 3))
            # Idle care waits while the bot is out of the server, and resumes on its return.
            back = [b for _, b in soak.absences.get(server, []) if b is not None]
            if due is not None and back:
                due = max(due, *back)
            if due is not None and due + STUCK < now:
                self._broken(
                    "no ask stuck open",
                    f"ask {row['id']}: idle care due {due:%Y-%m-%d %H:%M} has not run",
                    token,
                )

    def figures(self) -> dict[str, float]:
        return {f"help: {k}": float(v) for k, v in sorted(self.tally.items())}


def export_leaks(
    tables: dict[str, list[dict[str, Any]]],
    exporter: int,
    askers: dict[str, int],
    revealed_by_exporter: set[int],
) -> list[tuple[str, str]]:
    """(table, ask token) for each row of a member's export that carries the id of another
    member's anonymous ask (`askers`: token -> asker id). Not leaks: thank-yous (they name both
    sides by design), other features' rows, a reveal the exporter made, and a reveal of the
    exporter's own ask (it names the facilitator who revealed it, whatever else they asked)."""
    found = []
    for table, rows in tables.items():
        if not (table.startswith("help_") or table == "outbox") or table == "help_thanks":
            continue
        for row in rows:
            if table == "help_reveals" and (
                row.get("ask_id") in revealed_by_exporter
                or str(row.get("requester_id")) == str(exporter)
            ):
                continue
            text = json.dumps(row)
            found += [(table, token) for token, asker in askers.items() if str(asker) in text]
    return found


def _names(text: str, user_id: int, name: str) -> bool:
    """Whether `text` carries the member's id (bare or in a mention) or their name."""
    pattern = rf"(?<!\d){user_id}(?!\d)|{re.escape(name)}(?!\d)"
    return re.search(pattern, text) is not None
