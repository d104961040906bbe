-- Per-server settings and the crisis resources a community adds for itself.
CREATE TABLE guild_settings (
    guild_id             INTEGER PRIMARY KEY,
    facilitator_role_id  INTEGER,
    crisis_region        TEXT,
    alerts_channel_id    INTEGER,      -- opt-in private note to facilitators; NULL = off
    default_timezone     TEXT
);

CREATE TABLE local_resources (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    how       TEXT NOT NULL,
    url       TEXT,
    notes     TEXT
);
CREATE UNIQUE INDEX local_resources_guild_name ON local_resources (guild_id, name COLLATE NOCASE);
