"""Circlekeeper: a Discord bot for peer-support circles."""

__version__ = "0.1.0"
