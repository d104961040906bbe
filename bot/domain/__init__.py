"""Pure domain logic: dataclasses and functions with no I/O and no clock."""
