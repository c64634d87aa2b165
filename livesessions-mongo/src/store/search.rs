//! The documents of a list page, searched through the trigram index when that reads less (see
//! [`queries::term_grams`] for the index), and the backfill of the trigrams of documents
//! written before it.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use livesessions_core::{ListQuery, Result};
use mongodb::error::ErrorKind;
use mongodb::options::Hint;

use super::{all_documents, MongoStore};
use crate::error::map_error;
use crate::queries;

/// A term whose trigrams more sessions carry than this is searched along the list index
/// (where its matches fill a page soon); up to this many, from the trigram index (each
/// candidate read and the matches sorted). The same bound as the SQLite store's.
pub(super) const MAX_INDEXED_CANDIDATES: i64 = 1_000;

/// How a list page is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ListPlan {
    /// Along the list index, the search (if any) tested by its expression on each session.
    ListOrder,
    /// From the sessions carrying every one of these trigrams (hint: the trigram index), the
    /// expression deciding, sorted into the list order.
    Trigrams(Vec<String>),
}

impl ListPlan {
    /// The filter of a list page read by this plan.
    pub(super) fn filter(&self, query: &ListQuery) -> Document {
        match self {
            ListPlan::ListOrder => queries::list_filter(query),
            ListPlan::Trigrams(grams) => queries::indexed_list_filter(query, grams),
        }
    }

    /// The index the server is told to read, if any.
    pub(super) fn hint(&self) -> Option<Hint> {
        match self {
            ListPlan::ListOrder => None,
            ListPlan::Trigrams(_) => Some(search_hint()),
        }
    }
}

/// The hint that makes the server read the trigram index.
fn search_hint() -> Hint {
    Hint::Name(queries::SEARCH_INDEX.to_owned())
}

/// Whether `error` is the server's answer to a hint naming no index (`BadValue`, code 2).
fn is_bad_hint(error: &mongodb::error::Error) -> bool {
    matches!(&*error.kind, ErrorKind::Command(command) if command.code == 2)
}

impl MongoStore {
    /// The plan of a list page: [`ListPlan::Trigrams`] for a term with trigrams that at most
    /// [`MAX_INDEXED_CANDIDATES`] sessions carry (counted by reading their ids from the
    /// index, up to one more than that), [`ListPlan::ListOrder`] otherwise.
    pub(super) async fn list_plan(&self, query: &ListQuery) -> Result<ListPlan> {
        let grams = query
            .search
            .as_deref()
            .map(queries::term_grams)
            .unwrap_or_default();
        if grams.is_empty() {
            return Ok(ListPlan::ListOrder);
        }
        let probe = self
            .sessions
            .find(queries::grams_filter(&grams))
            .hint(search_hint())
            .projection(doc! { "_id": 1 })
            .limit(MAX_INDEXED_CANDIDATES + 1)
            .batch_size(u32::try_from(MAX_INDEXED_CANDIDATES + 1).unwrap_or(u32::MAX))
            .await;
        let candidates: Vec<Document> = match probe {
            Ok(cursor) => cursor.try_collect().await.map_err(map_error)?,
            // No trigram index (`ensure_indexes` not run on this database): search as before.
            Err(error) if is_bad_hint(&error) => return Ok(ListPlan::ListOrder),
            Err(error) => return Err(map_error(error)),
        };
        Ok(
            match i64::try_from(candidates.len()).unwrap_or(i64::MAX) <= MAX_INDEXED_CANDIDATES {
                true => ListPlan::Trigrams(grams),
                false => ListPlan::ListOrder,
            },
        )
    }

    /// The first `limit` sessions of a list request in the list order, by `plan`.
    pub(super) async fn list_documents(
        &self,
        query: &ListQuery,
        plan: &ListPlan,
        limit: i64,
    ) -> Result<Vec<Document>> {
        let find = self
            .sessions
            .find(plan.filter(query))
            .sort(queries::list_sort())
            .limit(limit);
        match plan.hint() {
            Some(hint) => all_documents(find.hint(hint)).await,
            None => all_documents(find).await,
        }
    }

    /// Writes the search trigrams of the session documents that have none (written before
    /// they existed, or by another program), each only if its searched text is still the one
    /// read, so that a concurrent update (which writes its own) wins. Answers how many.
    pub(super) async fn backfill_search_grams(&self) -> Result<u64> {
        let mut cursor = self
            .sessions
            .find(queries::missing_grams_filter())
            .projection(queries::searched_fields_projection())
            .await
            .map_err(map_error)?;
        let mut filled = 0;
        while let Some(document) = cursor.try_next().await.map_err(map_error)? {
            let text = |field: &str| document.get(field).cloned().unwrap_or(Bson::Null);
            let (title, instructor, description) =
                (text("title"), text("instructor"), text("description"));
            let grams = queries::session_grams(&[
                title.as_str().unwrap_or_default(),
                instructor.as_str().unwrap_or_default(),
                description.as_str().unwrap_or_default(),
            ]);
            let mut filter = queries::missing_grams_filter();
            filter.insert("_id", document.get("_id").cloned().unwrap_or(Bson::Null));
            filter.insert("title", title);
            filter.insert("instructor", instructor);
            filter.insert("description", description);
            let result = self
                .sessions
                .update_one(filter, doc! { "$set": { queries::SEARCH_GRAMS: grams } })
                .await
                .map_err(map_error)?;
            filled += result.modified_count;
        }
        Ok(filled)
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
