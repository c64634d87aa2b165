-- Series (livesessions_core::SeriesLink): the occurrences of one repeat rule share a
-- series id and keep the rule. The partial index serves the list of a series' occurrences in
-- start order and the joins of the series summary; sessions outside a series are not in it.

ALTER TABLE live_sessions
    ADD COLUMN series_id  uuid,
    ADD COLUMN recurrence text;

CREATE INDEX live_sessions_series_idx ON live_sessions (series_id, start_time, id)
    WHERE series_id IS NOT NULL;
