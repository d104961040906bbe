"""`circlekeeper copy-db FROM TO`: move a community between SQLite and PostgreSQL.

Run with the bot stopped. The target is migrated to the same revision as the source and
must be empty; every table is copied in one target transaction, parents before children,
rows in primary-key order, values as stored (encrypted text stays encrypted under the same
key, so the same data key opens the copy). Then each table's row count and a checksum of its
rows (sha256 over the normalised values in primary-key order) are computed again on both
sides and must match; otherwise the copy is reported as failed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Database, Tx


class CopyError(Exception):
    pass


@dataclass(frozen=True)
class TableCheck:
    table: str
    rows: int
    sha256: str


def _normalise(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, bool):
        return int(value)
    return value


async def _table_order(db: Database) -> list[str]:
    """Tables with parents before children (foreign keys), then by name."""
    parents = await db.foreign_key_parents()
    ordered: list[str] = []
    remaining = dict(parents)
    while remaining:
        ready = sorted(t for t, deps in remaining.items() if deps <= set(ordered) | {t})
        if not ready:
            raise CopyError(f"foreign keys form a cycle among {sorted(remaining)}")
        ordered.extend(ready)
        for table in ready:
            del remaining[table]
    return ordered


async def _select_all(tx: Tx, table: str, columns: list[str], keys: list[str]) -> list[Any]:
    order = ", ".join(keys or columns)
    return await tx.fetchall(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")


async def table_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as stored (columns by name, rows in primary-key order)."""
    columns = await db.table_columns()
    keys = await db.primary_keys()
    async with db.read() as tx:
        return {
            table: [
                tuple(row)
                for row in await _select_all(tx, table, sorted(columns[table]), keys[table])
            ]
            for table in sorted(columns)
        }


async def checksums(db: Database) -> list[TableCheck]:
    """Row count and checksum of every table: sha256 over its normalised rows, in order."""
    checks = []
    for table, rows in (await table_rows(db)).items():
        digest = hashlib.sha256()
        for row in rows:
            digest.update(json.dumps([_normalise(v) for v in row]).encode() + b"\n")
        checks.append(TableCheck(table, len(rows), digest.hexdigest()))
    return checks


async def copy_database(source: Database, target: Database) -> list[TableCheck]:
    """Copy every table of `source` into the empty `target`; the verified checks."""
    await source.migrate()
    await target.migrate()
    if await source.schema_revision() != await target.schema_revision():
        raise CopyError("source and target are at different schema revisions")
    columns = await source.table_columns()
    if set(columns) != set(await target.table_columns()):
        raise CopyError("source and target have different tables")
    before = await checksums(source)
    if any(check.rows for check in await checksums(target)):
        raise CopyError(f"{target.label} is not empty; copy into a new, empty database")
    keys = await source.primary_keys()
    order = await _table_order(source)
    async with source.read() as read, target.transaction() as write:
        for table in order:
            names = columns[table]
            rows = await _select_all(read, table, names, keys[table])
            marks = ", ".join("?" * len(names))
            await write.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                [tuple(row) for row in rows],
            )
        await write.after_bulk_insert(keys)
    after = await checksums(target)
    if after != before:
        mismatched = [b.table for b, a in zip(before, after, strict=True) if a != b]
        raise CopyError(
            f"verification failed for {', '.join(mismatched)}; the target is not usable"
        )
    return after
