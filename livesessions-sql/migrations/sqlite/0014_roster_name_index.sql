-- The roster view sorted by name (livesessions-sql/src/roster.rs): a session's members in the
-- view's name order (lower-cased, binary comparison), ties by user id. The view reads only the
-- first `offset + limit` members from it instead of lowering and sorting the whole roster.
CREATE INDEX roster_members_name_idx ON roster_members (session_id, lower(user_name), user_id);
