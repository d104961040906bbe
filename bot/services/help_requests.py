"""Help requests: ask, route, offer, accept, resolve or withdraw, idle care, thanks, time bank.

Every post and DM a state change owes is an outbox row written in the same transaction as
the change, so it goes out exactly once across restarts (payloads carry ids, never text).
Idle care is one persisted timer per ask (`help-care:{ask}`), which re-arms itself from the
ask's last activity, so activity never has to touch the timer.

Anonymity: the asker of an anonymous ask is known to the database and to the asker only.
No post, thread name, DM to someone else, log line or other member's export carries their
id; facilitators learn it only through :meth:`HelpService.reveal`, which is recorded and
told to the asker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.domain.circles import Circle
from bot.domain.help_requests import (
    BALANCE_DAYS,
    Ask,
    AskText,
    Capacity,
    CareAction,
    HelpSettings,
    Kind,
    Ledger,
    MemberBalance,
    Outcome,
    balance_flags,
    care_action,
    check_may_ask,
    check_may_thank,
    ledger_of,
    next_care_at,
    parse_kinds,
    parse_minutes,
    parse_state,
    route,
    validate_addition,
    validate_ask,
    validate_idle_days,
    validate_max_helps,
    validate_thanks_note,
)
from bot.domain.schedule import parse_until_date
from bot.errors import NotAllowed, ValidationError
from bot.scheduling import JobScheduler
from bot.services.outbox import DeliveryFailed, DeliveryRun, Outbox
from bot.services.safety import SafetyNet
from bot.storage.crypto import TextCipher
from bot.storage.database import Database, Tx
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import help_requests as repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories.jobs import StoredJob

log = logging.getLogger(__name__)

CARE = "help-care"
CARE_RECHECK = timedelta(days=1)  # idle care while the bot is out of the server: look again
# What asks owe Discord (outbox kinds).
THREAD, ROUTE, OFFERED, ACCEPTED, ADDITION = (
    "help-thread",
    "help-route",
    "help-offered",
    "help-accepted",
    "help-addition",
)
HELPING = "help-helping"
CLOSED, CARE_DM, REVEALED, THANKS, RESOLVED_HELPER = (
    "help-closed",
    "help-care-dm",
    "help-revealed",
    "help-thanks",
    "help-resolved-helper",
)
WITHDRAWN = repo.WITHDRAWN_NOTICE
DM_KINDS = frozenset({ROUTE, OFFERED, ACCEPTED, CARE_DM, REVEALED, RESOLVED_HELPER})


class HelpResting:
    """Members whose /capacity says resting are given no rotating role either."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def unavailable(self, guild_id: int, user_ids: Sequence[int], today: date) -> set[int]:
        async with self._db.read() as tx:
            found = await repo.capacities(tx, guild_id, list(user_ids))
        return {c.member_id for c in found if c.resting(today)}


class HelpNotifier(Protocol):
    """The Discord side. Each method raises `DeliveryFailed` when Discord refused or could
    not be reached; DMs return False when the member's DMs are closed."""

    async def open_thread(self, ask: Ask, circle: Circle, run: DeliveryRun) -> int:
        """Create the ask's thread and post the ask in it (with its buttons); the thread id."""
        ...

    async def post_in_thread(
        self, thread_id: int, kind: str, ask: Ask | None, run: DeliveryRun, **facts: object
    ) -> None: ...

    async def dm(
        self, user_id: int, kind: str, ask: Ask, run: DeliveryRun, **facts: object
    ) -> bool: ...

    async def post_thanks(
        self, thanks: repo.Thanks, channel_id: int | None, run: DeliveryRun
    ) -> bool:
        """Public in `channel_id`, or a DM to the recipient when `channel_id` is None."""
        ...

    async def is_member(self, guild_id: int, user_id: int) -> bool | None:
        """Whether the member is still in the server (asked of Discord); None when the bot
        is not in that server itself (removed, perhaps to be invited back), so it can't tell."""
        ...


