"""Help requests, capacity and gratitude: the rules, with no I/O.

Mutual aid must not burn out the same few. Everything here serves that: capacity is opt-in,
a new ask is routed privately to at most five members who have room for its kind (fewest
open helps first, then whoever helped least recently), each helper has a cap on open helps,
and after an emotional-support help a helper rests from emotional asks for a day.

Time is always passed in. Dates (``until``) are whole days in UTC: a capacity set "until
2026-12-01" holds through that day and lapses after it, back to *not set* (nothing routed),
so nobody is routed work they did not choose again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.errors import ValidationError

# -- kinds ------------------------------------------------------------------------------------


class Kind(StrEnum):
    EMOTIONAL = "emotional"
    PRACTICAL = "practical"
    INFORMATIONAL = "informational"
    SOCIAL = "social"

    @property
    def label(self) -> str:
        return self.value.capitalize()


KINDS_EXAMPLE = "kinds:practical,social"


def parse_kind(text: str) -> Kind:
    key = text.strip().lower()
    for kind in Kind:
        if key in (kind.value, kind.value[:4]):
            return kind
    raise ValidationError(
        "A help request is emotional, practical, informational or social.", "/ask kind:practical"
    )


def parse_kinds(text: str | None) -> frozenset[Kind]:
    """Kinds from "practical, social" (commas or spaces); empty, "all" or "any": every kind."""
    words = [w for w in re.split(r"[\s,;/]+", (text or "").strip().lower()) if w]
    if not words or words in (["all"], ["any"]):
        return frozenset(Kind)
    kinds = set()
    for word in words:
        try:
            kinds.add(parse_kind(word))
        except ValidationError:
            raise ValidationError(
                f"I don't know the kind {word[:20]!r}: choose from emotional, practical, "
                "informational and social (or all).",
                KINDS_EXAMPLE,
            ) from None
    return frozenset(kinds)


def describe_kinds(kinds: Iterable[Kind]) -> str:
    chosen = set(kinds)
    if chosen == set(Kind):
        return "every kind"
    return ", ".join(k.value for k in Kind if k in chosen)


# -- capacity ---------------------------------------------------------------------------------


class CapacityState(StrEnum):
    AVAILABLE = "available"
    LIMITED = "limited"
    RESTING = "resting"


DEFAULT_HELP_CAP = 2  # open helps at once; a member may set it lower
LIMITED_HELP_CAP = 1  # "limited" means room for one at a time
EMOTIONAL_COOLDOWN = timedelta(days=1)


def parse_state(text: str) -> CapacityState:
    try:
        return CapacityState(text.strip().lower())
    except ValueError:
        raise ValidationError(
            "Capacity is available, limited or resting.", "/capacity state:limited"
        ) from None


@dataclass(frozen=True)
class Capacity:
    member_id: int
    state: CapacityState
    until: date | None = None  # the last day this holds (UTC); None: until changed
    kinds: frozenset[Kind] = frozenset(Kind)
    max_helps: int = DEFAULT_HELP_CAP

    def __post_init__(self) -> None:
        if not 1 <= self.max_helps <= DEFAULT_HELP_CAP:
            raise ValueError(f"max_helps must be 1..{DEFAULT_HELP_CAP}")
        if not self.kinds:
            raise ValueError("kinds must not be empty")

    def current(self, today: date) -> CapacityState | None:
        """The state on `today`; None once `until` has passed (back to not set)."""
        if self.until is not None and today > self.until:
            return None
        return self.state

    def cap(self) -> int:
        return (
            min(self.max_helps, LIMITED_HELP_CAP)
            if self.state is CapacityState.LIMITED
            else self.max_helps
        )

    def resting(self, today: date) -> bool:
        return self.current(today) is CapacityState.RESTING


def validate_max_helps(value: int | None) -> int:
    if value is None:
        return DEFAULT_HELP_CAP
    if not 1 <= value <= DEFAULT_HELP_CAP:
        raise ValidationError(
            f"You can take on 1 or {DEFAULT_HELP_CAP} helps at once.",
            "/capacity state:available max_helps:1",
        )
    return value


# -- routing ----------------------------------------------------------------------------------

ROUTE_LIMIT = 5


@dataclass(frozen=True)
class Candidate:
    """A circle member as routing sees them."""

    member_id: int
    capacity: Capacity | None
    open_helps: int = 0
    last_helped_at: datetime | None = None
    last_emotional_help_at: datetime | None = None  # when an emotional help of theirs resolved


def eligible(candidate: Candidate, kind: Kind, asker_id: int, now: datetime) -> bool:
    """Whether this member may be told of a new ask of `kind` now."""
    capacity = candidate.capacity
    if candidate.member_id == asker_id or capacity is None:
        return False
    state = capacity.current(now.date())
    if state not in (CapacityState.AVAILABLE, CapacityState.LIMITED):
        return False  # not set, lapsed, or resting
    if kind not in capacity.kinds or candidate.open_helps >= capacity.cap():
        return False
    cooling = candidate.last_emotional_help_at
    return not (
        kind is Kind.EMOTIONAL and cooling is not None and now < cooling + EMOTIONAL_COOLDOWN
    )


def route(
    kind: Kind,
    asker_id: int,
    candidates: Iterable[Candidate],
    now: datetime,
    limit: int = ROUTE_LIMIT,
) -> list[int]:
    """Who is told privately of a new ask: at most `limit` eligible members, fewest open
    helps first, then whoever helped least recently (never helped counts as longest ago),
    then by id so the choice is stable."""
    chosen = [c for c in candidates if eligible(c, kind, asker_id, now)]
    chosen.sort(
        key=lambda c: (
            c.open_helps,
            c.last_helped_at is not None,
            c.last_helped_at or now,
            c.member_id,
        )
    )
    return [c.member_id for c in chosen[:limit]]


# -- asking -----------------------------------------------------------------------------------

MAX_OPEN_ASKS = 3
ASKS_PER_DAY = 5
WHAT_MAX = 1000
WHEN_MAX = 300
ENOUGH_MAX = 300
ADDITION_MAX = 1000
TITLE_SUMMARY = 70
ASK_EXAMPLE = (
    "What you need: a ride to my appointment · When and where: Tuesday 2pm, Main St clinic"
)

_MENTIONS = re.compile(r"@(everyone|here)|<(@[!&]?|#)\d+>")


@dataclass(frozen=True)
class AskText:
    what: str
    when: str | None
    enough: str | None

    def joined(self) -> str:
        return "\n".join(p for p in (self.what, self.when, self.enough) if p)


def _field(text: str | None, limit: int, label: str, *, required: bool) -> str | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise ValidationError(f"Say what you need in **{label}**.", ASK_EXAMPLE)
        return None
    if len(value) > limit:
        raise ValidationError(
            f"**{label}** is {len(value):,} characters; the limit is {limit:,}. Shorten it a little.",
            ASK_EXAMPLE,
        )
    return value


def validate_ask(what: str | None, when: str | None, enough: str | None) -> AskText:
    return AskText(
        what=_field(what, WHAT_MAX, "What you need", required=True) or "",
        when=_field(when, WHEN_MAX, "When and where", required=False),
        enough=_field(enough, ENOUGH_MAX, "What would be enough", required=False),
    )


def validate_addition(text: str | None) -> str:
    value = _field(text, ADDITION_MAX, "Add to your ask", required=True)
    assert value is not None
    return value


def parse_anonymous(value: str | None) -> bool:
    if value in (None, "", "no"):
        return False
    if value == "yes":
        return True
    raise ValidationError("Ask anonymously: yes or no.", "Ask anonymously: no")


def thread_title(kind: Kind, what: str) -> str:
    """The thread's name: the kind and a short, mention-free summary (≤ 100 characters)."""
    summary = " ".join(_MENTIONS.sub("", what).split())
    if len(summary) > TITLE_SUMMARY:
        summary = summary[: TITLE_SUMMARY - 1].rstrip() + "…"
    return f"{kind.label} · {summary or 'a request'}"[:100]


