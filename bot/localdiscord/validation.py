"""Discord's request validation: command schemas and message limits.

Failures come back the way Discord sends them: 400, code 50035 "Invalid Form Body" and
an `errors` object keyed by the path of the offending field, so discord.py raises
`HTTPException(code=50035)` with a readable text, exactly as in production.
"""

from __future__ import annotations

import re
from typing import Any

NAME_RE = re.compile(r"^[-_\w]{1,32}$", re.UNICODE)
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
VALUE_TYPES = {3, 4, 5, 6, 7, 8, 9, 10, 11}


class FormErrors:
    """Collects field errors at paths and renders Discord's nested `errors` object."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)

    def body(self) -> dict[str, Any]:
        return {"message": "Invalid Form Body", "code": 50035, "errors": self.tree}


def _check_len(
    errors: FormErrors, path: tuple[str | int, ...], value: Any, lo: int, hi: int
) -> None:
    n = len(value) if isinstance(value, str) else -1
    if n < lo or n > hi:
        errors.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between {lo} and {hi} in length.",
        )


def _check_name(errors: FormErrors, path: tuple[str | int, ...], name: Any, chat: bool) -> None:
    if not isinstance(name, str) or not (1 <= len(name) <= 32):
        errors.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    elif chat and (not NAME_RE.match(name) or name != name.lower()):
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def validate_commands(commands: Any) -> FormErrors:
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return errors
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict):
            errors.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        ctype = int(cmd.get("type", 1))
        chat = ctype == 1
        _check_name(errors, (i, "name"), cmd.get("name"), chat)
        key = (ctype, str(cmd.get("name")))
        if key in seen:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
        if chat:
            _check_len(errors, (i, "description"), cmd.get("description"), 1, 100)
            _validate_options(errors, (i, "options"), cmd.get("options") or [], depth=0)
        elif cmd.get("description"):
            errors.add((i, "description"), "BASE_TYPE_MAX_LENGTH", "Must be 0 or fewer in length.")
    if len(commands) > 100:
        errors.add((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    return errors


def _validate_options(
    errors: FormErrors, path: tuple[str | int, ...], options: list[Any], depth: int
) -> None:
    if len(options) > 25:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    names: set[str] = set()
    seen_optional = False
    kinds = {int(o.get("type", 0)) in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options}
    if len(kinds) > 1:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        )
    for j, opt in enumerate(options):
        p = (*path, j)
        otype = int(opt.get("type", 0))
        _check_name(errors, (*p, "name"), opt.get("name"), True)
        _check_len(errors, (*p, "description"), opt.get("description"), 1, 100)
        if opt.get("name") in names:
            errors.add(
                (*p, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(str(opt.get("name")))
        if otype == SUB_COMMAND_GROUP:
            if depth > 0:
                errors.add(
                    (*p, "type"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command groups can only be nested at the top level",
                )
            subs = opt.get("options") or []
            if any(int(s.get("type", 0)) != SUB_COMMAND for s in subs):
                errors.add(
                    (*p, "options"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command groups can only contain sub-commands",
                )
            _validate_options(errors, (*p, "options"), subs, depth + 1)
        elif otype == SUB_COMMAND:
            if depth > 1:
                errors.add((*p, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Too deep")
            _validate_options(errors, (*p, "options"), opt.get("options") or [], depth + 2)
        elif otype in VALUE_TYPES:
            if opt.get("options"):
                errors.add(
                    (*p, "options"),
                    "APPLICATION_COMMAND_OPTIONS_INVALID",
                    "Only sub-commands may have options",
                )
            if opt.get("required"):
                if seen_optional:
                    errors.add(
                        (*p, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            choices = opt.get("choices") or []
            if len(choices) > 25:
                errors.add(
                    (*p, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            if choices and opt.get("autocomplete"):
                errors.add(
                    (*p, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set with choices",
                )
            for k, choice in enumerate(choices):
                _check_len(errors, (*p, "choices", k, "name"), choice.get("name"), 1, 100)
        else:
            errors.add((*p, "type"), "BASE_TYPE_CHOICES", f"Value must be one of {VALUE_TYPES}.")


EMBED_LIMITS = {"title": 256, "description": 4096}


def validate_message(payload: dict[str, Any]) -> FormErrors:
    """Content, embed and component limits as Discord enforces them."""
    errors = FormErrors()
    content = payload.get("content")
    if isinstance(content, str) and len(content) > 2000:
        errors.add(("content",), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        total += _validate_embed(errors, ("embeds", i), embed)
    if total > 6000:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    _validate_components(errors, payload.get("components") or [], int(payload.get("flags") or 0))
    return errors


def _validate_embed(errors: FormErrors, path: tuple[str | int, ...], embed: dict[str, Any]) -> int:
    total = 0
    for key, limit in EMBED_LIMITS.items():
        value = embed.get(key) or ""
        total += len(value)
        if len(value) > limit:
            errors.add((*path, key), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors.add((*path, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for j, f in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            value = str(f.get(key) or "")
            total += len(value)
            if not value:
                errors.add(
                    (*path, "fields", j, key), "BASE_TYPE_REQUIRED", "This field is required"
                )
            elif len(value) > limit:
                errors.add(
                    (*path, "fields", j, key),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {limit} or fewer in length.",
                )
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        value = (embed.get(key) or {}).get(sub) or ""
        total += len(value)
        if len(value) > limit:
            errors.add(
                (*path, key, sub), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
            )
    return total


def _validate_components(errors: FormErrors, rows: list[dict[str, Any]], flags: int) -> None:
    if flags & (1 << 15):  # components v2: layout is free-form, limits differ
        return
    if len(rows) > 5:
        errors.add(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    for i, row in enumerate(rows):
        children = row.get("components") or []
        if row.get("type") != 1:
            errors.add(
                ("components", i, "type"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Must be an action row",
            )
            continue
        width = sum(5 if c.get("type") in (3, 4, 5, 6, 7, 8) else 1 for c in children)
        if width > 5 or not children:
            errors.add(
                ("components", i, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, comp in enumerate(children):
            _validate_component(errors, ("components", i, "components", j), comp)


def _validate_component(
    errors: FormErrors, path: tuple[str | int, ...], comp: dict[str, Any]
) -> None:
    if len(comp.get("label") or "") > 80:
        errors.add((*path, "label"), "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
    if len(comp.get("custom_id") or "") > 100:
        errors.add((*path, "custom_id"), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    link_or_premium = comp.get("style") in (5, 6)
    if comp.get("type") == 2 and not link_or_premium and not comp.get("custom_id"):
        errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    if comp.get("type") == 3:
        options = comp.get("options") or []
        if not 1 <= len(options) <= 25:
            errors.add(
                (*path, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length."
            )
