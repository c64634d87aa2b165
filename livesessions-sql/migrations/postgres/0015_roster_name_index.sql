-- The roster view sorted by name (livesessions-sql/src/roster.rs): a session's members in the
-- view's name order, lower-cased (with the column's collation, as the view lowers names) and
-- compared byte by byte ("C"), ties by user id. The view reads only the first `offset + limit`
-- members from it instead of lowering and sorting the whole roster; the EXPLAIN test
-- `roster_view_reads_the_sessions_members_and_participants_by_key` checks it is used.
CREATE INDEX roster_members_name_idx
    ON roster_members (session_id, (lower(user_name)) COLLATE "C", user_id);
