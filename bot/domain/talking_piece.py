"""The talking piece: who speaks, who is next, hands raised, timed shares. Pure rules.

A gathering is one immutable value (:class:`Gathering`); every action is a function from a
gathering and the time to the next gathering, or a :class:`TalkRefused` the member sees.
Nothing here reads a clock or knows Discord: the service stores the result with a version
check, so two presses of the same button can never both apply.

Two modes:
- **round**: the piece goes around the seated members once, in join order, shuffled or
  alphabetically. Passing is always fine; after the last turn a *last call* offers one more
  turn to those who passed. The round then ends, or opens the floor to raised hands.
- **stack** (open floor): members raise a hand and speak in the order hands went up;
  with a *progressive* stack those who have not spoken in this gathering go first.

Turns are numbered: a Done or Pass button carries the turn it was shown for, so a second
click of the same button (or a click on an old board) changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.errors import NotAllowed, ValidationError

MAX_SHARE_MINUTES = 60
MAX_GATHER_MINUTES = 120
MAX_SEATS = 100
NUDGE_AT = 0.8  # the gentle line appears at this share of the time
ONE_MINUTE = timedelta(minutes=1)
# A live gathering with no state change for this long is ended as abandoned (and the bot's
# mutes lifted). Far beyond anything a gathering that is still going does between two changes:
# the longest share is 60 min and the longest gathering phase 120 min; a pause for a break of
# an hour or two still fits.
IDLE_AFTER = timedelta(hours=6)


class Mode(StrEnum):
    ROUND = "round"
    STACK = "stack"


class Order(StrEnum):
    JOIN = "join"
    SHUFFLED = "shuffled"
    ALPHABETICAL = "alphabetical"
    MEMBERS = "members"  # the circle's members are seated at once, in the order they joined it


class Phase(StrEnum):
    GATHERING = "gathering"
    ROUND = "round"
    LAST_CALL = "last_call"
    FLOOR = "floor"
    ENDED = "ended"


class OnTimeout(StrEnum):
    NEXT = "next"  # the piece moves on by itself
    WAIT = "wait"  # the board says time is up; the facilitator moves it on


class TurnEnd(StrEnum):
    DONE = "done"
    PASSED = "passed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    LEFT = "left"
    ENDED = "ended"


class TalkRefused(NotAllowed):
    """A press that is not this member's to make; the text they see privately."""


@dataclass(frozen=True)
class Options:
    mode: Mode = Mode.ROUND
    order: Order = Order.JOIN
    share: timedelta | None = None  # each share's length; None: untimed
    on_timeout: OnTimeout = OnTimeout.NEXT
    open_floor_after: bool = False  # a round opens the floor to raised hands when it ends
    progressive: bool = False
    gather_for: timedelta | None = None  # None: the facilitator presses Begin
    mute_others: bool = False  # in voice: everyone but the holder server-muted by the bot


@dataclass(frozen=True)
class Seat:
    member_id: int
    name: str


@dataclass(frozen=True)
class Hand:
    member_id: int
    raised_at: datetime


@dataclass(frozen=True)
class Turn:
    member_id: int
    started_at: datetime
    ended_at: datetime
    end: TurnEnd

    @property
    def length(self) -> timedelta:
        return self.ended_at - self.started_at

    @property
    def spoke(self) -> bool:
        return self.end not in (TurnEnd.PASSED, TurnEnd.SKIPPED)