@dataclass(frozen=True)
class Asked:
    ask: Ask
    thread_delivery: int | None
    routed: int
    show_crisis_card: bool


@dataclass(frozen=True)
class Offered:
    ask: Ask
    new: bool


@dataclass(frozen=True)
class Closed:
    ask: Ask
    helper_ids: tuple[int, ...]
    time_bank: bool


@dataclass(frozen=True)
class Revealed:
    ask: Ask
    requester_id: int


def _not_found() -> ValidationError:
    return ValidationError("That ask no longer exists.", "/ask kind:practical")


def _closed(ask: Ask) -> ValidationError:
    return ValidationError(
        "That ask is already closed. If you still need help, ask again.",
        f"/ask kind:{ask.kind.value}",
    )


class HelpService:
    def __init__(
        self,
        db: Database,
        cipher: TextCipher,
        clock: Clock,
        jobs: JobScheduler,
        outbox: Outbox,
        safety: SafetyNet,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._jobs = jobs
        self._outbox = outbox
        self._safety = safety
        self.notifier: HelpNotifier | None = None  # set by the cog
        jobs.register(CARE, self._on_care_job)
        outbox.register(THREAD, self._deliver_thread)
        outbox.register(ADDITION, self._deliver_addition)
        outbox.register(HELPING, self._deliver_helping)
        outbox.register(CLOSED, self._deliver_closed)
        outbox.register(WITHDRAWN, self._deliver_withdrawn)
        outbox.register(THANKS, self._deliver_thanks)
        for kind in DM_KINDS:
            outbox.register(kind, self._deliver_dm)

    def _notify(self) -> HelpNotifier:
        if self.notifier is None:
            raise RuntimeError("no HelpNotifier attached")
        return self.notifier

    async def _owe(
        self,
        tx: Tx,
        kind: str,
        key: str,
        ask: Ask | None,
        *,
        guild_id: int,
        user_id: int | None = None,
        **payload: int | str,
    ) -> int | None:
        if ask is not None:
            payload["ask_id"] = ask.id
        return await outbox_repo.enqueue(
            tx,
            kind,
            f"{kind}:{key}",
            self._clock.now(),
            payload,
            guild_id=guild_id,
            user_id=user_id,
        )

    # -- settings

    async def settings(self, circle_id: int) -> HelpSettings:
        async with self._db.read() as tx:
            return await repo.settings(tx, circle_id)

    async def set_channel(self, circle: Circle, which: str, channel_id: int) -> None:
        column = {"help": "help_channel_id", "gratitude": "gratitude_channel_id"}[which]
        async with self._db.transaction() as tx:
            await repo.set_setting(tx, circle.id, circle.guild_id, column, channel_id)

    async def configure(
        self, circle: Circle, idle_days: int | None, time_bank: bool | None
    ) -> HelpSettings:
        async with self._db.transaction() as tx:
            if idle_days is not None:
                days = validate_idle_days(idle_days)
                await repo.set_setting(tx, circle.id, circle.guild_id, "idle_days", days)
            if time_bank is not None:
                await repo.set_setting(tx, circle.id, circle.guild_id, "time_bank", int(time_bank))
            return await repo.settings(tx, circle.id)

    # -- asking

    async def check_can_ask(self, circle: Circle, user_id: int) -> None:
        """Before the form: a member of the circle, under the open-ask cap and the rate."""
        async with self._db.read() as tx:
            await self._check_can_ask(tx, circle, user_id)

    async def _check_can_ask(self, tx: Tx, circle: Circle, user_id: int) -> None:
        if not await circles_repo.is_member(tx, circle.id, user_id):
            raise NotAllowed(
                f"Asks in “{circle.name}” are for its members. Join first, then ask.",
                f"/circle join circle:{circle.name}",
            )
        now = self._clock.now()
        check_may_ask(
            await repo.open_ask_count(tx, user_id),
            await repo.ask_times_since(tx, user_id, now - timedelta(days=1)),
            now,
        )

    async def ask(
        self,
        circle_id: int,
        guild_id: int | None,
        user_id: int,
        kind: Kind,
        text: AskText,
        anonymous: bool,
    ) -> Asked:
        """Store the ask, its routing, its thread's delivery and its care timer together."""
        text = validate_ask(text.what, text.when, text.enough)
        flagged = self._safety.screen(text.joined())
        now = self._clock.now()
        async with self._db.transaction() as tx:
            circle = await circles_repo.get(tx, circle_id)
            if circle is None or circle.guild_id != guild_id:
                raise ValidationError("That circle no longer exists.", "/circle info")
            await repo.hold_requester(tx, user_id)  # the cap counts rows not yet written
            await self._check_can_ask(tx, circle, user_id)
            settings = await repo.settings(tx, circle.id)
            ask_id = await repo.create_ask(
                tx,
                self._cipher,
                repo.NewAsk(
                    circle.id,
                    circle.guild_id,
                    user_id,
                    kind,
                    anonymous,
                    text,
                    flagged,
                    settings.help_channel_id or circle.channel_id,
                    now,
                ),
            )
            ask = await repo.get_ask(tx, self._cipher, ask_id)
            assert ask is not None
            thread_delivery = await self._owe(tx, THREAD, str(ask.id), ask, guild_id=ask.guild_id)
            members = await circles_repo.member_ids(tx, circle.id)
            chosen = route(kind, user_id, await repo.candidates(tx, circle.guild_id, members), now)
            for member_id in await repo.record_routes(tx, ask, chosen, now):
                await self._owe(
                    tx,
                    ROUTE,
                    f"{ask.id}:{member_id}",
                    ask,
                    guild_id=ask.guild_id,
                    user_id=member_id,
                )
            job = self._care_job(ask, settings.idle_days)
            if job is not None:
                await jobs_repo.upsert(tx, job)
        if job is not None:
            self._jobs.arm(job)
        self._outbox.kick()
        log.info(
            "Ask %s opened in circle %s; routed to %d member(s)", ask.id, circle.id, len(chosen)
        )
        if flagged and not anonymous:
            # Facilitators' opt-in alert names the member: never for an anonymous ask.
            await self._safety.check(
                circle.guild_id, user_id, text.joined(), f"circle “{circle.name}”"
            )
        return Asked(ask, thread_delivery, len(chosen), flagged)

    def _care_job(self, ask: Ask, idle_days: int) -> StoredJob | None:
        due = next_care_at(ask.care, idle_days)
        if due is None:
            return None
        return StoredJob(f"{CARE}:{ask.id}", CARE, due, {"ask_id": ask.id}, ask.guild_id)

    async def _own_open_ask(self, tx: Tx, ask_id: int, user_id: int, *, hold: bool) -> Ask:
        ask = await repo.get_ask(tx, self._cipher, ask_id, hold=hold)
        if ask is None:
            raise _not_found()
        if ask.requester_id != user_id:
            raise NotAllowed(
                "Only the person who asked can do that. If you'd like to help, press **I can help**.",
                "I can help",
            )
        if not ask.is_open:
            raise _closed(ask)
        return ask

    async def own_open_ask(self, ask_id: int, user_id: int) -> Ask:
        async with self._db.read() as tx:
            return await self._own_open_ask(tx, ask_id, user_id, hold=False)

    async def add_to_ask(self, ask_id: int, user_id: int, text: str | None) -> tuple[Ask, bool]:
        """The asker's addition, posted for them (anonymously if the ask is); whether it met
        the safety net (the author is then shown the crisis card; the addition is kept)."""
        addition = validate_addition(text)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            ask = await self._own_open_ask(tx, ask_id, user_id, hold=True)
            addition_id = await repo.add_addition(tx, self._cipher, ask, addition, now)
            await repo.touch(tx, ask.id, now)
            await self._owe(
                tx, ADDITION, str(addition_id), ask, guild_id=ask.guild_id, addition_id=addition_id
            )
        self._outbox.kick()
        flagged = self._safety.screen(addition)
        if flagged and not ask.anonymous:
            await self._safety.check(ask.guild_id, user_id, addition, "a help request")
        return ask, flagged

    # -- offers

    async def offer(self, ask_id: int, user_id: int) -> Offered:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id, hold=True)
            if ask is None:
                raise _not_found()
            if ask.requester_id == user_id:
                raise ValidationError(
                    "This is your own ask. You can add to it, or close it when you're done.",
                    "Add to my ask",
                )
            if not ask.is_open:
                raise _closed(ask)
            if not await circles_repo.is_member(tx, ask.circle_id, user_id):
                circle = await circles_repo.get(tx, ask.circle_id)
                name = circle.name if circle else "the circle"
                raise NotAllowed(
                    f"Offers are for members of “{name}”. Join first, then offer.",
                    f"/circle join circle:{name}",
                )
            new = await repo.add_offer(tx, ask, user_id, now)
            if new:
                await repo.touch(tx, ask.id, now)
                await self._owe(
                    tx,
                    OFFERED,
                    f"{ask.id}:{user_id}",
                    ask,
                    guild_id=ask.guild_id,
                    user_id=ask.requester_id,
                    offerer_id=user_id,
                )
        self._outbox.kick()
        return Offered(ask, new)

    async def accept(self, ask_id: int, user_id: int, offerer_id: int) -> tuple[Ask, bool]:
        """The asker accepts a helper; False when already accepted (a double click)."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            ask = await self._own_open_ask(tx, ask_id, user_id, hold=True)
            await repo.hold_helper(tx, offerer_id)  # two asks accepting them at once: one at a time
            offer = await repo.get_offer(tx, ask.id, offerer_id)
            if offer is None:
                raise ValidationError(
                    "That member hasn't offered to help with this ask.", "I can help"
                )
            if offer.accepted_at is not None:
                return ask, False
            capacity = await repo.get_capacity(tx, ask.guild_id, offerer_id)
            cap = capacity.cap() if capacity is not None else 2
            if await repo.open_helps(tx, offerer_id) >= cap:
                raise ValidationError(
                    "They are already helping with as much as they said they have room for. "
                    "Another offer may come; you can also accept someone else.",
                    "Accept another offer",
                )
            accepted = await repo.accept_offer(tx, ask.id, offerer_id, now)
            if accepted:
                await repo.touch(tx, ask.id, now)
                key = f"{ask.id}:{offerer_id}"
                await self._owe(tx, ACCEPTED, key, ask, guild_id=ask.guild_id, user_id=offerer_id)
                await self._owe(tx, HELPING, key, ask, guild_id=ask.guild_id, helper_id=offerer_id)
        self._outbox.kick()
        return ask, accepted

    async def offers(self, ask_id: int, user_id: int) -> tuple[Ask, list[repo.Offer]]:
        async with self._db.read() as tx:
            ask = await self._own_open_ask(tx, ask_id, user_id, hold=False)
            return ask, await repo.offers(tx, ask.id)

    # -- closing

    async def close(self, ask_id: int, user_id: int, outcome: Outcome) -> Closed:
        """Resolved or withdrawn by the asker (a second click is told it is closed)."""
        async with self._db.transaction() as tx:
            ask = await self._own_open_ask(tx, ask_id, user_id, hold=True)
            closed = await self._close(tx, ask, outcome)
            settings = await repo.settings(tx, ask.circle_id)
        self._jobs.disarm(f"{CARE}:{ask.id}")
        self._outbox.kick()
        return Closed(closed, await self._helpers(ask.id), settings.time_bank)

    async def _helpers(self, ask_id: int) -> tuple[int, ...]:
        async with self._db.read() as tx:
            return tuple(o.offerer_id for o in await repo.offers(tx, ask_id) if o.accepted_at)

    async def _close(self, tx: Tx, ask: Ask, outcome: Outcome) -> Ask:
        now = self._clock.now()
        if not await repo.close_ask(tx, ask.id, now, outcome):
            raise _closed(ask)
        await jobs_repo.delete(tx, f"{CARE}:{ask.id}")
        await self._owe(tx, CLOSED, str(ask.id), ask, guild_id=ask.guild_id, outcome=outcome.value)
        if outcome is Outcome.RESOLVED:
            settings = await repo.settings(tx, ask.circle_id)
            for offer in await repo.offers(tx, ask.id):
                if offer.accepted_at is not None:
                    await self._owe(
                        tx,
                        RESOLVED_HELPER,
                        f"{ask.id}:{offer.offerer_id}",
                        ask,
                        guild_id=ask.guild_id,
                        user_id=offer.offerer_id,
                        time_bank=int(settings.time_bank),
                    )
        closed = await repo.get_ask(tx, self._cipher, ask.id)
        assert closed is not None
        return closed

    async def keep_open(self, ask_id: int, user_id: int) -> Ask:
        """The asker answered "still need this?" with yes: the wait starts again."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            ask = await self._own_open_ask(tx, ask_id, user_id, hold=True)
            await repo.touch(tx, ask.id, now)
        return ask

    # -- idle care

    async def _on_care_job(self, job: StoredJob) -> None:
        ask_id = int(job.payload["ask_id"])
        async with self._db.read() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id)
        if ask is None or not ask.is_open:
            return
        member = await self._notify().is_member(ask.guild_id, ask.requester_id)
        if member is None:  # the bot is out of the server: whether the asker left is unknown
            later = StoredJob(
                job.job_id, CARE, self._clock.now() + CARE_RECHECK, job.payload, ask.guild_id
            )
            async with self._db.transaction() as tx:
                await jobs_repo.upsert(tx, later)
            self._jobs.arm(later)
            return
        if not member:
            await self._close_for(ask, Outcome.LEFT)
            return
        now = self._clock.now()
        async with self._db.transaction() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id, hold=True)
            if ask is None or not ask.is_open:
                return
            settings = await repo.settings(tx, ask.circle_id)
            action = care_action(ask.care, now, settings.idle_days)
            if action is CareAction.CLOSE:
                await self._close(tx, ask, Outcome.IDLE)
                next_job = None
            else:
                if action in (CareAction.ASK_STILL_NEEDED, CareAction.CARD_AGAIN):
                    await repo.mark_care_asked(tx, ask.id, now)
                    await self._owe(
                        tx,
                        CARE_DM,
                        f"{ask.id}:{now.isoformat()}",
                        ask,
                        guild_id=ask.guild_id,
                        user_id=ask.requester_id,
                        card=int(ask.flagged),
                    )
                    ask = await repo.get_ask(tx, self._cipher, ask.id)
                    assert ask is not None
                next_job = self._care_job(ask, settings.idle_days)
                if next_job is not None:
                    await jobs_repo.upsert(tx, next_job)
        if next_job is not None:
            self._jobs.arm(next_job)
        self._outbox.kick()

    async def _close_for(self, ask: Ask, outcome: Outcome) -> None:
        async with self._db.transaction() as tx:
            current = await repo.get_ask(tx, self._cipher, ask.id, hold=True)
            if current is None or not current.is_open:
                return
            await self._close(tx, current, outcome)
        self._jobs.disarm(f"{CARE}:{ask.id}")
        self._outbox.kick()

    # -- reveal

    async def reveal(
        self, guild_id: int, ask_id: int, facilitator_id: int, reason: str
    ) -> Revealed:
        why = " ".join(reason.split())
        if not 3 <= len(why) <= 300:
            raise ValidationError(
                "Give a reason of 3 to 300 characters; the asker will be told it.",
                "reason:safety concern raised by a member",
            )
        async with self._db.transaction() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id)
            if ask is None or ask.guild_id != guild_id:
                raise ValidationError(f"There is no ask #{ask_id} in this server.", "ask:12")
            if not ask.anonymous:
                raise ValidationError(
                    f"Ask #{ask_id} is not anonymous: its thread already says who asked.", "ask:12"
                )
            reveal_id = await repo.add_reveal(
                tx, self._cipher, ask, facilitator_id, why, self._clock.now()
            )
            await self._owe(
                tx,
                REVEALED,
                str(reveal_id),
                ask,
                guild_id=ask.guild_id,
                user_id=ask.requester_id,
                reveal_id=reveal_id,
            )
        self._outbox.kick()
        log.info("A facilitator revealed the asker of ask %s (recorded, asker told)", ask.id)
        return Revealed(ask, ask.requester_id)

    async def balance(self, circle: Circle) -> list[MemberBalance]:
        since = self._clock.now() - timedelta(days=BALANCE_DAYS)
        async with self._db.read() as tx:
            counts = await repo.balance_counts(tx, circle.id, since)
        return balance_flags(counts)

    # -- capacity

    async def set_capacity(
        self,
        guild_id: int,
        user_id: int,
        state: str,
        until: str | None,
        kinds: str | None,
        max_helps: int | None,
    ) -> Capacity:
        today = self._clock.now().date()
        capacity = Capacity(
            user_id,
            parse_state(state),
            None if not until else parse_until_date(until, today),
            parse_kinds(kinds),
            validate_max_helps(max_helps),
        )
        async with self._db.transaction() as tx:
            await repo.set_capacity(tx, guild_id, capacity, self._clock.now())
        return capacity

    def today(self) -> date:
        return self._clock.now().date()

    # -- thanks

    async def thank(
        self,
        guild_id: int,
        circle: Circle | None,
        giver_id: int,
        recipient_id: int,
        recipient_is_bot: bool,
        note: str | None,
        private: bool,
    ) -> int | None:
        """Store a thank-you and owe its post (or DM); the delivery id."""
        text = validate_thanks_note(note)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await repo.hold_giver(tx, giver_id)  # the daily caps count rows not yet written
            check_may_thank(
                giver_id,
                recipient_id,
                recipient_is_bot,
                await repo.thanked_since(tx, giver_id, now - timedelta(days=1)),
            )
            thanks_id = await repo.add_thanks(
                tx,
                self._cipher,
                guild_id,
                None if circle is None else circle.id,
                giver_id,
                recipient_id,
                text,
                private,
                now,
            )
            channel_id = 0
            if not private and circle is not None:
                settings = await repo.settings(tx, circle.id)
                channel_id = settings.gratitude_channel_id or circle.channel_id
            delivery = await self._owe(
                tx,
                THANKS,
                str(thanks_id),
                None,
                guild_id=guild_id,
                user_id=recipient_id if private else None,
                thanks_id=thanks_id,
                channel_id=channel_id,
            )
        self._outbox.kick()
        return delivery

    # -- the time bank

    async def log_time(self, ask_id: int, user_id: int, helper_id: int, minutes_text: str) -> int:
        """The asker (for `helper_id`) or the helper confirms time given; the minutes counted
        so far for this pair (0 until both confirmed)."""
        minutes = parse_minutes(minutes_text)
        async with self._db.transaction() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id, hold=True)
            if ask is None:
                raise _not_found()
            offer = await repo.get_offer(tx, ask.id, helper_id)
            by_asker = user_id == ask.requester_id
            if (
                offer is None
                or offer.accepted_at is None
                or user_id not in (ask.requester_id, helper_id)
            ):
                raise NotAllowed(
                    "Only the asker and an accepted helper can log this time.", "/ledger"
                )
            entry = await repo.confirm_time(tx, ask, helper_id, by_asker=by_asker, minutes=minutes)
        return entry.counted

    async def ledger(self, guild_id: int, user_id: int) -> Ledger:
        async with self._db.read() as tx:
            given = await repo.ledger_given(tx, guild_id, user_id)
            received = await repo.ledger_received(tx, guild_id, user_id)
        return ledger_of(user_id, given, received)

    # -- deliveries (the outbox worker calls these)

    async def _ask_of(self, run: DeliveryRun) -> Ask | None:
        async with self._db.read() as tx:
            return await repo.get_ask(tx, self._cipher, int(run.payload["ask_id"]))

    async def _deliver_thread(self, run: DeliveryRun) -> None:
        ask = await self._ask_of(run)
        if ask is None or ask.thread_id is not None:
            return
        async with self._db.read() as tx:
            circle = await circles_repo.get(tx, ask.circle_id)
        if circle is None:
            return
        thread_id = await self._notify().open_thread(ask, circle, run)
        async with self._db.transaction() as tx:
            await repo.set_thread(tx, ask.id, thread_id)

    async def _thread_of(self, run: DeliveryRun) -> tuple[Ask, int] | None:
        ask = await self._ask_of(run)
        if ask is None:
            return None
        if ask.thread_id is None:
            raise DeliveryFailed("the ask's thread is not open yet", permanent=False)
        return ask, ask.thread_id

    async def _deliver_addition(self, run: DeliveryRun) -> None:
        found = await self._thread_of(run)
        async with self._db.read() as tx:
            addition = await repo.addition_text(tx, self._cipher, int(run.payload["addition_id"]))
        if found is None or addition is None:
            return
        ask, thread_id = found
        await self._notify().post_in_thread(thread_id, ADDITION, ask, run, text=addition[1])

    async def _deliver_helping(self, run: DeliveryRun) -> None:
        found = await self._thread_of(run)
        if found is not None:
            ask, thread_id = found
            helper = int(run.payload["helper_id"])
            await self._notify().post_in_thread(thread_id, HELPING, ask, run, helper=helper)

    async def _deliver_closed(self, run: DeliveryRun) -> None:
        found = await self._thread_of(run)
        if found is None:
            return
        ask, thread_id = found
        helpers = await self._helpers(ask.id)
        await self._notify().post_in_thread(thread_id, CLOSED, ask, run, helpers=helpers)

    async def _deliver_withdrawn(self, run: DeliveryRun) -> None:
        await self._notify().post_in_thread(int(run.payload["thread_id"]), WITHDRAWN, None, run)

    async def _deliver_thanks(self, run: DeliveryRun) -> None:
        async with self._db.read() as tx:
            thanks = await repo.get_thanks(tx, self._cipher, int(run.payload["thanks_id"]))
        if thanks is None:
            return
        channel_id = int(run.payload.get("channel_id") or 0) or None
        await self._notify().post_thanks(thanks, None if thanks.private else channel_id, run)

    async def _deliver_dm(self, run: DeliveryRun) -> None:
        ask = await self._ask_of(run)
        user_id = run.delivery.user_id
        if ask is None or user_id is None:
            return
        kind = run.delivery.kind
        facts: dict[str, object] = {k: v for k, v in run.payload.items() if k != "ask_id"}
        if kind in (ROUTE, OFFERED, ACCEPTED, CARE_DM) and not ask.is_open:
            return  # closed before it went out: nothing to act on any more
        if kind in (ROUTE, ACCEPTED) and ask.thread_id is None:
            raise DeliveryFailed("the ask's thread is not open yet", permanent=False)
        if kind == OFFERED:
            member = await self._notify().is_member(ask.guild_id, ask.requester_id)
            if member is None:
                raise DeliveryFailed("the bot is not in the ask's server", permanent=False)
            if not member:
                await self._close_for(ask, Outcome.LEFT)
                return
        if kind == REVEALED:
            async with self._db.read() as tx:
                found = await repo.get_reveal(tx, self._cipher, int(run.payload["reveal_id"]))
            if found is None:
                return
            facts = {"revealed_by": found[1], "reason": found[2]}
        await self._notify().dm(user_id, kind, ask, run, **facts)

    async def thread_of(self, ask_id: int) -> int | None:
        async with self._db.read() as tx:
            ask = await repo.get_ask(tx, self._cipher, ask_id)
        return None if ask is None else ask.thread_id

    # -- for tests and the benchmark

    async def routed(self, ask_id: int) -> list[int]:
        async with self._db.read() as tx:
            return await repo.routed_ids(tx, ask_id)
