"""Request bodies checked against Discord's published OpenAPI description.

`SpecChecker(path)` loads discord/discord-api-spec's `openapi.json` once, matches each
route the local server implements to the spec's operation (literal segments equal,
parameters in the same places), and validates every JSON body (and a multipart body's
`payload_json`) against that operation's `requestBody` schema with `jsonschema`.
Validators are built once per operation and cached.

Where the spec is stricter than Discord's docs (the docs win; see DEVIATIONS.md beside
the spec copy), the check is relaxed: an `integer` field also accepts a string that
parses as an int, as Discord's API does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.localdiscord.validation import FormErrors

SPEC_URI = "urn:discord-openapi"


@dataclass
class Violation:
    """One refused body: the route, and each failure as (path, message)."""

    route: str
    errors: list[tuple[str, str]]


def _is_int_or_int_string(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, str):
        try:
            int(instance)
        except ValueError:
            return False
        return True
    return False


@functools.cache
def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@functools.cache
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int_or_int_string)
    # The spec's README: every union means "one of these shapes", whichever keyword it
    # uses; with int strings accepted, a string can fit two branches (nonce: string or
    # integer), so `oneOf` is checked as `anyOf`.
    any_of = Draft202012Validator.VALIDATORS["anyOf"]
    base_type = Draft202012Validator.VALIDATORS["type"]

    def type_(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
        # Snowflakes are typed as strings; Discord takes ints too (the docs' own example
        # of an upload's attachment `id` is the integer index of its `files[n]` part).
        snowflake = schema.get("format") == "snowflake"
        if snowflake and isinstance(instance, int) and not isinstance(instance, bool):
            return
        yield from base_type(validator, types, instance, schema)

    return validators.extend(
        Draft202012Validator,
        validators={"oneOf": any_of, "type": type_},
        type_checker=checker,
    )


@functools.cache
def _registry(path: str) -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(_load(path), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _validator(path: str, pointer: str) -> Any:
    return _validator_class()({"$ref": f"{SPEC_URI}#{pointer}"}, registry=_registry(path))


def _leaves(error: Any) -> list[Any]:
    """For a union (anyOf/oneOf) failure, the errors of the branch the body meant: not one
    whose discriminator (`type`) differs, and among the rest the one that got deepest."""
    if not error.context:
        return [error]
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def discriminated(errors: list[Any]) -> bool:
        return any(
            e.validator in ("enum", "const") and list(e.relative_path) == ["type"] for e in errors
        )

    candidates = [b for b in branches.values() if not discriminated(b)] or list(branches.values())
    best = max(candidates, key=lambda b: max(len(e.absolute_path) for e in b))
    return [leaf for sub in best for leaf in _leaves(sub)]


def _message(error: Any) -> str:
    """Discord's wording for length limits; jsonschema's (shortened) for the rest."""
    limit = error.validator_value
    wording = {
        "maxLength": f"Must be {limit} or fewer in length.",
        "maxItems": f"Must be {limit} or fewer in length.",
        "minLength": f"Must be {limit} or more in length.",
        "minItems": f"Must be {limit} or more in length.",
    }
    return wording.get(str(error.validator), str(error.message)[:200])


def _segments(path: str) -> list[str | None]:
    """Literal segments as themselves, parameters as None."""
    return [None if s.startswith("{") else s for s in path.strip("/").split("/")]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass
class SpecChecker:
    """Validates request bodies against the spec at `path`; records every refusal."""

    path: Path
    violations: list[Violation] = field(default_factory=list)
    _operations: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        _load(str(self.path))  # fail at construction, not on the first request

    def operation(self, method: str, route_path: str) -> str | None:
        """JSON pointer of the operation's JSON body schema, or None if it takes none."""
        key = f"{method} {route_path}"
        if key not in self._operations:
            self._operations[key] = self._find(method.lower(), route_path)
        return self._operations[key]

    def _find(self, method: str, route_path: str) -> str | None:
        paths = _load(str(self.path))["paths"]
        wanted = _segments(route_path)
        for spec_path, item in paths.items():
            if _segments(spec_path) != wanted:
                continue
            content = ((item.get(method) or {}).get("requestBody") or {}).get("content") or {}
            if "application/json" not in content:
                return None
            parts = ("paths", spec_path, method, "requestBody", "content", "application/json")
            return "/" + "/".join(_escape(t) for t in (*parts, "schema"))
        raise LookupError(f"{method.upper()} {route_path} is not in Discord's OpenAPI spec")

    def check(self, method: str, route_path: str, body: Any) -> FormErrors:
        """Validate `body`; a violation is recorded and returned as Discord's form errors."""
        pointer = self.operation(method, route_path)
        errors = FormErrors()
        if pointer is None:
            return errors
        validator = _validator(str(self.path), pointer)
        found: list[tuple[str, str]] = []
        for error in (leaf for top in validator.iter_errors(body) for leaf in _leaves(top)):
            where = tuple(error.absolute_path)
            message = _message(error)
            errors.add(where, f"SPEC_{str(error.validator).upper()}", message)
            found.append(("/".join(str(p) for p in where) or "(body)", message))
        if found:
            self.violations.append(Violation(f"{method} {route_path}", found))
        return errors