@dataclass(frozen=True)
class Gathering:
    options: Options
    facilitator_id: int
    created_at: datetime
    phase: Phase = Phase.GATHERING
    seats: tuple[Seat, ...] = ()
    queue: tuple[int, ...] = ()  # who comes after the holder in this round (or last call)
    holder: int | None = None
    turn: int = 0  # increases every time the piece moves
    turn_started_at: datetime | None = None
    deadline: datetime | None = None
    paused_left: timedelta | None = None  # set while paused: what was left of the share
    overtime: bool = False  # time ran out and the piece waits for the facilitator
    hands: tuple[Hand, ...] = ()
    passed: tuple[int, ...] = ()  # passed in the round: offered the last call
    turns: tuple[Turn, ...] = ()
    gather_until: datetime | None = None
    began_at: datetime | None = None
    ended_at: datetime | None = None
    abandoned: bool = False  # ended because nothing changed for IDLE_AFTER

    # -- reading

    @property
    def live(self) -> bool:
        return self.phase is not Phase.ENDED

    @property
    def paused(self) -> bool:
        return self.paused_left is not None

    def mentions(self, member_id: int) -> bool:
        """Whether the state holds this member's id anywhere."""
        return (
            member_id in (self.facilitator_id, self.holder)
            or self.seated(member_id)
            or member_id in self.queue
            or member_id in self.passed
            or self.hand_of(member_id) is not None
            or any(t.member_id == member_id for t in self.turns)
        )

    def seated(self, member_id: int) -> bool:
        return any(s.member_id == member_id for s in self.seats)

    def name_of(self, member_id: int) -> str:
        return next((s.name for s in self.seats if s.member_id == member_id), "someone")

    def hand_of(self, member_id: int) -> Hand | None:
        return next((h for h in self.hands if h.member_id == member_id), None)

    def spoken(self) -> set[int]:
        return {t.member_id for t in self.turns if t.spoke}

    def stack(self) -> list[Hand]:
        """Raised hands in speaking order (progressive: those not yet heard first)."""
        if not self.options.progressive:
            return list(self.hands)
        heard = self.spoken()
        return sorted(self.hands, key=lambda h: (h.member_id in heard, h.raised_at))

    def upcoming(self) -> list[int]:
        """Who speaks after the holder, in order, as far as it is known now."""
        if self.phase in (Phase.ROUND, Phase.LAST_CALL):
            return list(self.queue)
        if self.phase is Phase.FLOOR:
            return [h.member_id for h in self.stack()]
        return []

    def muting(self) -> bool:
        """Whether the bot should be keeping everyone but the holder muted now."""
        return self.options.mute_others and self.live and self.phase is not Phase.GATHERING

    def next_member(self) -> int | None:
        upcoming = self.upcoming()
        return upcoming[0] if upcoming else None

    def nudge_at(self) -> datetime | None:
        """When the gentle line shows (80% of the share), for a running timed share."""
        share = self.options.share
        if self.deadline is None or share is None:
            return None
        return self.deadline - share * (1 - NUDGE_AT)

    def airtime(self) -> dict[int, tuple[int, timedelta]]:
        """Turns spoken and time held, per member (passes count as no turn)."""
        result: dict[int, tuple[int, timedelta]] = {}
        for t in self.turns:
            if t.member_id <= 0:
                continue  # a member who erased their data (see `forget`)
            count, total = result.get(t.member_id, (0, timedelta()))
            result[t.member_id] = (count + int(t.spoke), total + t.length)
        return result


@dataclass(frozen=True)
class Closing:
    spoke: int
    passed: int
    length: timedelta


def closing(g: Gathering) -> Closing:
    spoke = g.spoken()
    only_passed = {t.member_id for t in g.turns if t.end is TurnEnd.PASSED} - spoke
    start = g.began_at or g.created_at
    length = (g.ended_at or start) - start
    return Closing(spoke=len(spoke), passed=len(only_passed), length=length)


# -- options, validated


def _minutes(text: str | float | None) -> float | None:
    """ "3", "2.5", "3m", "3 min", "90s" as minutes; NaN when it is none of those."""
    if text is None or isinstance(text, float | int):
        return text
    cleaned = text.strip().lower().replace(",", ".")
    factor = 1.0
    for suffix, scale in (("minutes", 1.0), ("min", 1.0), ("m", 1.0), ("s", 1 / 60)):
        if cleaned.endswith(suffix):
            cleaned, factor = cleaned.removesuffix(suffix).strip(), scale
            break
    try:
        return float(cleaned) * factor
    except ValueError:
        return float("nan")