def check_may_ask(open_asks: int, recent_ask_times: Sequence[datetime], now: datetime) -> None:
    """Refuse kindly at the open-ask cap or past the daily rate; a negative time-bank
    balance never matters here."""
    if open_asks >= MAX_OPEN_ASKS:
        raise ValidationError(
            f"You have {open_asks} open asks, the most at once. When one is resolved or withdrawn "
            "you can ask again; your circle can still see the open ones.",
            "press **Resolved** or **Withdraw** in one of your ask threads",
        )
    day_ago = now - timedelta(days=1)
    if sum(1 for t in recent_ask_times if t > day_ago) >= ASKS_PER_DAY:
        raise ValidationError(
            f"You've asked {ASKS_PER_DAY} times today; you can ask again tomorrow. If you need "
            "support right now, `/crisis` lists lines open now.",
            "/crisis",
        )


# -- idle care --------------------------------------------------------------------------------

DEFAULT_IDLE_DAYS = 3


class CareAction(StrEnum):
    NONE = "none"
    ASK_STILL_NEEDED = "ask"  # DM: still need this? Yes / Resolved / Withdraw
    CLOSE = "close"  # silence after asking: close with a notice
    CARD_AGAIN = "card"  # a safety-net ask is never auto-closed: the crisis card instead


