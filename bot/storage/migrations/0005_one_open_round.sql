-- One open round per circle, as a database guard: two facilitators opening a round at the
-- same moment get one round, not two. Rounds left open side by side by older versions are
-- closed first (all but the newest).
UPDATE rounds SET closed_at = opened_at
WHERE closed_at IS NULL
  AND id NOT IN (SELECT MAX(id) FROM rounds WHERE closed_at IS NULL GROUP BY circle_id);
CREATE UNIQUE INDEX rounds_one_open ON rounds (circle_id) WHERE closed_at IS NULL;
