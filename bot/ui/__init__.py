"""Rendering helpers: embeds, views, modals and images; no business rules."""
