-- Empties the participants, counters and events between runs (keeps the one live session).
SET search_path TO ls_pgbench;
TRUNCATE session_participants, session_participant_counts, events;
UPDATE live_sessions SET participants = 0;
VACUUM ANALYZE live_sessions;
