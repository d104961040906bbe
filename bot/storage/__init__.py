"""Storage: the one SQLite connection, migrations, encryption at rest and repositories."""