@dataclass(frozen=True)
class CareState:
    last_activity_at: datetime
    care_asked_at: datetime | None
    flagged: bool  # its text met the safety net
    closed: bool = False


def next_care_at(state: CareState, idle_days: int) -> datetime | None:
    if state.closed:
        return None
    idle = timedelta(days=idle_days)
    if state.care_asked_at is None or state.last_activity_at > state.care_asked_at:
        return state.last_activity_at + idle
    return state.care_asked_at + idle


def care_action(state: CareState, now: datetime, idle_days: int) -> CareAction:
    """What idle care owes now. Activity after a "still need this?" starts the wait again."""
    due = next_care_at(state, idle_days)
    if due is None or now < due:
        return CareAction.NONE
    if state.care_asked_at is None or state.last_activity_at > state.care_asked_at:
        return CareAction.ASK_STILL_NEEDED
    return CareAction.CARD_AGAIN if state.flagged else CareAction.CLOSE


def validate_idle_days(days: int) -> int:
    if not 1 <= days <= 30:
        raise ValidationError("Idle care waits 1 to 30 days.", "idle_days:3")
    return days


# -- gratitude --------------------------------------------------------------------------------

THANKS_PER_DAY = 5  # per giver
THANKS_PER_RECIPIENT_PER_DAY = 1  # the same giver to the same member
THANKS_NOTE_MAX = 500


def check_may_thank(
    giver_id: int,
    recipient_id: int,
    recipient_is_bot: bool,
    given_today: Sequence[int],
) -> None:
    """`given_today`: the recipients of this giver's thanks in the last day, one per thanks."""
    if recipient_id == giver_id:
        raise ValidationError(
            "Thanks are for someone else. Be kind to yourself another way today.",
            "/thanks member:@Sam note:for the ride",
        )
    if recipient_is_bot:
        raise ValidationError("Thanks are for members of your circle.", "/thanks member:@Sam")
    if len(given_today) >= THANKS_PER_DAY:
        raise ValidationError(
            f"You've thanked {THANKS_PER_DAY} times today; more can wait until tomorrow, which "
            "keeps each one meaningful.",
            "/thanks member:@Sam (tomorrow)",
        )
    if sum(1 for r in given_today if r == recipient_id) >= THANKS_PER_RECIPIENT_PER_DAY:
        raise ValidationError(
            "You already thanked them today. Tomorrow you can again.", "/thanks member:@Sam"
        )


def validate_thanks_note(text: str | None) -> str | None:
    note = (text or "").strip()
    if not note:
        return None
    if len(note) > THANKS_NOTE_MAX:
        raise ValidationError(
            f"The note is {len(note):,} characters; the limit is {THANKS_NOTE_MAX}.",
            "/thanks member:@Sam note:thank you for the ride on Tuesday",
        )
    return note


# -- time bank --------------------------------------------------------------------------------

MINUTES_MAX = 24 * 60
_MINUTES = re.compile(
    r"^\s*(?:(\d{1,2})\s*h(?:ours?|rs?)?)?\s*(?:(\d{1,4})\s*m(?:in(?:ute)?s?)?)?\s*$"
)
MINUTES_EXAMPLE = "30m, 1h or 1h30m"


