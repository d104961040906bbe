"""Errors that carry a message meant for the member who caused them.

Services and domain code raise :class:`UserError` for bad input or a refused action;
the command tree turns it into a short ephemeral reply. Anything else is a bug: it is
logged (ids only) and the member gets a generic apology.
"""

from __future__ import annotations


class UserError(Exception):
    """A refusal the member can act on: what went wrong, and an example that works."""

    def __init__(self, message: str, example: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.example = example

    def render(self) -> str:
        if self.example:
            return f"{self.message}\nFor example: {self.example}"
        return self.message


class ValidationError(UserError):
    """Input that could not be parsed or is out of range."""


class NotAllowed(UserError):
    """The member lacks the role or membership the action needs."""


class ConfigError(Exception):
    """A setting is missing or malformed; startup stops with one line naming it."""

    def __init__(self, variable: str, problem: str, good_example: str) -> None:
        super().__init__(f"{variable}: {problem} (a good value looks like: {good_example})")
        self.variable = variable
