"""Use cases the cogs call. They take ids and plain values and know nothing of interactions."""
