-- What a state change owes Discord (a post, a DM, an edit), written in the same transaction
-- as the change and delivered by the outbox worker, after a restart too. Payloads carry ids,
-- never member text: a delivery renders from the database when it runs.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    dedupe_key     TEXT NOT NULL UNIQUE,      -- one delivery per fact, e.g. 'round-summary:42'
    guild_id       INTEGER,                   -- NULL: not about one server
    user_id        INTEGER,                   -- the member a DM is for, if any
    payload        TEXT NOT NULL DEFAULT '{}',
    nonce          TEXT NOT NULL,             -- Discord message nonce base (enforce_nonce)
    created_at     TEXT NOT NULL,
    next_at        TEXT NOT NULL,             -- earliest next attempt (UTC)
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_until  TEXT,                      -- a worker's lease while it delivers
    steps          TEXT NOT NULL DEFAULT '{}',-- step -> result (message ids) already done
    delivered_at   TEXT,
    failed_at      TEXT,
    failure        TEXT                       -- an HTTP status and code, never text
);
CREATE INDEX outbox_pending ON outbox (delivered_at, failed_at, next_at);
CREATE INDEX outbox_user ON outbox (user_id);
