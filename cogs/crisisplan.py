"""`/crisisplan edit | view | share | delete`: a member's own crisis plan, anywhere."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CircleBot
from bot.dm import DirectMessenger
from bot.domain.crisisplan import CrisisPlan
from bot.replies import reply_ephemeral
from bot.services.outbox import Outcome
from bot.ui.crisisplan import (
    CrisisPlanForm,
    DeletePlanChoice,
    MyPlanButton,
    PlanPartButton,
    confirm_delete_view,
    open_plan_form,
    plan_embed,
    plan_file,
    shared_plan_message,
    show_plan,
)

NO_PINGS = discord.AllowedMentions.none()
SHARE_WAIT_SECONDS = 5.0  # how long the command waits to tell the truth about the copy


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
@app_commands.allowed_installs(guilds=True, users=True)
class CrisisPlanCog(
    commands.GroupCog,
    group_name="crisisplan",
    group_description="Your personal crisis plan: private to you, wherever you write it.",
):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.service = bot.resources.services.crisisplan

    @app_commands.command(
        name="edit", description="Write or change your crisis plan (two short forms)."
    )
    @app_commands.describe(
        part="Part 1: signs, coping, people. Part 2: professionals, safety, reasons."
    )
    @app_commands.choices(
        part=[
            app_commands.Choice(name="Part 1: warning signs, coping, people", value=1),
            app_commands.Choice(name="Part 2: professionals, safer surroundings, reasons", value=2),
        ]
    )
    async def edit(self, interaction: discord.Interaction, part: int = 1) -> None:
        await open_plan_form(interaction, part)

    @app_commands.command(
        name="view", description="See your crisis plan, privately, with a file to keep."
    )
    async def view(self, interaction: discord.Interaction) -> None:
        await show_plan(interaction)

    @app_commands.command(
        name="share", description="Send a copy of your plan by DM to one person you choose."
    )
    @app_commands.describe(member="The one person who gets a copy")
    async def share(self, interaction: discord.Interaction, member: discord.User) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        shared = await self.service.share(interaction.user.id, member.id, member.bot)
        outcome = await self.bot.resources.services.outbox.wait(
            shared.delivery_id, SHARE_WAIT_SECONDS
        )
        who = f"<@{member.id}>"
        if outcome is Outcome.DELIVERED:
            text = f"Sent. {who} has a copy of your crisis plan in their DMs; you'll find a note in yours too."
        elif outcome is Outcome.FAILED:
            text = (
                f"I couldn't send it: {who} doesn't accept DMs from me. Nothing was shared. "
                "You could send them the file from `/crisisplan view` yourself."
            )
        else:
            text = (
                f"Not sent yet: Discord hasn't accepted it. I'll keep trying and DM you when {who} "
                "has it."
            )
        await reply_ephemeral(interaction, text, allowed_mentions=NO_PINGS)

    @app_commands.command(name="delete", description="Delete your crisis plan.")
    async def delete(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "This deletes your whole crisis plan. It cannot be undone; `/crisisplan view` gives "
            "you a file to keep first.",
            view=confirm_delete_view(interaction.user.id),
            ephemeral=True,
        )


class DiscordCrisisPlanNotifier:
    """The Discord side of sharing: a copy by DM, and a note to its author."""

    def __init__(self, messenger: DirectMessenger) -> None:
        self.messenger = messenger

    async def send_plan(
        self, recipient_id: int, author_id: int, plan: CrisisPlan, nonce: str
    ) -> bool:
        return await self.messenger.send(
            recipient_id,
            content=shared_plan_message(author_id),
            embed=plan_embed(plan, title="A crisis plan shared with you"),
            file=plan_file(plan, heading="A crisis plan shared with you"),
            allowed_mentions=NO_PINGS,
            nonce=nonce,
        )

    async def confirm_shared(self, author_id: int, recipient_id: int, nonce: str) -> bool:
        return await self.messenger.send(
            author_id,
            content=f"Your crisis plan was sent to <@{recipient_id}>, as you asked. "
            "Nobody else received it.",
            allowed_mentions=NO_PINGS,
            nonce=nonce,
        )


async def setup(bot: CircleBot) -> None:
    resources = bot.resources
    messenger = DirectMessenger(
        bot, resources.db, resources.clock, bot.dm_min_gap, metrics=resources.metrics
    )
    resources.services.crisisplan.notifier = DiscordCrisisPlanNotifier(messenger)
    bot.add_dynamic_items(PlanPartButton, MyPlanButton, DeletePlanChoice)
    bot.forms.add(CrisisPlanForm)
    await bot.add_cog(CrisisPlanCog(bot))
