"""Column types every revision uses, so both backends get the right one.

- ``Snowflake``: Discord ids need 64 bits (``BIGINT`` on PostgreSQL, ``INTEGER`` on SQLite).
- ``RowId``: a generated primary key (``BIGSERIAL`` on PostgreSQL; SQLite's ``INTEGER
  PRIMARY KEY``, the rowid alias, which ``BIGINT`` would not be).
- ``Text``, ``Blob`` (``bytea``), ``Flag`` (0/1 integers, as the repositories compare them).
- Times are fixed-width ISO 8601 UTC text (``bot.timeutil``) on both: they sort as text.
"""

import sqlalchemy as sa

Snowflake = sa.BigInteger
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Text = sa.Text
Blob = sa.LargeBinary
Flag = sa.Integer
Time = sa.Text


def nocase(column: str, dialect: str) -> sa.TextClause:
    """A case-insensitive index expression: ``lower(x)`` (repositories compare ``lower(x) = lower(?)``)."""
    return sa.text(f"{column} COLLATE NOCASE" if dialect == "sqlite" else f"lower({column})")