def parse_options(
    mode: str | None,
    minutes: str | float | None,
    order: str | None,
    *,
    on_timeout: str | None = None,
    then: str | None = None,
    progressive: bool = False,
    gather_minutes: str | float | None = None,
) -> Options:
    """Options as typed on `/facilitate talk start`; a refusal with an example otherwise."""
    example = "/facilitate talk start mode:round minutes:3 order:join"
    try:
        chosen_mode = Mode((mode or Mode.ROUND).strip().lower())
    except ValueError:
        raise ValidationError("mode is round or stack.", example) from None
    try:
        chosen_order = Order((order or Order.JOIN).strip().lower())
    except ValueError:
        raise ValidationError(
            "order is join, shuffled, alphabetical or members.", example
        ) from None
    if chosen_mode is Mode.STACK and chosen_order not in (Order.JOIN, Order.MEMBERS):
        raise ValidationError(
            "An open floor goes in the order hands go up: order is join or members there.",
            "/facilitate talk start mode:stack",
        )
    share = None
    share_minutes, gather = _minutes(minutes), _minutes(gather_minutes)
    if share_minutes is not None:
        if not 0.5 <= share_minutes <= MAX_SHARE_MINUTES:  # (NaN is never in range)
            raise ValidationError(
                f"minutes is each share's length, from 0.5 to {MAX_SHARE_MINUTES}.", example
            )
        share = timedelta(minutes=share_minutes)
    try:
        chosen_timeout = OnTimeout((on_timeout or OnTimeout.NEXT).strip().lower())
    except ValueError:
        raise ValidationError(
            "when_time_is_up is next (the piece moves on) or wait (for the facilitator).",
            "/facilitate talk start minutes:3 when_time_is_up:wait",
        ) from None
    then_choice = (then or "end").strip().lower()
    if then_choice not in ("end", "floor"):
        raise ValidationError(
            "then is end or floor (an open floor for raised hands after the round).",
            "/facilitate talk start mode:round then:floor",
        )
    if then_choice == "floor" and chosen_mode is Mode.STACK:
        raise ValidationError(
            "then:floor follows a round; a stack is an open floor already.",
            "/facilitate talk start mode:round then:floor",
        )
    gather_for = None
    if gather is not None:
        if not 0.5 <= gather <= MAX_GATHER_MINUTES:
            raise ValidationError(
                f"gather_minutes is how long the Join button stays up before the round begins by "
                f"itself, from 0.5 to {MAX_GATHER_MINUTES}.",
                "/facilitate talk start gather_minutes:5",
            )
        gather_for = timedelta(minutes=gather)
    return Options(
        mode=chosen_mode,
        order=chosen_order,
        share=share,
        on_timeout=chosen_timeout,
        open_floor_after=then_choice == "floor",
        progressive=progressive,
        gather_for=gather_for,
    )


def start(
    options: Options, facilitator_id: int, now: datetime, members: tuple[Seat, ...] = ()
) -> Gathering:
    """A new gathering; `order:members` seats `members` (the circle's) at once."""
    seats = members[:MAX_SEATS] if options.order is Order.MEMBERS else ()
    return Gathering(
        options=options,
        facilitator_id=facilitator_id,
        created_at=now,
        seats=seats,
        gather_until=None if options.gather_for is None else now + options.gather_for,
    )


# -- members' actions


def _live(g: Gathering) -> None:
    if not g.live:
        raise TalkRefused("This gathering has ended.", "/facilitate talk start")


def join(g: Gathering, member_id: int, name: str, now: datetime) -> Gathering:
    _live(g)
    if g.seated(member_id):
        raise TalkRefused("You're already seated. Leave is beside Join if you need to go.")
    if len(g.seats) >= MAX_SEATS:
        raise TalkRefused(f"This gathering is full ({MAX_SEATS} seats).")
    g = replace(g, seats=(*g.seats, Seat(member_id, name)))
    if g.phase in (Phase.ROUND, Phase.LAST_CALL):  # a latecomer still gets a turn
        g = replace(g, queue=(*g.queue, member_id))
    return g


