-- Seat shards: the walk-in seats of a capped session, split over its 64 count shard rows so that
-- first joins of one capped session commit in parallel (docs/ARCHITECTURE.md, "Seat shards").
--
-- `seats` is how many walk-ins this shard may still admit; a walk-in's first join takes one
-- from its own shard in the join statement (the row it bumps the count of anyway). The seats
-- of all shards add up to capacity - participants - reserved seats, spread again ("settled")
-- by a capped first join that holds the session row whenever a shard's `epoch` differs from
-- the session's `seat_epoch`. Every session update and roster write adds one to `seat_epoch`,
-- so seats counted before a change of capacity, status or roster are never taken after it.
-- Shards written before this migration have epoch -1: the first capped first join settles
-- them; sessions without a capacity never read either column.

ALTER TABLE live_sessions ADD COLUMN seat_epoch bigint NOT NULL DEFAULT 0;

ALTER TABLE session_participant_counts
    ADD COLUMN seats bigint NOT NULL DEFAULT 0,
    ADD COLUMN epoch bigint NOT NULL DEFAULT -1;

-- Raised by a join statement that took a seat and then found the participant inserted by a
-- concurrent first join of the same user: the statement is undone and the join runs again
-- (as a rejoin), so no seat is lost.
CREATE FUNCTION seat_taken_twice() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a concurrent first join of the same user took this seat; the join is retried'
        USING ERRCODE = 'LS409';
END
$$;
