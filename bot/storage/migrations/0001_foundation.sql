-- Foundation: bookkeeping, persisted jobs, command-sync hashes, server departures.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- The database is the source of truth for every timer; the scheduler is rebuilt from it.
CREATE TABLE scheduled_jobs (
    job_id  TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    run_at  TEXT NOT NULL,          -- ISO 8601, UTC
    payload TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX scheduled_jobs_run_at ON scheduled_jobs (run_at);

CREATE TABLE command_sync (
    scope      TEXT PRIMARY KEY,    -- 'global' or a guild id
    hash       TEXT NOT NULL,
    synced_at  TEXT NOT NULL
);

-- When the bot leaves a server, its data is erased after a grace period.
CREATE TABLE guild_departures (
    guild_id  INTEGER PRIMARY KEY,
    left_at   TEXT NOT NULL
);

-- Members whose DMs are closed: remembered so the bot never retries (403s count toward bans).
CREATE TABLE dm_status (
    user_id      INTEGER PRIMARY KEY,
    closed_at    TEXT NOT NULL,
    told_member  INTEGER NOT NULL DEFAULT 0
);