def parse_minutes(text: str) -> int:
    """Minutes from "45", "45m", "1h", "1h30m" (1 minute to 24 hours)."""
    raw = text.strip().lower()
    minutes: int | None = None
    if raw.isdigit():
        minutes = int(raw)
    elif raw and (m := _MINUTES.match(raw)) and (m[1] or m[2]):
        minutes = int(m[1] or 0) * 60 + int(m[2] or 0)
    if minutes is None or not 1 <= minutes <= MINUTES_MAX:
        raise ValidationError(
            f"How much time: {MINUTES_EXAMPLE} (at most 24 hours).", "minutes:45m"
        )
    return minutes


@dataclass(frozen=True)
class LedgerEntry:
    ask_id: int
    helper_id: int
    asker_minutes: int | None  # confirmed by the asker
    helper_minutes: int | None  # confirmed by the helper

    @property
    def counted(self) -> int:
        """Counts only once both confirmed; the smaller amount if they differ."""
        if self.asker_minutes is None or self.helper_minutes is None:
            return 0
        return min(self.asker_minutes, self.helper_minutes)


@dataclass(frozen=True)
class Ledger:
    given_minutes: int
    received_minutes: int
    waiting: int  # entries one side has not confirmed yet

    @property
    def balance(self) -> int:
        return self.given_minutes - self.received_minutes


def ledger_of(
    member_id: int, given: Iterable[LedgerEntry], received: Iterable[LedgerEntry]
) -> Ledger:
    given_list, received_list = list(given), list(received)
    waiting = sum(1 for e in (*given_list, *received_list) if not e.counted)
    return Ledger(
        given_minutes=sum(e.counted for e in given_list if e.helper_id == member_id),
        received_minutes=sum(e.counted for e in received_list),
        waiting=waiting,
    )


# -- balance ----------------------------------------------------------------------------------

BALANCE_DAYS = 90
CARRIER_MIN_HELPS = 4
CARRIER_FACTOR = 2.0
GIVER_MIN_HELPS = 3


class Flag(StrEnum):
    CARRYING = "carrying much more than others"
    ONLY_GIVES = "only gives, never asks"


@dataclass(frozen=True)
class MemberBalance:
    member_id: int
    asks: int
    helps: int
    flags: tuple[Flag, ...] = ()


def balance_flags(counts: dict[int, tuple[int, int]]) -> list[MemberBalance]:
    """Per member (asks made, helps given) over the window: flag those who carry much
    more than the others (≥ 4 helps and ≥ twice the mean of the rest who helped), and
    those who only ever give (≥ 3 helps, no asks). Ordered by helps, then asks, then id."""
    result = []
    for member_id, (asks, helps) in counts.items():
        others = [h for m, (_, h) in counts.items() if m != member_id and h > 0]
        mean_others = sum(others) / len(others) if others else 0.0
        flags: list[Flag] = []
        if helps >= CARRIER_MIN_HELPS and helps >= CARRIER_FACTOR * mean_others:
            flags.append(Flag.CARRYING)
        if helps >= GIVER_MIN_HELPS and asks == 0:
            flags.append(Flag.ONLY_GIVES)
        result.append(MemberBalance(member_id, asks, helps, tuple(flags)))
    result.sort(key=lambda b: (-b.helps, -b.asks, b.member_id))
    return result


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values (0: all equal; near 1: one has all)."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


# -- an ask, as stored ------------------------------------------------------------------------


class Outcome(StrEnum):
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    IDLE = "idle"  # closed by idle care after silence
    LEFT = "left"  # the asker left the server


@dataclass(frozen=True)
class Ask:
    id: int
    circle_id: int
    guild_id: int
    requester_id: int
    kind: Kind
    anonymous: bool
    text: AskText
    flagged: bool
    channel_id: int
    thread_id: int | None
    created_at: datetime
    last_activity_at: datetime
    care_asked_at: datetime | None
    closed_at: datetime | None
    outcome: Outcome | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def care(self) -> CareState:
        return CareState(
            self.last_activity_at, self.care_asked_at, self.flagged, closed=not self.is_open
        )

    @property
    def title(self) -> str:
        return thread_title(self.kind, self.text.what)


@dataclass(frozen=True)
class HelpSettings:
    help_channel_id: int | None = None
    gratitude_channel_id: int | None = None
    idle_days: int = DEFAULT_IDLE_DAYS
    time_bank: bool = True
