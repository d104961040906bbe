"""A throwaway discord.py bot for testing the local server (not Circlekeeper's bot)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands


class CheckInView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Check in", style=discord.ButtonStyle.primary, custom_id="checkin")
    async def check_in(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.send_modal(MoodModal())

    @discord.ui.button(label="Done", style=discord.ButtonStyle.secondary, custom_id="done")
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="All done", view=None)


class MoodModal(discord.ui.Modal, title="How are you?"):
    mood: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Mood", max_length=2)
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Note", required=False)
    audience: discord.ui.Label[Any] = discord.ui.Label(
        text="Who sees this",
        component=discord.ui.Select(
            options=[
                discord.SelectOption(label="just me", value="me"),
                discord.SelectOption(label="the circle", value="circle"),
            ]
        ),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.audience.component, discord.ui.Select)
        picked = self.audience.component.values
        await interaction.response.send_message(
            f"mood={self.mood.value} note={self.note.value} audience={picked}", ephemeral=True
        )


class TestBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
        )
        self.errors: list[BaseException] = []
        self.add_commands()

    async def setup_hook(self) -> None:
        await self.tree.sync()

    def add_commands(self) -> None:
        tree = self.tree

        @tree.command(description="Crisis lines for a region")
        @app_commands.describe(region="Where you are")
        async def crisis(
            interaction: discord.Interaction, region: str, urgent: bool = False
        ) -> None:
            embed = discord.Embed(title=f"Crisis lines: {region}", description="Call 116 123")
            embed.add_field(name="Urgent", value=str(urgent))
            await interaction.response.send_message(embed=embed, ephemeral=True)

        @crisis.autocomplete("region")
        async def region_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            regions = ["UK", "United States", "Uganda", "Germany"]
            return [
                app_commands.Choice(name=r, value=r)
                for r in regions
                if current.lower() in r.lower()
            ]

        @tree.command(description="Start a check-in")
        async def start(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Ready to check in?", view=CheckInView())

        @tree.command(description="DM a member")
        async def dm(interaction: discord.Interaction, member: discord.User) -> None:
            try:
                await member.send(f"Hello {member.name}")
            except discord.Forbidden as e:
                await interaction.response.send_message(f"DMs closed ({e.code})", ephemeral=True)
                return
            await interaction.response.send_message("Sent", ephemeral=True)

        @tree.command(description="Open a help thread")
        async def helpme(interaction: discord.Interaction, topic: str) -> None:
            assert isinstance(interaction.channel, discord.TextChannel)
            thread = await interaction.channel.create_thread(
                name=f"help: {topic}", type=discord.ChannelType.private_thread
            )
            await thread.add_user(interaction.user)
            await thread.send(f"Welcome {interaction.user.mention}")
            await interaction.response.send_message(f"Opened {thread.mention}", ephemeral=True)

        @tree.command(description="Think, then answer")
        async def ponder(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            await interaction.followup.send(
                "Pondered", file=discord.File(__file__, filename="notes.txt")
            )
            await interaction.followup.send("And one more", ephemeral=True)

        @tree.command(description="Too slow")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.5)
            try:
                await interaction.response.send_message("late")
            except discord.HTTPException as e:
                self.errors.append(e)

        @tree.command(description="Answer twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            interaction.response._response_type = None  # bypass discord.py's own guard
            try:
                await interaction.response.send_message("second")
            except discord.HTTPException as e:
                self.errors.append(e)

        @tree.command(description="Post to the channel")
        async def announce(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message("ok", ephemeral=True)
            assert interaction.channel is not None and not isinstance(
                interaction.channel, discord.ForumChannel | discord.CategoryChannel
            )
            await interaction.channel.send(text)  # type: ignore[union-attr]

        settings = app_commands.Group(
            name="settings",
            description="Circle settings",
            default_permissions=discord.Permissions(manage_guild=True),
        )

        @settings.command(name="show", description="Show settings")
        async def settings_show(interaction: discord.Interaction, circle: str) -> None:
            perms = interaction.permissions.manage_guild
            await interaction.response.send_message(f"settings for {circle} (manage_guild={perms})")

        tree.add_command(settings)

        @tree.command(description="Who is here", extras={})
        async def whois(
            interaction: discord.Interaction, member: discord.Member, where: discord.TextChannel
        ) -> None:
            await interaction.response.send_message(f"{member.display_name} in #{where.name}")
