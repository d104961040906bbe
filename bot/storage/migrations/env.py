"""Alembic's environment: migrations always run on a connection the runner hands in.

The runner holds one transaction around all pending revisions (DDL is transactional on
SQLite and PostgreSQL), so a failing revision leaves nothing half-applied.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
