"""Repositories: the only place SQL lives. They take a `Tx` and return domain values."""
