-- Capacity (livesessions_core::SessionFields::capacity): the most distinct participants a
-- session admits, NULL for no limit. The join checks it in the same transaction that inserts
-- the participant and adds to a count shard; first joins of a capped session take the session
-- row FOR NO KEY UPDATE first, so they run one at a time and each counts the shards as the
-- previous one committed them (docs/ARCHITECTURE.md, "Capacity"). Sessions without a capacity
-- join as before.

ALTER TABLE live_sessions ADD COLUMN capacity bigint
    CONSTRAINT live_sessions_capacity_check CHECK (capacity BETWEEN 1 AND 1000000);