def leave(g: Gathering, member_id: int, now: datetime) -> Gathering:
    """The member leaves (or left the server or circle): out of the queue and the hands."""
    _live(g)
    if not g.seated(member_id):
        raise TalkRefused("You're not seated in this gathering.")
    g = replace(
        g,
        seats=tuple(s for s in g.seats if s.member_id != member_id),
        queue=tuple(m for m in g.queue if m != member_id),
        hands=tuple(h for h in g.hands if h.member_id != member_id),
        passed=tuple(m for m in g.passed if m != member_id),
    )
    if g.holder == member_id:
        return _finish_turn(g, TurnEnd.LEFT, now)
    return g


def finish(g: Gathering, member_id: int, turn: int, now: datetime, *, passed: bool) -> Gathering:
    """Done or Pass, pressed by `member_id` on the board showing `turn`.

    A press for a turn already over changes nothing (a double click, an old board)."""
    _live(g)
    if turn != g.turn:
        return g
    if g.holder != member_id:
        holder = "no one" if g.holder is None else g.name_of(g.holder)
        raise TalkRefused(
            f"Only the member holding the piece can press that; {holder} holds it now. "
            "Raise your hand to speak next."
        )
    return _finish_turn(g, TurnEnd.PASSED if passed else TurnEnd.DONE, now)


def raise_hand(g: Gathering, member_id: int, now: datetime) -> Gathering:
    _live(g)
    if not g.seated(member_id):
        raise TalkRefused("Join the gathering first, then raise your hand.")
    if g.hand_of(member_id) is not None:
        raise TalkRefused("Your hand is already up. Lower hand takes it down.")
    if g.holder == member_id:
        raise TalkRefused("You hold the piece now. Press Done when you've finished.")
    g = replace(g, hands=(*g.hands, Hand(member_id, now)))
    if g.phase is Phase.FLOOR and g.holder is None and not g.paused:
        g = _advance(g, now)
    return g


def lower_hand(g: Gathering, member_id: int) -> Gathering:
    _live(g)
    if g.hand_of(member_id) is None:
        raise TalkRefused("Your hand isn't up.")
    return replace(g, hands=tuple(h for h in g.hands if h.member_id != member_id))


# -- the facilitator's controls


def begin(g: Gathering, now: datetime, rng: random.Random) -> Gathering:
    """The gathering phase ends: the round (or the open floor) begins."""
    _live(g)
    if g.phase is not Phase.GATHERING:
        raise TalkRefused("The gathering has already begun.")
    if g.options.mode is Mode.STACK:
        g = replace(g, phase=Phase.FLOOR, began_at=now, gather_until=None)
        return _advance(g, now) if g.hands else g
    if not g.seats:
        raise TalkRefused(
            "No one has joined yet. Members press Join on the board first.", "order:members"
        )
    order = [s.member_id for s in g.seats]
    if g.options.order is Order.SHUFFLED:
        rng.shuffle(order)
    elif g.options.order is Order.ALPHABETICAL:
        by_name = {s.member_id: s.name.casefold() for s in g.seats}
        order.sort(key=lambda m: (by_name[m], m))
    g = replace(g, phase=Phase.ROUND, queue=tuple(order), began_at=now, gather_until=None)
    return _advance(g, now)


def _running(g: Gathering) -> None:
    _live(g)
    if g.phase is Phase.GATHERING:
        raise TalkRefused("The gathering hasn't begun yet. Press Begin first.")


def skip(g: Gathering, now: datetime) -> Gathering:
    _running(g)
    if g.holder is None:
        raise TalkRefused("No one holds the piece right now.")
    return _finish_turn(g, TurnEnd.SKIPPED, now)


