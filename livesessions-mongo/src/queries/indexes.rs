//! The indexes of the collections and of the thumbnails' GridFS files.

use bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

use super::search::{SEARCH_GRAMS, SEARCH_INDEX};
use super::sessions::list_sort;

pub(super) fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(unique.then_some(true))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// The indexes of `live_sessions`: the list order (`listRank`, `listTimeKey`, `_id`), which
/// also serves the status filter and cursor pagination; `startTime` for the overview; and the
/// scheduler's two due queries ([`due_to_start_filter`](super::due_to_start_filter),
/// [`due_to_end_filter`](super::due_to_end_filter)): equality on status and flag, then the
/// time range, so that a tick reads only the sessions it may act on; and the live sessions
/// having `endWhenEmptyMinutes` ([`empty_candidates_filter`](super::empty_candidates_filter));
/// and the search trigrams ([`SEARCH_INDEX`], multikey).
pub fn session_indexes() -> Vec<IndexModel> {
    vec![
        index(list_sort(), "list_order", false),
        index(doc! { "startTime": 1 }, "start_time", false),
        index(
            doc! { "status": 1, "autoStart": 1, "startTime": 1 },
            "due_start",
            false,
        ),
        index(
            doc! { "status": 1, "autoEnd": 1, "endTime": 1 },
            "due_end",
            false,
        ),
        series_index(),
        index(
            doc! { "status": 1, "endWhenEmptyMinutes": 1 },
            "due_empty",
            false,
        ),
        index(doc! { SEARCH_GRAMS: 1 }, SEARCH_INDEX, false),
    ]
}

/// The occurrences of a series in start order: {seriesId, startTime, _id}, holding only the
/// sessions that have a `seriesId` (a partial index).
fn series_index() -> IndexModel {
    let options = IndexOptions::builder()
        .name("series".to_owned())
        .partial_filter_expression(doc! { "seriesId": { "$exists": true } })
        .build();
    IndexModel::builder()
        .keys(doc! { "seriesId": 1, "startTime": 1, "_id": 1 })
        .options(options)
        .build()
}

/// The indexes of `session_participants`: unique {sessionId, userId} (one record per user and
/// session; also serves everything by session) and {userId} (a user's participation).
pub fn participant_indexes() -> Vec<IndexModel> {
    vec![
        index(
            doc! { "sessionId": 1, "userId": 1 },
            "session_user_unique",
            true,
        ),
        index(doc! { "userId": 1 }, "user", false),
    ]
}

/// The index of the count shards besides `_id`: {sessionId}, for summing and deleting a
/// session's shards.
pub fn count_shard_indexes() -> Vec<IndexModel> {
    vec![index(doc! { "sessionId": 1 }, "session", false)]
}

/// The index of the thumbnails' GridFS files collection: unique {filename}, so that a key holds
/// one image (see `MongoThumbnails`).
pub fn thumbnail_file_indexes() -> Vec<IndexModel> {
    vec![index(doc! { "filename": 1 }, "filename_unique", true)]
}

/// The index of `live_session_events` besides `_id` (which orders the log): `at`, for pruning
/// the events appended before a time.
pub fn event_indexes() -> Vec<IndexModel> {
    vec![index(doc! { "at": 1 }, "appended_at", false)]
}
