"""Forms (modals) that keep nothing in memory: a submit is handled from what it carries.

discord.py keeps each open modal in a store keyed by its `custom_id` alone and forgets the
store on restart. So two members with the same form open collide (the earlier submit lands
on the later member's modal), and a form left open across a restart cannot be submitted.

A :class:`StatelessForm` is rendered as a modal but never stored: :meth:`StatelessForm.send`
stops it before sending, which tells discord.py not to keep it. Its submit is routed by
:class:`FormRouter` from the `custom_id` (which carries the ids it needs, like the
`DynamicItem` buttons) and the submitted values, whoever submits it and whenever.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import discord

from bot.replies import note_unanswerable
from bot.tree import answer_error

log = logging.getLogger(__name__)


class FormValues:
    """The values of a submitted form, by each input's `custom_id`."""

    def __init__(self, components: list[dict[str, Any]]) -> None:
        self._values: dict[str, Any] = {}
        for component in _inputs(components):
            custom_id = component.get("custom_id")
            if custom_id is None:
                continue
            if "values" in component:
                self._values[custom_id] = list(component.get("values") or [])
            else:
                self._values[custom_id] = component.get("value")

    def text(self, custom_id: str) -> str | None:
        """A text input's value; None when left empty."""
        value = self._values.get(custom_id)
        return value if isinstance(value, str) and value.strip() else None

    def choice(self, custom_id: str) -> str | None:
        """A single select's chosen value; None when nothing was chosen."""
        value = self._values.get(custom_id)
        if isinstance(value, list):
            return str(value[0]) if value else None
        return None


def _inputs(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every input in a submit: inside action rows (type 1) and labels (type 18)."""
    for component in components:
        kind = component.get("type")
        if kind == 1:
            yield from _inputs(component.get("components") or [])
        elif kind == 18:
            inner = component.get("component")
            if isinstance(inner, dict):
                yield inner
        else:
            yield component


class StatelessForm(discord.ui.Modal):
    """A modal whose submit is handled by :meth:`submit` from its custom_id and values."""

    template: ClassVar[re.Pattern[str]]

    async def send(self, interaction: discord.Interaction) -> None:
        self.stop()  # a finished modal is not stored by discord.py: nothing to collide or lose
        try:
            await interaction.response.send_modal(self)
        except discord.HTTPException as error:
            if not note_unanswerable(interaction, error):  # a form too late is a counted warning
                raise

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], values: FormValues
    ) -> None:
        raise NotImplementedError


class FormRouter:
    """Routes every modal submit whose custom_id matches a registered form's template."""

    def __init__(self) -> None:
        self._forms: list[type[StatelessForm]] = []

    def add(self, form: type[StatelessForm]) -> None:
        if form not in self._forms:
            self._forms.append(form)

    async def dispatch(self, interaction: discord.Interaction) -> bool:
        if interaction.type is not discord.InteractionType.modal_submit:
            return False
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        custom_id = str(data.get("custom_id", ""))
        for form in self._forms:
            match = form.template.fullmatch(custom_id)
            if match is None:
                continue
            try:
                await form.submit(interaction, match, FormValues(data.get("components") or []))
            except Exception as error:
                await answer_error(interaction, error)
            return True
        log.warning("A form submit matched no form (custom_id prefix %s)", custom_id[:20])
        return False