def move_next(g: Gathering, member_id: int) -> Gathering:
    """Put a member first in line (in a round: next in the queue; on the floor: first hand)."""
    _running(g)
    if g.phase in (Phase.ROUND, Phase.LAST_CALL):
        if member_id not in g.queue:
            raise TalkRefused(f"{g.name_of(member_id)} is not waiting for a turn.")
        return replace(g, queue=(member_id, *(m for m in g.queue if m != member_id)))
    hand = g.hand_of(member_id)
    if hand is None:
        raise TalkRefused(f"{g.name_of(member_id)} has no hand up.")
    if g.options.progressive:  # the stack's order is computed; make this hand the earliest
        first = min(h.raised_at for h in g.hands) - timedelta(microseconds=1)
        hand = Hand(member_id, first)
        return replace(
            g,
            hands=(hand, *(h for h in g.hands if h.member_id != member_id)),
            options=replace(g.options, progressive=False),
        )
    return replace(g, hands=(hand, *(h for h in g.hands if h.member_id != member_id)))


def add_minute(g: Gathering) -> Gathering:
    _running(g)
    if g.options.share is None:
        raise TalkRefused("Shares in this gathering are untimed.", "minutes:3 on the next start")
    if g.holder is None:
        raise TalkRefused("No one holds the piece right now.")
    if g.paused_left is not None:
        return replace(g, paused_left=g.paused_left + ONE_MINUTE)
    base = g.deadline if g.deadline is not None else g.turn_started_at
    assert base is not None
    return replace(g, deadline=base + ONE_MINUTE, overtime=False)


def pause(g: Gathering, now: datetime) -> Gathering:
    _running(g)
    if g.paused:
        raise TalkRefused("Already paused. Resume is on the panel.")
    left = max(g.deadline - now, timedelta()) if g.deadline is not None else timedelta()
    return replace(g, paused_left=left, deadline=None)


def resume(g: Gathering, now: datetime) -> Gathering:
    _running(g)
    if g.paused_left is None:
        raise TalkRefused("The gathering isn't paused.")
    left = g.paused_left
    g = replace(g, paused_left=None)
    if g.holder is not None and g.options.share is not None and not g.overtime:
        return replace(g, deadline=now + left)
    if g.holder is None and g.phase is Phase.FLOOR and g.hands:
        return _advance(g, now)
    return g


def lower_all_hands(g: Gathering) -> Gathering:
    _live(g)
    return replace(g, hands=())


def hand_over(g: Gathering, member_id: int) -> Gathering:
    _live(g)
    if member_id == g.facilitator_id:
        raise ValidationError("They already facilitate this gathering.", "choose another member")
    return replace(g, facilitator_id=member_id)


def end(g: Gathering, now: datetime) -> Gathering:
    _live(g)
    if g.holder is not None:
        g = _close_turn(g, TurnEnd.ENDED, now)
    return replace(
        g, phase=Phase.ENDED, holder=None, queue=(), deadline=None, paused_left=None, ended_at=now
    )


def abandon(g: Gathering, now: datetime) -> Gathering:
    """Nothing changed for IDLE_AFTER: the gathering ends as abandoned (a timer)."""
    if not g.live:
        return g
    return replace(end(g, now), abandoned=True)


def forget(g: Gathering, member_id: int, now: datetime) -> Gathering:
    """The member erased their data (`/privacy delete`): they leave (the piece moves on if
    they held it) and their id and name go from the state. Their past turns stay, unnamed
    (a negative number), so the closing line still counts them; no airtime is kept for them.
    A gathering they facilitated is left to the server's facilitators."""
    if not g.live or not g.mentions(member_id):
        return g
    if g.seated(member_id):
        g = leave(g, member_id, now)
    alias = -1 - len({t.member_id for t in g.turns if t.member_id < 0})
    return replace(
        g,
        facilitator_id=0 if g.facilitator_id == member_id else g.facilitator_id,
        queue=tuple(m for m in g.queue if m != member_id),
        hands=tuple(h for h in g.hands if h.member_id != member_id),
        passed=tuple(m for m in g.passed if m != member_id),
        turns=tuple(
            replace(t, member_id=alias) if t.member_id == member_id else t for t in g.turns
        ),
    )


