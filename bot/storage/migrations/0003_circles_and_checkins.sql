-- Circles, their members, check-in rounds and answers.
CREATE TABLE circles (
    id                   INTEGER PRIMARY KEY,
    guild_id             INTEGER NOT NULL,
    name                 TEXT NOT NULL,
    channel_id           INTEGER NOT NULL,
    timezone             TEXT NOT NULL DEFAULT 'UTC',
    agreement            TEXT,                -- written by facilitators; NULL = the default text
    schedule_days        TEXT,                -- '0,3' (Mon=0); NULL = no schedule
    schedule_time        TEXT,                -- 'HH:MM' in the circle's zone
    close_after_minutes  INTEGER NOT NULL DEFAULT 1440,
    created_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX circles_guild_name ON circles (guild_id, name COLLATE NOCASE);
CREATE INDEX circles_channel ON circles (channel_id);

CREATE TABLE circle_members (
    circle_id       INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL,
    guild_id        INTEGER NOT NULL,
    joined_at       TEXT NOT NULL,
    is_facilitator  INTEGER NOT NULL DEFAULT 0,   -- as last seen in an interaction
    PRIMARY KEY (circle_id, user_id)
);
CREATE INDEX circle_members_user ON circle_members (user_id);

CREATE TABLE rounds (
    id          INTEGER PRIMARY KEY,
    circle_id   INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    slot        TEXT NOT NULL,        -- scheduled open time (UTC), or 'now:<time>': one round per slot
    prompt      TEXT NOT NULL,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER,
    opened_at   TEXT NOT NULL,
    closes_at   TEXT NOT NULL,
    closed_at   TEXT,
    UNIQUE (circle_id, slot)
);
CREATE INDEX rounds_open ON rounds (circle_id, closed_at);

CREATE TABLE checkins (
    round_id     INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    guild_id     INTEGER NOT NULL,
    mood         INTEGER NOT NULL CHECK (mood BETWEEN 1 AND 5),
    note         BLOB,                -- encrypted at rest
    visibility   TEXT NOT NULL CHECK (visibility IN ('circle', 'facilitators', 'self')),
    answered_at  TEXT NOT NULL,
    PRIMARY KEY (round_id, user_id)
);
CREATE INDEX checkins_user_time ON checkins (user_id, answered_at);

CREATE TABLE reminders_sent (
    round_id  INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    PRIMARY KEY (round_id, user_id)
);

CREATE TABLE circle_prompts (
    id         INTEGER PRIMARY KEY,
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    prompt     TEXT NOT NULL
);

CREATE TABLE prompts_used (
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    prompt     TEXT NOT NULL,
    PRIMARY KEY (circle_id, prompt)
);

CREATE TABLE member_prefs (
    user_id       INTEGER PRIMARY KEY,
    reminders     INTEGER NOT NULL DEFAULT 0,
    paused_until  TEXT                  -- a date (YYYY-MM-DD); away until then
);

-- Facilitators who have run a facilitator command for a circle: who receives
-- facilitators-only answers at close (Discord gives no member list without a privileged intent).
CREATE TABLE circle_facilitators (
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);
