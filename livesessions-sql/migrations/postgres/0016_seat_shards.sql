-- Seat shards: the walk-in seats of a capped session, split over its 64 count shard rows so that
-- first joins of one capped session commit in parallel (docs/ARCHITECTURE.md, "Seat shards").
--
-- `seats` is how many walk-ins this shard may still admit; a walk-in's first join takes one
-- from its own shard in the join statement (the row it bumps the count of anyway). The seats
-- of all shards add up to capacity - participants - reserved seats, spread again ("settled")
-- by every session write and roster write of a capped session, in its own transaction. Those
-- writes also add one to `seat_epoch`, and a shard's seats are taken only while its `epoch` is
-- the `seat_epoch` the join read, so seats counted before a change of capacity, status or
-- roster are never taken after it. Shards written before this migration have epoch -1: the
-- first capped first join settles them; sessions without a capacity never read either column.

ALTER TABLE live_sessions ADD COLUMN seat_epoch bigint NOT NULL DEFAULT 0;

ALTER TABLE session_participant_counts
    ADD COLUMN seats bigint NOT NULL DEFAULT 0,
    ADD COLUMN epoch bigint NOT NULL DEFAULT -1;

-- Raised by a join statement that inserted a walk-in because the walk-in's shard had a seat in
-- the statement's snapshot, and found that seat taken (or the shard re-stamped) once it held the
-- shard row: the statement is undone and the join runs again on its locked path.
CREATE FUNCTION seat_taken_meanwhile() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the seat this first join found was taken before it could hold it; the join is retried'
        USING ERRCODE = 'LS409';
END
$$;