def time_up(g: Gathering, turn: int, now: datetime) -> Gathering:
    """The share's deadline passed (a timer): the piece moves on, or waits for the facilitator.

    Applied once: a timer for an earlier turn, or one that fires early, changes nothing."""
    if not g.live or turn != g.turn or g.deadline is None or now < g.deadline or g.overtime:
        return g
    if g.options.on_timeout is OnTimeout.WAIT:
        return replace(g, overtime=True, deadline=None)
    return _finish_turn(g, TurnEnd.TIMED_OUT, now)


def gathering_over(g: Gathering, now: datetime, rng: random.Random) -> Gathering:
    """The gathering time chosen at start ran out: begin, unless already begun (or empty)."""
    if g.phase is not Phase.GATHERING or g.gather_until is None or now < g.gather_until:
        return g
    if g.options.mode is Mode.ROUND and not g.seats:
        return end(g, now)
    return begin(g, now, rng)


# -- moving the piece


def _close_turn(g: Gathering, how: TurnEnd, now: datetime) -> Gathering:
    assert g.holder is not None and g.turn_started_at is not None
    turn = Turn(g.holder, g.turn_started_at, now, how)
    passed = g.passed
    if how is TurnEnd.PASSED and g.phase is Phase.ROUND:
        passed = (*passed, g.holder)
    return replace(
        g,
        turns=(*g.turns, turn),
        passed=passed,
        holder=None,
        turn_started_at=None,
        deadline=None,
        overtime=False,
    )


def _finish_turn(g: Gathering, how: TurnEnd, now: datetime) -> Gathering:
    return _advance(_close_turn(g, how, now), now)


def _advance(g: Gathering, now: datetime) -> Gathering:
    """Give the piece to whoever is next; end the round or open the floor when no one is."""
    if g.phase is Phase.ROUND and not g.queue and g.passed:
        g = replace(g, phase=Phase.LAST_CALL, queue=g.passed, passed=())
    if g.phase in (Phase.ROUND, Phase.LAST_CALL) and not g.queue:
        if not g.options.open_floor_after:
            return end(g, now)
        g = replace(g, phase=Phase.FLOOR, passed=())
    if g.phase in (Phase.ROUND, Phase.LAST_CALL):
        holder, queue = g.queue[0], g.queue[1:]
    elif g.phase is Phase.FLOOR:
        stack = g.stack()
        if not stack or g.paused:
            return replace(g, turn=g.turn + 1)
        holder, queue = stack[0].member_id, g.queue
        g = replace(g, hands=tuple(h for h in g.hands if h.member_id != holder))
    else:
        return g
    share = g.options.share
    return replace(
        g,
        holder=holder,
        queue=queue,
        turn=g.turn + 1,
        turn_started_at=now,
        deadline=None if share is None or g.paused else now + share,
        overtime=False,
        # a paused gathering keeps its pause; the new holder's time starts on resume
        paused_left=share if g.paused and share is not None else g.paused_left,
        hands=tuple(h for h in g.hands if h.member_id != holder),
    )


def anonymized(g: Gathering) -> Gathering:
    """An ended gathering as kept: who was who replaced by numbers, names gone.

    The closing line (how many spoke, passed, how long) still reads the same; each member's
    airtime is stored apart, where the data-rights registry finds it."""
    alias: dict[int, int] = {}

    def a(member_id: int) -> int:
        return alias.setdefault(member_id, len(alias) + 1)

    return replace(
        g,
        facilitator_id=0,
        seats=tuple(Seat(a(s.member_id), "") for s in g.seats),
        queue=(),
        holder=None,
        hands=(),
        passed=(),
        turns=tuple(replace(t, member_id=a(t.member_id)) for t in g.turns),
    )
