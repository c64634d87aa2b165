-- Series (livesessions_core::SeriesLink), SQLite flavour: the occurrences of one repeat rule
-- share a series id (a UUID as 16 bytes, like `id`) and keep the rule. The partial index
-- serves the list of a series' occurrences in start order and the series summary.

ALTER TABLE live_sessions ADD COLUMN series_id BLOB;
ALTER TABLE live_sessions ADD COLUMN recurrence TEXT;

CREATE INDEX live_sessions_series_idx ON live_sessions (series_id, start_time, id)
    WHERE series_id IS NOT NULL;
