-- Capacity (livesessions_core::SessionFields::capacity), SQLite flavour: the most distinct
-- participants a session admits, NULL for no limit. The join compares it with the
-- `participants` column inside its BEGIN IMMEDIATE transaction, before inserting.

ALTER TABLE live_sessions ADD COLUMN capacity INTEGER
    CHECK (capacity BETWEEN 1 AND 1000000);
