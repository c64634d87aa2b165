-- Search at any scale: an FTS5 table with the trigram tokenizer (SQLite 3.34+) over the three
-- searched columns. A search's `MATCH` on it narrows the candidates to the sessions whose
-- text contains every trigram of the term in a row; the `LIKE` condition then decides as
-- before (the tokenizer folds the case of every letter, `LIKE` only of ASCII letters, so the
-- index finds a superset). Terms shorter than three characters have no trigram and are
-- searched without it.
--
-- `live_sessions` has no integer key (its rowid may change on VACUUM), so the index's rowid
-- is a `docid` of its own, mapped to the session id by `live_sessions_search_ids`. Triggers
-- keep both in step with `live_sessions`.

CREATE TABLE live_sessions_search_ids (
    docid  INTEGER PRIMARY KEY,
    id     BLOB    NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE live_sessions_search
    USING fts5 (title, instructor, description, tokenize = 'trigram');

INSERT INTO live_sessions_search_ids (id) SELECT id FROM live_sessions;
INSERT INTO live_sessions_search (rowid, title, instructor, description)
    SELECT m.docid, s.title, s.instructor, s.description
    FROM live_sessions s JOIN live_sessions_search_ids m ON m.id = s.id;

CREATE TRIGGER live_sessions_search_insert AFTER INSERT ON live_sessions
BEGIN
    INSERT INTO live_sessions_search_ids (id) VALUES (new.id);
    INSERT INTO live_sessions_search (rowid, title, instructor, description)
        VALUES ((SELECT docid FROM live_sessions_search_ids WHERE id = new.id),
                new.title, new.instructor, new.description);
END;

CREATE TRIGGER live_sessions_search_update
    AFTER UPDATE OF title, instructor, description ON live_sessions
    WHEN old.title IS NOT new.title OR old.instructor IS NOT new.instructor
      OR old.description IS NOT new.description
BEGIN
    UPDATE live_sessions_search
    SET title = new.title, instructor = new.instructor, description = new.description
    WHERE rowid = (SELECT docid FROM live_sessions_search_ids WHERE id = new.id);
END;

CREATE TRIGGER live_sessions_search_delete AFTER DELETE ON live_sessions
BEGIN
    DELETE FROM live_sessions_search
    WHERE rowid = (SELECT docid FROM live_sessions_search_ids WHERE id = old.id);
    DELETE FROM live_sessions_search_ids WHERE id = old.id;
END;
