"""The real bot against the local Discord server: the sandbox, e2e tests and benchmarks share it."""
