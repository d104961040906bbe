"""Alembic revisions (``versions/``), the environment, and the runner that applies them.

Adding a table or column for a feature:

1. Add ``versions/NNNN_what.py`` with ``down_revision`` set to the current head, using
   ``op.create_table`` / ``op.add_column`` and the types in :mod:`.types` (``Snowflake`` for
   Discord ids, ``RowId`` for generated keys, ``Blob`` for encrypted text, ``Time`` for
   ``bot.timeutil`` text). Branch on ``op.get_bind().dialect.name`` only when a construct has
   no portable form (see :func:`.types.nocase`).
2. Write the repository in ``bot/storage/repositories/``: functions taking a ``Tx``, portable
   SQL with ``?`` placeholders, ``ON CONFLICT`` instead of ``INSERT OR …``, ``RETURNING id``
   with ``tx.insert``, and ``tx.for_update()`` / ``tx.for_share()`` / ``tx.serialize()``
   where a write depends on what the same transaction read.
3. A table with a member id goes into ``bot/storage/member_data.py`` (a structural test checks).
4. The storage tests run on both backends through the ``db`` / ``database_target`` fixtures.
"""
