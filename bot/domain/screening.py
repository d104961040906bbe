"""A safety net, not a detector: a curated phrase list (``data/screening_phrases.txt``)
matched against a member's own text, so that the author can be shown crisis lines
privately. A match never blocks, hides or deletes anything, and nothing about it is
shown to anyone else. Known misses and false matches are documented in
``data/SCREENING.md``.

Pure: :meth:`Screener.from_text` takes the list's text (the caller reads the file).

Matching, in order:

1. Unicode NFKC, accents dropped, case folded, zero-width characters removed, curly
   apostrophes made straight, apostrophes inside words removed ("don't" -> "dont").
2. Text is split into word tokens; sentence punctuation and joining words ("but",
   "and", "so", ...) start a new clause, which bounds the negation check below.
3. Light leetspeak inside words that mix letters and digits ("k1ll" -> "kill"),
   "!" between letters read as "i", "@" as "a", "$" as "s".
4. Common spellings are expanded ("im" -> "i am", "wanna" -> "want to",
   "cant" -> "can not"), "my self" is joined to "myself".
5. Letter runs are squashed to one letter on both sides of the comparison, so
   "kiiiilll" and "kill" compare equal (as "kil") and "soooo" equals "so".
6. A phrase matches a run of tokens. It does not count if "not"/"never"/"no longer"
   appears within the 3 tokens before it in the same clause ("I'm not going to kill
   myself"), or if an exception phrase ("!" lines, e.g. "killed myself laughing")
   covers it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

NEGATION_WINDOW = 3
_NEGATORS = frozenset({"not", "never"})
# "can't stop thinking about ...", "can't help ..." affirm rather than negate.
_NEGATION_BREAKERS = frozenset({"stop", "help", "quit"})
# Words that start a new clause for the negation check ("I'm not okay but I want to ...").
_CLAUSE_WORDS = frozenset(
    {"but", "and", "so", "because", "cause", "cuz", "though", "although", "yet", "or", "if"}
)
_NUM = "<num>"

# Spellings expanded before matching. Keys are compared after squashing letter runs.
_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "im": ("i", "am"),
    "iam": ("i", "am"),
    "ima": ("i", "am", "going", "to"),
    "imma": ("i", "am", "going", "to"),
    "ive": ("i", "have"),
    "wanna": ("want", "to"),
    "wana": ("want", "to"),
    "gonna": ("going", "to"),
    "gotta": ("got", "to"),
    "dont": ("do", "not"),
    "doesnt": ("does", "not"),
    "didnt": ("did", "not"),
    "cant": ("can", "not"),
    "cannot": ("can", "not"),
    "couldnt": ("could", "not"),
    "wont": ("will", "not"),
    "wouldnt": ("would", "not"),
    "isnt": ("is", "not"),
    "arent": ("are", "not"),
    "wasnt": ("was", "not"),
    "werent": ("were", "not"),
    "havent": ("have", "not"),
    "hasnt": ("has", "not"),
    "aint": ("am", "not"),
    "theres": ("there", "is"),
    "thats": ("that", "is"),
    "its": ("it", "is"),
    "u": ("you",),
    "ur": ("your",),
    "killin": ("killing",),
    "hurtin": ("hurting",),
    "endin": ("ending",),
    "goin": ("going",),
    "tryin": ("trying",),
    "thinkin": ("thinking",),
    "selfharm": ("self", "harm"),
    "selfharming": ("self", "harming"),
    "sewerslide": ("sewer", "slide"),
}
# Stand-alone digits that are also words in text speak ("want 2 die").
_DIGIT_WORDS = {"2": "to", "4": "for"}
_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_TOKEN_RE = re.compile(r"[a-z0-9@$]+|[.!?;:,\n\u2026()\[\]\"]+")


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """Only whether to offer resources privately. ``phrase_id`` (the list phrase that
    matched, normalised) is for tests and debugging; never show or log it."""

    matched: bool
    phrase_id: str | None = field(default=None, repr=False, compare=False)


NO_MATCH = ScreeningResult(matched=False)


@dataclass(frozen=True, slots=True)
class _Token:
    keys: frozenset[str]
    clause: int
    numeric: bool


@dataclass(frozen=True, slots=True)
class _Phrase:
    id: str
    keys: tuple[str, ...]


def _squash(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = text.translate(_ZERO_WIDTH).translate(_QUOTES).casefold()
    text = re.sub(r"(?<=[a-z])'(?=[a-z])", "", text)
    return re.sub(r"(?<=[a-z])!(?=[a-z])", "i", text)


def _word_variants(raw: str) -> tuple[list[frozenset[str]], bool]:
    """The token positions one raw word becomes (usually one), and whether it is a number."""
    if raw.isdigit():
        word = _DIGIT_WORDS.get(raw)
        keys = {raw} if word is None else {raw, word}
        return [frozenset(keys)], True
    has_letter = any(ch.isalpha() for ch in raw)
    if not has_letter:
        return [], False
    if any(ch.isdigit() or ch in "@$" for ch in raw):
        base = raw.translate(_LEET)
        spellings = {base.replace("1", "i"), base.replace("1", "l")}
    else:
        spellings = {raw}
    squashed = {_squash(s) for s in spellings}
    for key in sorted(squashed):
        if key in _EXPANSION_KEYS:
            return [frozenset({part}) for part in _EXPANSION_KEYS[key]], False
    return [frozenset(squashed)], False


_EXPANSION_KEYS: dict[str, tuple[str, ...]] = {
    _squash(k): tuple(_squash(p) for p in v) for k, v in _EXPANSIONS.items()
}


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    clause = 0
    for match in _TOKEN_RE.finditer(_prepare(text)):
        piece = match.group()
        if not (piece[0].isalnum() or piece[0] in "@$"):
            clause += 1
            continue
        positions, numeric = _word_variants(piece)
        for keys in positions:
            if keys & _CLAUSE_WORDS:
                clause += 1
            tokens.append(_Token(keys=keys, clause=clause, numeric=numeric))
    return _join_myself(tokens)


def _join_myself(tokens: list[_Token]) -> list[_Token]:
    joined: list[_Token] = []
    i = 0
    while i < len(tokens):
        here = tokens[i]
        if i + 1 < len(tokens) and "self" in tokens[i + 1].keys and here.keys & {"my", "your"}:
            word = "myself" if "my" in here.keys else "yourself"
            joined.append(
                _Token(keys=frozenset({_squash(word)}), clause=here.clause, numeric=False)
            )
            i += 2
            continue
        joined.append(here)
        i += 1
    return joined


def _phrase_keys(phrase: str) -> tuple[str, ...]:
    keys: list[str] = []
    for index, segment in enumerate(phrase.split(_NUM)):
        if index:
            keys.append(_NUM)
        keys.extend(min(token.keys) for token in _tokenise(segment))
    return tuple(keys)


class Screener:
    """Built once from the phrase list; :meth:`screen` is pure and deterministic."""

    def __init__(self, phrases: Iterable[_Phrase], exceptions: Iterable[_Phrase]) -> None:
        self._phrases = tuple(phrases)
        self._exceptions = tuple(exceptions)
        if not self._phrases:
            raise ValueError("screening phrase list has no phrases")
        self._by_first: dict[str, list[_Phrase]] = {}
        for phrase in self._phrases:
            self._by_first.setdefault(phrase.keys[0], []).append(phrase)

    @property
    def phrase_count(self) -> int:
        return len(self._phrases)

    @classmethod
    def from_text(cls, phrase_list_text: str) -> Screener:
        """One phrase per line; '#' starts a comment line; a line starting with '!' is an
        exception (a harmless phrase that contains a listed one). ``<num>`` in an
        exception stands for any number. Raises ValueError naming the bad line."""
        phrases: dict[tuple[str, ...], _Phrase] = {}
        exceptions: dict[tuple[str, ...], _Phrase] = {}
        for number, line in enumerate(phrase_list_text.splitlines(), start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            is_exception = text.startswith("!")
            if is_exception:
                text = text[1:].strip()
            if _NUM in text and not is_exception:
                raise ValueError(f"screening phrases line {number}: {_NUM} only in '!' lines")
            keys = _phrase_keys(text)
            if not keys or all(key == _NUM for key in keys):
                raise ValueError(f"screening phrases line {number}: no words in {line!r}")
            target = exceptions if is_exception else phrases
            target.setdefault(keys, _Phrase(id=" ".join(keys), keys=keys))
        return cls(phrases.values(), exceptions.values())

    def screen(self, text: str) -> ScreeningResult:
        """Whether ``text`` contains a listed phrase that is neither negated nor covered
        by an exception. Never raises for any string."""
        if not text:
            return NO_MATCH
        tokens = _tokenise(text)
        for start, token in enumerate(tokens):
            for key in sorted(token.keys):
                for phrase in self._by_first.get(key, ()):
                    if not _matches_at(tokens, start, phrase.keys):
                        continue
                    end = start + len(phrase.keys)
                    if _negated(tokens, start) or self._excepted(tokens, start, end):
                        continue
                    return ScreeningResult(matched=True, phrase_id=phrase.id)
        return NO_MATCH

    def _excepted(self, tokens: Sequence[_Token], start: int, end: int) -> bool:
        for exception in self._exceptions:
            length = len(exception.keys)
            first = max(0, end - length)
            for at in range(first, start + 1):
                if at + length >= end and _matches_at(tokens, at, exception.keys):
                    return True
        return False


def _matches_at(tokens: Sequence[_Token], start: int, keys: Sequence[str]) -> bool:
    if start + len(keys) > len(tokens):
        return False
    for offset, key in enumerate(keys):
        token = tokens[start + offset]
        if key == _NUM:
            if not token.numeric:
                return False
        elif key not in token.keys:
            return False
    return True


def _negated(tokens: Sequence[_Token], start: int) -> bool:
    clause = tokens[start].clause
    for at in range(max(0, start - NEGATION_WINDOW), start):
        token = tokens[at]
        if token.clause != clause:
            continue
        if token.keys & _NEGATORS:
            following = tokens[at + 1].keys if at + 1 < len(tokens) else frozenset()
            if not following & _NEGATION_BREAKERS:
                return True
        if "no" in token.keys and at + 1 < start and "longer" in tokens[at + 1].keys:
            return True
    return False
